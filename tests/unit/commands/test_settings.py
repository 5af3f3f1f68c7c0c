"""/settings: a chat's time zone and default event types."""

from __future__ import annotations

from bot.commands import CommandService
from tests.unit.commands.command_helpers import GROUP, run


async def test_settings_show_and_change(service: CommandService) -> None:
    shown = await run(service, "/settings")
    assert shown.lines == ("Time zone: UTC", "Default event types: every event")
    changed = await run(service, "/settings asia/seoul new_number_one,records")
    assert changed.title.endswith("saved")
    assert changed.lines == ("Time zone: Asia/Seoul", "Default event types: records, new #1")
    settings = await service.subscriptions.get_settings(GROUP)
    assert settings.timezone == "Asia/Seoul"
    wrong = await run(service, "/settings timezone=Europe/Berln")
    assert not wrong.ok and "Europe/Berlin" in wrong.suggestions
