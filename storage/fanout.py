"""Queueing the deliveries live events owe, for the SQL stores: matched outside the write
transaction, inserted in short transactions, and never lost in between.

A Tuesday burst (2,500 events) owes a 100,000-subscription bot hundreds of thousands of rows.
Matched inside the unit of work, every filter against every event, it held SQLite's write lock
and the event loop for half a minute. Here (`Fanout.store_and_queue`):

1. The active subscriptions are read a range of destination ids at a time, outside any
   transaction, each page filed into a bot.matching.SubscriptionIndex that finds each event's
   chats there: a cost per delivery, not per filter × event (storage/fanout_chunks.py). The rows
   come out in destination order, in chunks that end between destinations. This runs on the
   event loop, which it gives a turn every few milliseconds.
2. The first chunk is matched before the unit of work and inserted in it, with the batch. If
   more chunks follow, the new events are marked in `unqueued_events` in the same transaction.
3. The other chunks are matched and inserted one transaction each, the next matched while the
   last is written (PostgreSQL: two written at once); then the marks go. A chat's rows of one
   batch are in one chunk, so the sender, which may claim the first chunks while the next are
   inserted, sends each chat its burst in one digest.

No delivery is lost: while an event is marked, its deliveries may be incomplete; whatever stops
the queueing (the process dies, the task is cancelled, an insert fails) leaves the mark, and
`queue_unfinished()` (the poller calls it before each poll, so at start-up too) matches the
marked events again and inserts their rows. A row inserted twice is refused by the unique
(destination, event) key, so finishing what was half done is safe. A small batch (one chunk)
stays one transaction with its deliveries, as before, and marks nothing.
"""

from __future__ import annotations

import contextlib
import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from bot.events import Event
from bot.turns import Turns
from storage import codec
from storage.fanout_chunks import (
    LAST_DESTINATION,
    Chunk,
    FilterRow,
    ahead,
    bounded,
    pair_chunks,
    prepend,
)

log = logging.getLogger(__name__)

# Chunks matched ahead of the inserts.
CHUNKS_AHEAD = 8
# Pairs turned into rows at a time (a few milliseconds), the event loop given a turn between.
PAIRS_PER_TURN = 2_500

# A row of the deliveries table to insert: (event id, destination id, platform).
DeliveryRow = tuple[int, int, str]


class Database(Protocol):
    """What the fan-out needs of a backend's Database (storage/sqlite, storage/postgres)."""

    def transaction(self) -> AbstractAsyncContextManager[Any]: ...

    async def read(self, sql: str) -> Sequence[Sequence[Any]]: ...


ReadEvents = Callable[[Any, Iterable[int]], Awaitable[dict[int, Event]]]
StoreBatch = Callable[[Any], Awaitable[list[tuple[int, Event]]]]


