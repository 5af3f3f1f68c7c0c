"""The pipeline saves a batch while it diffs the next: same events, same order, nothing early.

Real charts (tests/chat_fixtures.py: ten weeks of Netflix's official files, global and five
countries) through the real gate, SQLite store and diff engine, with batches made small so a
replay of them is many batches.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot import pipeline as pipeline_module
from bot.diff import DiffConfig
from bot.events import Event
from bot.pipeline import Pipeline
from bot.ports import Batch, SavedBatch, Storage
from storage import MemoryBackend, open_backend
from tests.chat_fixtures import chat_charts


async def replay_into(storage: Storage) -> tuple[list[list[Event]], int]:
    """The events the sink got, batch by batch, and the events the run counted."""
    batches: list[list[Event]] = []

    async def collect(events: list[Event]) -> None:
        batches.append(events)

    stats = await Pipeline(storage, DiffConfig(), queue_deliveries=False, sink=collect).process(
        chat_charts()
    )
    assert stats.rejected == 0, stats.rejections
    return batches, stats.events


async def test_small_batches_give_the_events_of_one_batch_in_the_same_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = await open_backend(f"sqlite:///{tmp_path / 'whole.db'}")
    try:
        (one_batch,), counted = await replay_into(whole)
    finally:
        await whole.close()

    monkeypatch.setattr(pipeline_module, "FLUSH_CHARTS", 3)
    small = await open_backend(f"sqlite:///{tmp_path / 'small.db'}")
    try:
        batches, small_counted = await replay_into(small)
        stored = await small.recent_events(limit=len(one_batch) + 1)
    finally:
        await small.close()

    assert len(batches) > 5  # a flush comes after a whole period: ten weeks, nine with events
    assert [event.key for batch in batches for event in batch] == [e.key for e in one_batch]
    assert small_counted == counted == len(one_batch)
    assert stored[::-1] == one_batch


async def test_the_sink_gets_a_batch_only_once_another_connection_can_read_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline_module, "FLUSH_CHARTS", 5)
    url = f"sqlite:///{tmp_path / 'top10.db'}"
    storage = await open_backend(url)
    reader = await open_backend(url)  # another connection sees committed data only
    checked = 0

    async def check_committed(events: list[Event]) -> None:
        nonlocal checked
        newest = await reader.recent_events(limit=1)
        # The newest stored event is this batch's last one, or one of a batch stored after it.
        assert newest and newest[0].period >= events[-1].period
        visible = await reader.recent_events(limit=100_000)
        assert set(events) <= set(visible)
        checked += 1

    try:
        await Pipeline(storage, DiffConfig(), queue_deliveries=False, sink=check_committed).process(
            chat_charts()
        )
    finally:
        await reader.close()
        await storage.close()
    assert checked > 5


class FailingSecondSave(MemoryBackend):
    """Fails its second save."""

    def __init__(self) -> None:
        super().__init__()
        self.saves = 0

    async def save_batch(self, batch: Batch, *, queue_deliveries: bool) -> SavedBatch:
        self.saves += 1
        if self.saves == 2:
            raise RuntimeError("disk full")
        return await super().save_batch(batch, queue_deliveries=queue_deliveries)


async def test_a_failed_save_stops_the_run_with_its_error_and_leaves_nothing_running(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pipeline_module, "FLUSH_CHARTS", 5)
    storage = FailingSecondSave()
    delivered: list[Event] = []

    async def collect(events: list[Event]) -> None:
        delivered.extend(events)

    with pytest.raises(RuntimeError, match="disk full"):
        await Pipeline(storage, DiffConfig(), queue_deliveries=False, sink=collect).process(
            chat_charts()
        )

    assert storage.saves == 2  # no save after the failed one
    assert asyncio.all_tasks() == {asyncio.current_task()}
    # Only the first batch's events, which were stored, reached the sink.
    assert {event.key for event in delivered} == {
        event.key for event in await storage.recent_events(limit=100_000)
    }


async def test_a_long_run_lets_the_event_loop_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chat adapters share the loop (heartbeats, commands): the diff pauses now and then."""
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0)
            ticks += 1

    charts = chat_charts()
    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)  # the ticker starts, and waits for its next turn
    try:
        await Pipeline(MemoryBackend(), DiffConfig(), queue_deliveries=False).process(charts)
    finally:
        ticker.cancel()
    assert ticks >= len(charts) // pipeline_module.PAUSE_EVERY_CHARTS
