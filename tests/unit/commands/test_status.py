"""/status: freshness of each source and the latest rejections."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.commands import CommandService
from bot.models import Chart, ChartKey, Rejection
from bot.ports import Batch
from storage.memory import MemoryBackend
from storage.memory.subscriptions import MemorySubscriptionStore
from tests.unit.commands.command_helpers import Clock, run


async def test_status_tells_fresh_from_stale(storage: MemoryBackend) -> None:
    clock = Clock()
    service = CommandService(storage, MemorySubscriptionStore(), clock=clock)
    fresh = await run(service, "/status")
    assert fresh.lines == (
        "✅ Netflix Top 10 (official) · weekly: latest week ending 2021-11-21 (3 days ago); "
        "6 regions, 1 service",
    )
    clock.now = datetime(2021, 12, 10, tzinfo=UTC)
    stale = await run(service, "/status")
    assert stale.lines[0].startswith("⚠️") and "(19 days ago)" in stale.lines[0]
    bad = Chart(ChartKey("netflix", "netflix", "KR", "TV", "weekly"), date(2021, 11, 28), ())
    await storage.save_batch(
        Batch(rejected=[Rejection(bad, "0 rows, expected 10")]), queue_deliveries=False
    )
    with_rejection = await run(service, "/status")
    (field,) = with_rejection.fields
    assert "Netflix · South Korea · TV 2021-11-28: 0 rows, expected 10" in field.value
