"""Autocomplete choices per argument kind."""

from __future__ import annotations

from bot.commands import ArgumentKind, CommandService
from tests.unit.commands.command_helpers import member, run


async def test_autocomplete(service: CommandService) -> None:
    caller = member()
    titles = await service.complete(ArgumentKind.TITLE, "squid", caller)
    assert titles[0].value.startswith("Squid Game")
    assert all(len(c.label) <= 100 and len(c.value) <= 100 for c in titles)
    regions = await service.complete(ArgumentKind.REGION, "korea", caller)
    assert regions[0].value == "KR" and regions[0].label == "🇰🇷 South Korea"
    stored = await service.complete(ArgumentKind.REGION, "", caller)
    assert [c.value for c in stored] == ["WORLD", "DE", "JP", "KR", "GB", "US"]
    zones = await service.complete(ArgumentKind.TIMEZONE, "seoul", caller)
    assert zones[0].value == "Asia/Seoul"
    events = await service.complete(ArgumentKind.EVENT_TYPES, "records,new", caller)
    assert [c.value for c in events] == ["records,new_number_one", "records,new1"]
    await run(service, "/subscribe KR TV")
    subscriptions = await service.complete(ArgumentKind.SUBSCRIPTION, "", caller)
    assert [c.value for c in subscriptions] == ["all", "1"]
    assert subscriptions[1].label == "#1 South Korea · TV — headlines"
