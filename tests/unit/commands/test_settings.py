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
