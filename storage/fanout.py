"""Queueing the deliveries live events owe, for the SQL stores: matched before the write
transaction, inserted in short transactions, and never lost in between.

A Tuesday burst (2,500 events) owes a 100,000-subscription bot hundreds of thousands of rows.
Matched inside the unit of work, every filter against every event, it held SQLite's write lock
and the event loop for half a minute. Here:

1. `plan(events)` reads the active subscriptions in pages, outside any transaction, into a
   bot.matching.SubscriptionIndex, and finds each event's chats: a cost per delivery. It runs
   on the event loop but gives it a turn every few milliseconds (`Turns`).
2. The backend's unit of work stores the batch, then `Queueing.first(tx, new)` inserts the first
   chunk of rows with it. If more remain, the new events are marked in `unqueued_events` in the
   same transaction.
3. `Queueing.rest()` inserts the other chunks, one transaction each, and deletes the marks in
   the last. A chat's rows of one batch are never split over two chunks, so the sender, which
   may claim the first chunks while the next are inserted, sends each chat one digest.

No delivery is lost: while an event is marked, its deliveries may be incomplete; whatever stops
the queueing (the process dies, the task is cancelled, an insert fails) leaves the mark, and
`queue_unfinished()` (the poller calls it before each poll, so at start-up too) matches the
marked events again and inserts their rows. A row inserted twice is refused by the unique
(event, destination) key, so finishing what was half done is safe. A small batch (one chunk)
stays one transaction with its deliveries, as before, and marks nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Iterable,
    Iterator,
    Sequence,
)
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.events import Event
from bot.matching import SubscriptionIndex
from bot.subscriptions import ChatSettings, SubscriptionSpec
from storage import codec

log = logging.getLogger(__name__)

# The subscriptions of the active destinations, a page at a time (by subscription id), with what
# matching needs; {after} and {limit} are the backend's placeholders.
ACTIVE_FILTERS_PAGE = """
SELECT s.show, s.service, s.region, s.category, s.event_types, s.details, d.event_types, d.id,
       d.platform, s.id
FROM subscriptions AS s JOIN destinations AS d ON d.id = s.destination_id
WHERE d.active = 1 AND s.id > {after}
ORDER BY s.id LIMIT {limit}
"""
FILTERS_PER_PAGE = 10_000

# A row of the deliveries table to insert: (event id, destination id, platform).
DeliveryRow = tuple[int, int, str]


class Turns:
    """Gives the event loop a turn whenever `every` seconds of work have passed without one, so
    that a long computation costs a command a few milliseconds, not its whole length."""

    def __init__(self, every: float = 0.005) -> None:
        self._every = every
        self._since = time.perf_counter()

    async def take(self) -> None:
        if time.perf_counter() - self._since >= self._every:
            await asyncio.sleep(0)
            self._since = time.perf_counter()


@dataclass(slots=True)
class Plan:
    """Who gets what of a batch. Each (destination, event) pair is one int,
    destination id × len(events) + the event's position, in buckets of destination id ranges:
    hundreds of thousands of pairs make a few hundred objects for the garbage collector to walk,
    and a bucket sorted is its destinations' rows in order."""

    events: list[Event]
    buckets: list[list[int]] = field(default_factory=list)
    platforms: dict[int, str] = field(default_factory=dict)

    def pairs(self) -> Iterator[tuple[int, int]]:
        """(destination id, event position), by destination then position."""
        width = len(self.events)
        for bucket in self.buckets:
            bucket.sort()
            for pair in bucket:
                yield divmod(pair, width)


class Database(Protocol):
    """What the fan-out needs of a backend's Database (storage/sqlite, storage/postgres)."""

    def transaction(self) -> AbstractAsyncContextManager[Any]: ...

    async def read(self, sql: str) -> Sequence[Sequence[Any]]: ...


ReadEvents = Callable[[Any, Iterable[int]], Awaitable[dict[int, Event]]]


