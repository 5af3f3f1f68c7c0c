"""The matching side of storage/fanout.py, and the running of the inserts.

The active subscriptions are read a range of destination ids at a time, as their distinct
filters with the ids of the chats that share each (a few thousand rows for ten thousand chats);
each page is filed into a bot.matching.SubscriptionIndex and matched against the events, and the
matching (destination, event) pairs come out sorted, in chunks that end between destinations.
The next page is read while one is matched, and chunks are made ahead while the last are
inserted (`ahead`, `bounded`).

Everything here runs on the event loop and gives it a turn every few milliseconds (`Turns`): a
burst's hundreds of thousands of pairs cost a command a few milliseconds, not seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
from array import array
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.events import Event
from bot.matching import Lookup, SubscriptionIndex
from bot.subscriptions import ChatSettings, SubscriptionSpec
from bot.turns import Turns
from storage import codec

# The distinct filters of the active destinations with ids in (low, high], each with its
# destinations' ids ({ids}: the backend's aggregate, e.g. group_concat or array_agg), and what
# matching needs; {low} and {high} are the backend's placeholders. Thousands of chats share a
# filter: a page is a few thousand rows, not one per subscription.
ACTIVE_FILTERS_PAGE = """
SELECT s.show, s.service, s.region, s.category, s.event_types, s.details, d.event_types,
       d.platform, {ids}
FROM destinations AS d JOIN subscriptions AS s ON s.destination_id = d.id
WHERE d.active = 1 AND d.id > {low} AND d.id <= {high}
GROUP BY s.show, s.service, s.region, s.category, s.event_types, s.details, d.event_types,
         d.platform
"""
LAST_DESTINATION = "SELECT coalesce(max(id), 0) FROM destinations"
DESTINATIONS_PER_PAGE = 10_000

# A page's row: the seven filter columns, the platform, the destinations' ids.
FilterRow = tuple[Any, ...]
ReadPage = Callable[[int, int], Awaitable[list[FilterRow]]]


async def pages(read: ReadPage, last: int) -> AsyncGenerator[list[FilterRow], None]:
    """The filters of the destinations up to id `last`, a range of ids at a time, in order (the
    next range is read while this one is matched). A destination's subscriptions are all in its
    range's page."""
    width = DESTINATIONS_PER_PAGE
    low = 0
    reading = asyncio.ensure_future(read(low, low + width)) if last > 0 else None
    try:
        while reading is not None:
            rows = await reading
            low += width
            reading = asyncio.ensure_future(read(low, low + width)) if low < last else None
            yield rows
    finally:
        if reading is not None:
            reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)


@dataclass(frozen=True, slots=True)
class Chunk:
    """Matching (destination, event) pairs of whole destinations, in order: each pair one int,
    destination id × width + the event's position in the matched list (sorted, they are in
    order). An array, not a list: the chunks waiting for their turn are no work for the garbage
    collector, whose full passes otherwise stalled the event loop for tens of milliseconds."""

    pairs: array[int]
    width: int
    platforms: dict[int, str]


async def pair_chunks(
    read: ReadPage, last: int, events: Sequence[Event], chunk_rows: int
) -> AsyncGenerator[Chunk, None]:
    """The pairs the filters of destinations up to id `last` match the events with, in chunks
    of about `chunk_rows` that end between destinations, in destination order (each event's key
    once: the caller passes codec.first_per_key)."""
    turns = Turns()
    decoded: dict[tuple[Any, ...], tuple[SubscriptionSpec, ChatSettings]] = {}
    width = len(events)
    lookups = [Lookup.of(event) for event in events]
    async with contextlib.aclosing(pages(read, last)) as reading:
        async for rows in reading:
            index, platforms = await _index(rows, decoded, turns)
            pairs: list[int] = []
            for position, lookup in enumerate(lookups):
                pairs.extend([place * width + position for place in index.find(lookup)])
                await turns.take()
            pairs.sort()
            start = 0
            while start < len(pairs):
                end = min(start + chunk_rows, len(pairs))
                # The chunk ends after the last pair of its last destination.
                while end < len(pairs) and pairs[end] // width == pairs[end - 1] // width:
                    end += 1
                yield Chunk(array("q", pairs[start:end]), width, platforms)
                start = end
                await turns.take()


async def _index(
    rows: list[FilterRow],
    decoded: dict[tuple[Any, ...], tuple[SubscriptionSpec, ChatSettings]],
    turns: Turns,
) -> tuple[SubscriptionIndex[int], dict[int, str]]:
    index: SubscriptionIndex[int] = SubscriptionIndex()
    platforms: dict[int, str] = {}
    for row in rows:
        key = row[:7]
        found = decoded.get(key)
        if found is None:
            found = decoded[key] = _filter(key)
        ids = row[8]
        index.places_of(*found).update(dict.fromkeys(ids))
        platforms.update(dict.fromkeys(ids, row[7]))
        await turns.take()
    return index, platforms


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


async def prepend(first: Chunk, rest: AsyncIterator[Chunk]) -> AsyncGenerator[Chunk, None]:
    yield first
    async for chunk in rest:
        yield chunk


async def ahead(chunks: AsyncIterator[Chunk], size: int) -> AsyncGenerator[Chunk, None]:
    """The chunks, made up to `size` ahead by a task of their own: the next page is matched
    while the last chunks are inserted (by SQLite's thread, by PostgreSQL's server)."""
    made: asyncio.Queue[Chunk | BaseException | None] = asyncio.Queue(size)

    async def make() -> None:
        try:
            async for chunk in chunks:
                await made.put(chunk)
        except Exception as error:  # handed over to the consumer, which raises it
            await made.put(error)
        else:
            await made.put(None)

    maker = asyncio.ensure_future(make())
    try:
        while (item := await made.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        maker.cancel()
        await asyncio.gather(maker, return_exceptions=True)


async def bounded(
    chunks: AsyncIterator[Chunk],
    insert: Callable[[Chunk], Awaitable[int]],
    limit: int,
) -> int:
    """Insert each chunk, `limit` inserts at a time, the next chunk taken while they run; the
    sum of their counts. The first failure is raised; inserts still running are cancelled (their
    transactions roll back) and the next never start."""
    total = 0
    running: set[asyncio.Task[int]] = set()
    try:
        async for chunk in chunks:
            if len(running) >= limit:
                done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                total += _results(done)
            running.add(asyncio.ensure_future(insert(chunk)))
        done, running = await asyncio.wait(running) if running else (set(), set())
        return total + _results(done)
    finally:
        # Cancelled, or a failure raised: nothing is left running.
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)


def _results(done: set[asyncio.Task[int]]) -> int:
    failures = [error for task in done if (error := task.exception()) is not None]
    if failures:
        raise failures[0]
    return sum(task.result() for task in done)
