"""/records: the worldwide records and #1 in most countries."""

from __future__ import annotations

from bot.commands import CommandService
from tests.unit.commands.command_helpers import run


async def test_records_of_the_worldwide_charts(service: CommandService) -> None:
    reply = await run(service, "/records TV")
    fields = {field.name: field.value for field in reply.fields}
    assert (
        "longest run at #1: Squid Game: Season 1 — 9 weeks (week ending 2021-11-14)"
        in (fields["Netflix · Worldwide · TV (Non-English)"])
    )
    assert "Netflix · Worldwide · Films (English)" not in fields
    assert fields["Netflix · TV · every country"].startswith(
        "most countries at #1 in one period: Squid Game: Season 1 — 5 countries"
    )