class Fanout(ABC):
    """Matching and queueing for one SQL backend; it supplies the statements that differ."""

    def __init__(self, db: Database, chunk_rows: int, events_by_id: ReadEvents) -> None:
        self._db = db
        self._events_by_id = events_by_id
        self.chunk_rows = chunk_rows
        # Events this process is queueing now: queue_unfinished leaves their marks alone.
        self.in_flight: set[int] = set()

    def transaction(self) -> AbstractAsyncContextManager[Any]:
        return self._db.transaction()

    async def marked(self) -> list[int]:
        """The marked events' ids."""
        rows = await self._db.read("SELECT event_id FROM unqueued_events ORDER BY event_id")
        return [int(row[0]) for row in rows]

    async def events_by_id(self, event_ids: Sequence[int]) -> dict[int, Event]:
        async with self._db.transaction() as tx:
            return await self._events_by_id(tx, event_ids)

    # -- the statements a backend spells its own way --------------------------------------------

    @abstractmethod
    async def filter_page(self, after: int, limit: int) -> Sequence[Sequence[Any]]:
        """A page of ACTIVE_FILTERS_PAGE, outside any transaction."""

    @abstractmethod
    async def insert(self, tx: Any, rows: Sequence[DeliveryRow], now: str) -> int:
        """Insert delivery rows (a row already there is skipped); the number inserted."""

    @abstractmethod
    async def mark(self, tx: Any, event_ids: Sequence[int]) -> None: ...

    @abstractmethod
    async def unmark(self, tx: Any, event_ids: Sequence[int]) -> None: ...

    # -- matching -------------------------------------------------------------------------------

    async def plan(self, events: Sequence[Event]) -> Plan:
        """Each destination's events (first of each key), from the subscriptions stored now."""
        plan = Plan(codec.first_per_key(events))
        if not plan.events:
            return plan
        turns = Turns()
        index = await self._index(plan.platforms, turns)
        found: list[Collection[int]] = []
        for event in plan.events:
            found.append(index.places(event))
            await turns.take()
        # About a chunk of pairs per bucket.
        pairs = sum(len(places) for places in found)
        count = max(1, pairs // self.chunk_rows)
        ids_per_bucket = max(plan.platforms, default=0) // count + 1
        buckets: list[list[int]] = [[] for _ in range(count)]
        plan.buckets = buckets
        width = len(plan.events)
        for position, places in enumerate(found):
            for destination_id in places:
                buckets[destination_id // ids_per_bucket].append(destination_id * width + position)
            await turns.take()
        return plan

    async def _index(self, platforms: dict[int, str], turns: Turns) -> SubscriptionIndex[int]:
        index: SubscriptionIndex[int] = SubscriptionIndex()
        # Thousands of chats share a few filters: each distinct one is decoded and filed once.
        filed: dict[tuple[Any, ...], dict[int, None]] = {}
        after = 0
        while True:
            page = await self.filter_page(after, FILTERS_PER_PAGE)
            for row in page:
                key = tuple(row[:7])
                places = filed.get(key)
                if places is None:
                    places = filed[key] = index.places_of(*_filter(key))
                destination_id = int(row[7])
                places[destination_id] = None
                platforms[destination_id] = str(row[8])
                await turns.take()
            if len(page) < FILTERS_PER_PAGE:
                return index
            after = int(page[-1][9])

    # -- queueing -------------------------------------------------------------------------------

    async def store_and_queue(
        self,
        store: Callable[[Any], Awaitable[list[tuple[int, Event]]]],
        events: Sequence[Event],
        now: str,
        *,
        queue: bool,
    ) -> tuple[list[tuple[int, Event]], int]:
        """The unit of work: `store(tx)` stores a batch and returns its new events (with their
        ids); with `queue`, their deliveries are planned before and queued with it and after
        it. The new events and the number of rows queued."""
        plan = await self.plan(events) if queue else None
        queueing: Queueing | None = None
        try:
            async with self.transaction() as tx:
                new = await store(tx)
                if plan is None:
                    return new, 0
                queueing = Queueing(self, plan, new, now)
                queued = await queueing.first(tx)
            queued += await queueing.rest()
        finally:
            if queueing is not None:
                # Marks left by an interruption are the next queue_unfinished's, in any process.
                self.in_flight.difference_update(queueing.marked)
        if queued:
            log.info("%d events, %d deliveries queued", len(new), queued)
        return new, queued

    async def queue_unfinished(self, now: str) -> int:
        """Queue what marked events still owe (their queueing was interrupted); the number of
        rows inserted."""
        ids = [event_id for event_id in await self.marked() if event_id not in self.in_flight]
        if not ids:
            return 0
        self.in_flight.update(ids)
        try:
            new = sorted((await self.events_by_id(ids)).items())
            queueing = Queueing(self, await self.plan([event for _, event in new]), new, now)
            queueing.marks = ids
            queued = await queueing.rest()
        finally:
            self.in_flight.difference_update(ids)
        log.info("unfinished queueing of %d events done: %d deliveries queued", len(ids), queued)
        return queued


class Queueing:
    """The rows of one planned batch, inserted chunk after chunk (see the module doc)."""

    def __init__(
        self, fanout: Fanout, plan: Plan, new: Sequence[tuple[int, Event]], now: str
    ) -> None:
        self._fanout = fanout
        self._now = now
        ids = {event.key: event_id for event_id, event in new}
        self._ids = [ids.get(event.key) for event in plan.events]
        self._new_ids = [event_id for event_id, _ in new]
        self._chunks = _lookahead(self._rows(plan, fanout.chunk_rows))
        # Events marked by `first` (and in flight), and those still marked, unmarked at the end.
        self.marked: list[int] = []
        self.marks: list[int] = []

    def _rows(self, plan: Plan, limit: int) -> Iterator[list[DeliveryRow]]:
        chunk: list[DeliveryRow] = []
        previous = None
        for destination_id, position in plan.pairs():
            # A destination's rows stay together: chunks end between destinations.
            if destination_id != previous and len(chunk) >= limit:
                yield chunk
                chunk = []
            previous = destination_id
            event_id = self._ids[position]
            if event_id is not None:  # else not new: stored before, its rows queued then
                chunk.append((event_id, destination_id, plan.platforms[destination_id]))
        if chunk:
            yield chunk

    async def first(self, tx: Any) -> int:
        """Inside the unit of work: the first chunk, and the marks if more chunks follow."""
        step = next(self._chunks, None)
        if step is None:
            return 0
        rows, last = step
        if not last:
            self.marked = self.marks = self._new_ids
            # In flight before the commit: from then on another task's queue_unfinished sees
            # the marks, and must leave them to us.
            self._fanout.in_flight.update(self.marked)
            await self._fanout.mark(tx, self.marks)
        return await self._fanout.insert(tx, rows, self._now)

    async def rest(self) -> int:
        """The other chunks, each in its own transaction; the marks go with the last."""
        fanout, queued = self._fanout, 0
        async for rows, last in _steps(self._chunks):
            async with fanout.transaction() as tx:
                queued += await fanout.insert(tx, rows, self._now)
                if last and self.marks:
                    await fanout.unmark(tx, self.marks)
                    self.marks = []
        if self.marks:  # no rows after the first chunk's (or none at all)
            async with fanout.transaction() as tx:
                await fanout.unmark(tx, self.marks)
                self.marks = []
        return queued


def _filter(row: tuple[Any, ...]) -> tuple[SubscriptionSpec, ChatSettings]:
    show, service, region, category, types, details, chat_types = row
    spec = SubscriptionSpec(
        show=show,
        service=service,
        region=region,
        category=category,
        event_types=codec.decode_types(types),
        details=bool(details),
    )
    return spec, ChatSettings(event_types=codec.decode_types(chat_types))


def _lookahead(chunks: Iterator[list[DeliveryRow]]) -> Iterator[tuple[list[DeliveryRow], bool]]:
    """Each chunk with whether it is the last."""
    current = next(chunks, None)
    while current is not None:
        following = next(chunks, None)
        yield current, following is None
        current = following


async def _steps(
    chunks: Iterator[tuple[list[DeliveryRow], bool]],
) -> AsyncIterator[tuple[list[DeliveryRow], bool]]:
    # Building a chunk takes a few milliseconds: the loop gets a turn between two.
    for step in chunks:
        yield step
        await asyncio.sleep(0)