class Fanout(ABC):
    """Matching and queueing for one SQL backend; it supplies the statements that differ."""

    def __init__(
        self, db: Database, events_by_id: ReadEvents, *, chunk_rows: int, parallel: int
    ) -> None:
        self._db = db
        self._events_by_id = events_by_id
        self.chunk_rows = chunk_rows
        # Chunk transactions at once: 1 where there is one writer (SQLite).
        self.parallel = parallel
        # Events this process is queueing now: queue_unfinished leaves their marks alone.
        self.in_flight: set[int] = set()

    # -- the statements a backend spells its own way --------------------------------------------

    @abstractmethod
    async def filter_page(self, low: int, high: int) -> list[FilterRow]:
        """The rows of storage.fanout_chunks.ACTIVE_FILTERS_PAGE for destination ids in (low,
        high], their ids as a list, outside any transaction."""

    @abstractmethod
    async def insert(
        self, tx: Any, rows: Sequence[DeliveryRow], now: str, *, fresh: bool = False
    ) -> int:
        """Insert delivery rows (a row already there is skipped); the number inserted.
        `fresh`: the events were stored by this queueing, so none of the rows can be there."""

    @abstractmethod
    async def mark(self, tx: Any, event_ids: Sequence[int]) -> None: ...

    @abstractmethod
    async def unmark(self, tx: Any, event_ids: Sequence[int]) -> None: ...

    # -- queueing -------------------------------------------------------------------------------

    async def store_and_queue(
        self, store: StoreBatch, events: Sequence[Event], now: str, *, queue: bool
    ) -> tuple[list[tuple[int, Event]], int]:
        """The unit of work: `store(tx)` stores a batch and returns its new events (with their
        ids); with `queue`, their deliveries are queued with them and after them (see the module
        doc). The new events and the number of rows queued."""
        if not queue:
            async with self._db.transaction() as tx:
                return await store(tx), 0
        unique = codec.first_per_key(events)
        chunks = pair_chunks(self.filter_page, await self._last(), unique, self.chunk_rows)
        marked: list[int] = []
        try:
            first = await anext(chunks, None)
            following = None if first is None else await anext(chunks, None)
            async with self._db.transaction() as tx:
                new = await store(tx)
                rows = _Rows(unique, new, now, fresh=True)
                if first is None or not new:
                    return new, 0
                if following is not None:
                    marked = [event_id for event_id, _ in new]
                    # In flight before the commit: from then on another task's
                    # queue_unfinished sees the marks, and must leave them to us.
                    self.in_flight.update(marked)
                    await self.mark(tx, marked)
                queued = await self._insert(tx, rows, first)
            if following is not None:
                queued += await self._queue(prepend(following, chunks), rows, marked)
        finally:
            await chunks.aclose()
            # Marks an interruption left are the next queue_unfinished's, in any process.
            self.in_flight.difference_update(marked)
        if queued:
            log.info("%d events, %d deliveries queued", len(new), queued)
        return new, queued

    async def queue_unfinished(self, now: str) -> int:
        """Queue what marked events still owe (their queueing was interrupted); the number of
        rows inserted."""
        marks = await self._db.read("SELECT event_id FROM unqueued_events ORDER BY event_id")
        ids = [int(row[0]) for row in marks if int(row[0]) not in self.in_flight]
        if not ids:
            return 0
        self.in_flight.update(ids)
        try:
            async with self._db.transaction() as tx:
                new = sorted((await self._events_by_id(tx, ids)).items())
            events = [event for _, event in new]
            chunks = pair_chunks(self.filter_page, await self._last(), events, self.chunk_rows)
            try:
                queued = await self._queue(chunks, _Rows(events, new, now), ids)
            finally:
                await chunks.aclose()
        finally:
            self.in_flight.difference_update(ids)
        log.info("unfinished queueing of %d events done: %d deliveries queued", len(ids), queued)
        return queued

    async def _queue(self, chunks: AsyncIterator[Chunk], rows: _Rows, marks: list[int]) -> int:
        """Every chunk in its own transaction (`parallel` at once), then the marks go."""

        async def insert(chunk: Chunk) -> int:
            async with self._db.transaction() as tx:
                return await self._insert(tx, rows, chunk)

        async with contextlib.aclosing(ahead(chunks, CHUNKS_AHEAD)) as made:
            queued = await bounded(made, insert, self.parallel)
        if marks:
            async with self._db.transaction() as tx:
                await self.unmark(tx, marks)
        return queued

    async def _last(self) -> int:
        """The largest destination id: where reading filters stops."""
        return int((await self._db.read(LAST_DESTINATION))[0][0])

    async def _insert(self, tx: Any, rows: _Rows, chunk: Chunk) -> int:
        found = await rows.of(chunk)
        return await self.insert(tx, found, rows.now, fresh=rows.fresh) if found else 0


class _Rows:
    """Delivery rows from pairs: an event's position in the matched list → its id, if new."""

    def __init__(
        self,
        events: Sequence[Event],
        new: Sequence[tuple[int, Event]],
        now: str,
        *,
        fresh: bool = False,
    ):
        ids = {event.key: event_id for event_id, event in new}
        self._ids = [ids.get(event.key) for event in events]
        self.now = now
        self.fresh = fresh

    async def of(self, chunk: Chunk) -> list[DeliveryRow]:
        ids, platforms, width, pairs = self._ids, chunk.platforms, chunk.width, chunk.pairs
        found: list[DeliveryRow] = []
        turns = Turns()
        for start in range(0, len(pairs), PAIRS_PER_TURN):
            await turns.take()
            # An event not new was stored before: its rows were queued then. (One comprehension,
            # the pair split by `//` and `%`: half the time of a loop over divmod.)
            found.extend(
                [
                    (event_id, destination_id, platforms[destination_id])
                    for pair in pairs[start : start + PAIRS_PER_TURN]
                    if (event_id := ids[pair % width]) is not None
                    for destination_id in (pair // width,)
                ]
            )
        return found
