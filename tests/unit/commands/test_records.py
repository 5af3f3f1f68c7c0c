"""/records: the worldwide records and #1 in most countries."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.commands import CommandService
from tests.unit.commands.command_helpers import Clock, charts_2022, run, service_with


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


async def test_records_say_how_old_their_charts_are() -> None:
    service = await service_with(charts_2022(), Clock(datetime(2026, 12, 6, tzinfo=UTC)))
    reply = await run(service, "/records")
    assert reply.footer.endswith("⚠️ chart of 2022-02-27 — 4 years old · source not polled yet")
