"""/settings: a chat's time zone, default event types and quiet hours."""

from __future__ import annotations

from datetime import time

from bot.commands import CommandService
from tests.unit.commands.command_helpers import GROUP, run


async def test_settings_show_and_change(service: CommandService) -> None:
    shown = await run(service, "/settings")
    assert shown.lines[:2] == ("Time zone: UTC", "Default event types: every event")
    assert shown.lines[2].startswith("Quiet hours: none")
    changed = await run(service, "/settings asia/seoul new_number_one,records")
    assert changed.title.endswith("saved")
    assert changed.lines[:2] == ("Time zone: Asia/Seoul", "Default event types: records, new #1")
    settings = await service.subscriptions.get_settings(GROUP)
    assert settings.timezone == "Asia/Seoul"
    wrong = await run(service, "/settings timezone=Europe/Berln")
    assert not wrong.ok and "Europe/Berlin" in wrong.suggestions


async def test_settings_set_and_clear_quiet_hours(service: CommandService) -> None:
    quiet = await run(service, "/settings quiet=22:00-08:00")
    assert quiet.ok and quiet.title.endswith("saved")
    assert "Quiet hours: 22:00-08:00 UTC (alerts wait until they end)" in quiet.lines
    stored = await service.subscriptions.get_settings(GROUP)
    assert (stored.quiet_start, stored.quiet_end) == (time(22), time(8))
    # Typed without a name, next to a time zone: the shape tells them apart.
    await run(service, "/settings 23:30-07:15 Asia/Seoul")
    stored = await service.subscriptions.get_settings(GROUP)
    assert (stored.quiet_start, stored.quiet_end, stored.timezone) == (
        time(23, 30),
        time(7, 15),
        "Asia/Seoul",
    )
    cleared = await run(service, "/settings quiet=off")
    assert cleared.lines[2].startswith("Quiet hours: none")
    stored = await service.subscriptions.get_settings(GROUP)
    assert stored.quiet_start is None and stored.quiet_end is None


async def test_settings_refuse_impossible_quiet_hours(service: CommandService) -> None:
    for text in ("quiet=25:00-01:00", "quiet=22:00-22:00", "quiet=tonight"):
        reply = await run(service, f"/settings {text}")
        assert not reply.ok, text
    assert (await service.subscriptions.get_settings(GROUP)).quiet_start is None


async def test_settings_set_and_clear_the_daily_digest(service: CommandService) -> None:
    shown = await run(service, "/settings")
    assert shown.lines[4].startswith("Daily digest: off (every alert at once")
    digest = await run(service, "/settings Asia/Seoul digest=daily@09:00")
    assert digest.ok and digest.title.endswith("saved")
    assert digest.lines[4] == (
        "Daily digest: 09:00 Asia/Seoul (detail events wait for it; headlines go out at once)"
    )
    stored = await service.subscriptions.get_settings(GROUP)
    assert (stored.digest_at, stored.timezone) == (time(9), "Asia/Seoul")
    # Typed without a name, in other digits, or as a bare time.
    await run(service, "/settings daily@7:30")
    assert (await service.subscriptions.get_settings(GROUP)).digest_at == time(7, 30)
    await run(service, "/settings digest=２１:０５")
    assert (await service.subscriptions.get_settings(GROUP)).digest_at == time(21, 5)
    off = await run(service, "/settings digest=off")
    assert off.lines[4].startswith("Daily digest: off")
    assert (await service.subscriptions.get_settings(GROUP)).digest_at is None


async def test_settings_refuse_an_impossible_digest_and_change_nothing(
    service: CommandService,
) -> None:
    await run(service, "/settings digest=daily@09:00")
    for text in (
        "digest=daily@25:00",
        "digest=9am",
        "digest=daily",
        "timezone=Asia/Tokyo digest=soon",
    ):
        reply = await run(service, f"/settings {text}")
        assert not reply.ok, text
        assert "daily@HH:MM" in reply.lines[0], text
    stored = await service.subscriptions.get_settings(GROUP)
    assert (stored.digest_at, stored.timezone) == (time(9), "UTC")
