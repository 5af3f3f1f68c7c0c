"""Outbox stores implementing bot.ports.Outbox: in SQLite (beside the chart store) and in memory.

Deliveries are queued by a hook the chart store runs inside `save_batch`'s transaction
(`SqliteStorage.on_new_events`), so the events and the rows promising them to each subscribed
destination are committed together or not at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import aiosqlite

from bot.events import Event
from bot.ports import (
    ClaimedGroup,
    DeadLetter,
    Delivery,
    DeliveryCounts,
    DeliveryStatus,
    Outbox,
    Storage,
    SubscriptionStore,
)
from bot.subscriptions import (
    ChatSettings,
    Destination,
    SubscriptionSpec,
    route_events,
    subscription_matches,
)
from storage import codec
from storage.memory import MemoryStorage
from storage.sqlite import EVENT_GROUP_OF, GROUP_COLUMNS, SqliteStorage, group_events
from storage.subscriptions import (
    MemorySubscriptionStore,
    decode_clock_time,
    decode_types,
)

log = logging.getLogger(__name__)

# Events are read back once per delivery; a burst is a few events fanned out to many chats.
# Events kept decoded by the SQL outbox, by number (see SqliteOutbox._events).
_EVENT_CACHE_SIZE = 4096
# The rows of one burst share their queueing time.
_decode_time = lru_cache(maxsize=1024)(codec.decode_time)
# Bound on "?" parameters per IN (…) list (SQLite builds before 3.32 allow only 999).
_PARAMS_PER_QUERY = 500
# A claim looks at this many due rows per destination it wants (several events per chat).
_ROWS_PER_DESTINATION = 4

# Called (synchronously) after a batch queued deliveries.
OnQueued = Callable[[], None]


@dataclass(frozen=True, slots=True)
class _OpenRow:
    """An open delivery as a claim sees it."""

    id: int
    destination_key: Any
    group_id: int | None
    delivery: Delivery


def _choose_group(rows: Sequence[_OpenRow]) -> tuple[int, list[_OpenRow]]:
    """Which of one destination's due rows go out together, and their group id.

    A group that was claimed before (it may be half sent) goes out again exactly as it was, alone;
    otherwise every due row joins one new group named after its first row.
    """
    pinned = [row.group_id for row in rows if row.group_id is not None]
    if pinned:
        group_id = min(pinned)
        return group_id, [row for row in rows if row.group_id == group_id]
    ordered = sorted(rows, key=lambda row: row.id)
    return ordered[0].id, ordered


def _chunks(items: Sequence[Any], size: int = _PARAMS_PER_QUERY) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _marks(count: int) -> str:
    return ", ".join("?" * count)


# -- SQLite ---------------------------------------------------------------------------------------

_CREATE_MATCHES = """
CREATE TEMP TABLE IF NOT EXISTS outbox_matches (
    show TEXT,
    service TEXT,
    region TEXT,
    category TEXT,
    subscription_types TEXT NOT NULL,
    destination_types TEXT NOT NULL,
    event_id INTEGER NOT NULL
)
"""

# Distinct filters of the active destinations: thousands of chats usually share a few of them,
# so the matching rules (bot.subscriptions) run once per filter, not once per chat.
_DISTINCT_FILTERS = """
SELECT DISTINCT s.show, s.service, s.region, s.category, s.event_types, d.event_types
FROM subscriptions AS s JOIN destinations AS d ON d.id = s.destination_id
WHERE d.active = 1
"""

# One row per (event, destination) whose filter matched; a destination with two matching
# subscriptions still gets one row (the unique key).
_QUEUE_MATCHES = """
INSERT INTO deliveries (event_id, destination_id, platform, status, due_at, created_at,
                        updated_at)
SELECT m.event_id, d.id, d.platform, 'pending', ?1, ?1, ?1
FROM outbox_matches AS m
JOIN subscriptions AS s
  ON s.show IS m.show AND s.service IS m.service AND s.region IS m.region
 AND s.category IS m.category AND s.event_types = m.subscription_types
JOIN destinations AS d
  ON d.id = s.destination_id AND d.active = 1 AND d.event_types = m.destination_types
WHERE true
ON CONFLICT (event_id, destination_id) DO NOTHING
"""

# A delivery's event: d.event_id is an event number, stored in the group `g` (storage/sqlite.py).
_JOIN_EVENT_GROUP = "JOIN event_groups AS g ON g.first_id = " + EVENT_GROUP_OF.format(
    number="d.event_id"
)
# The columns of a delivery's group `g`, for group_events.
_GROUP_OF_DELIVERY = ", ".join(f"g.{column}" for column in GROUP_COLUMNS.split(", "))

_CLAIMABLE = "status IN ('pending', 'failed') AND due_at <= ? AND claimed_until <= ?"


class SqliteOutbox:
    """The outbox in the SQLite file of SqliteStorage, through its connection and lock."""

    def __init__(
        self,
        db: aiosqlite.Connection,
        lock: asyncio.Lock,
        *,
        clock: codec.Clock = codec.utc_now,
        on_queued: OnQueued | None = None,
    ) -> None:
        self._db = db
        self._lock = lock
        self._clock = clock
        self._on_queued = on_queued
        self._matches_ready = False
        self._event_cache: dict[int, Event] = {}

    @classmethod
    async def beside(
        cls,
        storage: SqliteStorage,
        *,
        clock: codec.Clock = codec.utc_now,
        on_queued: OnQueued | None = None,
    ) -> SqliteOutbox:
        """The outbox of a chart store; every save_batch from now on queues deliveries too."""
        outbox = cls(storage.connection, storage.lock, clock=clock, on_queued=on_queued)
        async with storage.lock:
            await storage.connection.execute(_CREATE_MATCHES)
        storage.on_new_events(outbox.queue_in_transaction)
        return outbox

    # -- queueing (inside save_batch) ----------------------------------------------------------

    async def queue_in_transaction(self, events: Sequence[Event], event_ids: Sequence[int]) -> int:
        """Queue deliveries of new events (with their event numbers); runs inside save_batch
        (lock held, transaction open)."""
        now = self._clock()
        wanted = list(zip(events, event_ids, strict=True))
        if not wanted:
            return 0
        filters = list(await self._db.execute_fetchall(_DISTINCT_FILTERS))
        matches: list[tuple[Any, ...]] = []
        for show, service, region, category, subscription_types, destination_types in filters:
            spec = SubscriptionSpec(
                show=show,
                service=service,
                region=region,
                category=category,
                event_types=decode_types(subscription_types),
            )
            settings = ChatSettings(event_types=decode_types(destination_types))
            for event, event_id in wanted:
                if subscription_matches(spec, settings, event):
                    matches.append(
                        (
                            show,
                            service,
                            region,
                            category,
                            subscription_types,
                            destination_types,
                            event_id,
                        )
                    )
        if not matches:
            return 0
        await self._db.execute("DELETE FROM outbox_matches")
        await self._db.executemany(
            "INSERT INTO outbox_matches VALUES (?, ?, ?, ?, ?, ?, ?)", matches
        )
        cursor = await self._db.execute(_QUEUE_MATCHES, (codec.encode_time(now),))
        queued = max(cursor.rowcount, 0)
        await self._db.execute("DELETE FROM outbox_matches")
        log.info("%d events, %d deliveries queued", len(wanted), queued)
        if queued and self._on_queued is not None:
            # A sender woken now claims as soon as the transaction commits (it waits for the
            # lock save_batch holds), not at its next poll.
            self._on_queued()
        return queued

    # -- claiming -------------------------------------------------------------------------------

    async def claim(
        self, platform: str, now: datetime, lease: timedelta, limit: int
    ) -> list[ClaimedGroup]:
        if limit <= 0:
            return []
        now_text = codec.encode_time(now)
        until_text = codec.encode_time(now + lease)
        async with self._lock, self._transaction():
            due = await self._fetch(
                "SELECT destination_id FROM deliveries"
                f" WHERE platform = ? AND {_CLAIMABLE} ORDER BY due_at, id LIMIT ?",
                (platform, now_text, now_text, limit * _ROWS_PER_DESTINATION),
            )
            destination_ids = list(dict.fromkeys(int(row[0]) for row in due))[:limit]
            if not destination_ids:
                return []
            rows_by_destination: dict[int, list[_OpenRow]] = {}
            for chunk in _chunks(destination_ids):
                rows = await self._fetch(
                    "SELECT d.id, d.destination_id, d.group_id, d.attempts, d.uncertain,"
                    " d.event_id, d.created_at FROM deliveries AS d"
                    f" WHERE d.destination_id IN ({_marks(len(chunk))})"
                    " AND d.status IN ('pending', 'failed') AND d.due_at <= ?"
                    " AND d.claimed_until <= ?",
                    (*chunk, now_text, now_text),
                )
                events = await self._events({int(row[5]) for row in rows})
                for row in rows:
                    delivery = Delivery(
                        id=int(row[0]),
                        event=events[int(row[5])],
                        attempts=int(row[3]),
                        uncertain=int(row[4]),
                        queued_at=_decode_time(row[6]),
                    )
                    open_row = _OpenRow(delivery.id, int(row[1]), row[2], delivery)
                    rows_by_destination.setdefault(open_row.destination_key, []).append(open_row)
            places = await self._destinations(destination_ids)
            groups: list[ClaimedGroup] = []
            updates: list[tuple[str, int, int]] = []
            for destination_id in destination_ids:
                open_rows = rows_by_destination.get(destination_id)
                if not open_rows:
                    continue
                group_id, chosen = _choose_group(open_rows)
                updates.extend((until_text, group_id, row.id) for row in chosen)
                place = places.get(destination_id)
                if place is None:
                    # The destination row was deleted: nowhere to send, so a dead letter.
                    place = _Place(
                        Destination(platform, f"#{destination_id}"),
                        ChatSettings(),
                        False,
                        "destination removed",
                    )
                groups.append(
                    ClaimedGroup(
                        group_id=group_id,
                        destination=place.destination,
                        settings=place.settings,
                        active=place.active,
                        inactive_reason=place.reason,
                        deliveries=tuple(
                            row.delivery for row in sorted(chosen, key=lambda r: r.id)
                        ),
                    )
                )
            await self._db.executemany(
                "UPDATE deliveries SET claimed_until = ?, group_id = ? WHERE id = ?", updates
            )
        return groups

    async def _events(self, numbers: set[int]) -> dict[int, Event]:
        """The events with these numbers. A burst sends the same few events to thousands of
        chats: each group is read and decoded once, and its events kept (they never change)."""
        found = {number: self._event_cache[number] for number in numbers & self._event_cache.keys()}
        for number in sorted(numbers - found.keys()):
            if number in found:
                continue  # decoded with the group of an earlier number
            rows = await self._fetch(
                f"SELECT {GROUP_COLUMNS} FROM event_groups WHERE first_id = "
                + EVENT_GROUP_OF.format(number="?"),
                (number,),
            )
            if not rows:
                raise LookupError(f"a delivery refers to event {number}, which is not stored")
            if len(self._event_cache) >= _EVENT_CACHE_SIZE:
                self._event_cache.clear()
            first_id = int(rows[0][0])
            for index, event in enumerate(group_events(rows[0])):
                self._event_cache[first_id + index] = event
                if first_id + index in numbers:
                    found[first_id + index] = event
        return found

    async def _destinations(self, ids: Sequence[int]) -> dict[int, _Place]:
        places: dict[int, _Place] = {}
        for chunk in _chunks(ids):
            rows = await self._fetch(
                "SELECT id, platform, chat_id, thread_id, active, inactive_reason, timezone,"
                " event_types, quiet_start, quiet_end"
                f" FROM destinations WHERE id IN ({_marks(len(chunk))})",
                chunk,
            )
            for row in rows:
                places[int(row[0])] = _Place(
                    Destination(row[1], row[2], row[3] or None),
                    ChatSettings(
                        timezone=row[6],
                        event_types=decode_types(row[7]),
                        quiet_start=decode_clock_time(row[8]),
                        quiet_end=decode_clock_time(row[9]),
                    ),
                    bool(row[4]),
                    row[5],
                )
        return places

    # -- outcomes -------------------------------------------------------------------------------

    async def mark_sent(self, ids: Sequence[int], now: datetime) -> None:
        await self._update(
            "status = 'sent', claimed_until = '', last_error = '', updated_at = ?",
            (codec.encode_time(now),),
            ids,
        )

    async def mark_failed(
        self,
        ids: Sequence[int],
        now: datetime,
        retry_at: datetime,
        reason: str,
        *,
        uncertain: bool = False,
    ) -> None:
        await self._update(
            "status = 'failed', attempts = attempts + 1, uncertain = uncertain + ?, due_at = ?,"
            " claimed_until = '', last_error = ?, updated_at = ?",
            (int(uncertain), codec.encode_time(retry_at), reason, codec.encode_time(now)),
            ids,
        )

    async def mark_dead(self, ids: Sequence[int], now: datetime, reason: str) -> None:
        await self._update(
            "status = 'dead', claimed_until = '', last_error = ?, updated_at = ?",
            (reason, codec.encode_time(now)),
            ids,
        )

    async def postpone(self, ids: Sequence[int], until: datetime, *, regroup: bool = False) -> None:
        group = "NULL" if regroup else "group_id"
        await self._update(
            f"due_at = ?, claimed_until = '', group_id = {group}",
            (codec.encode_time(until),),
            ids,
        )

    async def _update(self, assignments: str, values: tuple[Any, ...], ids: Sequence[int]) -> None:
        if not ids:
            return
        chunks = list(_chunks(list(ids)))
        async with self._lock:
            if len(chunks) == 1:
                # One statement is atomic on its own: no BEGIN/COMMIT round trips per message.
                await self._set(assignments, values, chunks[0])
                return
            async with self._transaction():
                for chunk in chunks:
                    await self._set(assignments, values, chunk)

    async def _set(self, assignments: str, values: tuple[Any, ...], ids: Sequence[int]) -> None:
        await self._db.execute(
            f"UPDATE deliveries SET {assignments}"
            f" WHERE id IN ({_marks(len(ids))}) AND status IN ('pending', 'failed')",
            (*values, *ids),
        )

    async def dead_letter_chat(
        self, platform: str, chat_id: str, now: datetime, reason: str
    ) -> int:
        async with self._lock, self._transaction():
            cursor = await self._db.execute(
                "UPDATE deliveries SET status = 'dead', claimed_until = '', last_error = ?,"
                " updated_at = ? WHERE status IN ('pending', 'failed') AND destination_id IN"
                " (SELECT id FROM destinations WHERE platform = ? AND chat_id = ?)",
                (reason, codec.encode_time(now), platform, chat_id),
            )
            return max(cursor.rowcount, 0)

    async def move_destination(self, old: Destination, new: Destination) -> int:
        """Rows follow the destination row; only a merge into an existing one moves them here."""
        async with self._lock, self._transaction():
            old_id = await self._destination_id(old)
            if old_id is None:
                return 0
            new_id = await self._destination_id(new)
            if new_id is None:
                # The subscription store renames the destination row: its rows come along.
                rows = await self._fetch(
                    "SELECT count(*) FROM deliveries"
                    " WHERE destination_id = ? AND status IN ('pending', 'failed')",
                    (old_id,),
                )
                return int(rows[0][0])
            cursor = await self._db.execute(
                "UPDATE OR IGNORE deliveries SET destination_id = ?, platform = ?, group_id = NULL"
                " WHERE destination_id = ? AND status IN ('pending', 'failed')",
                (new_id, new.platform, old_id),
            )
            # What stayed behind duplicates a row the new address already has.
            await self._db.execute(
                "DELETE FROM deliveries"
                " WHERE destination_id = ? AND status IN ('pending', 'failed')",
                (old_id,),
            )
            return max(cursor.rowcount, 0)

    async def _destination_id(self, destination: Destination) -> int | None:
        rows = await self._fetch(
            "SELECT id FROM destinations WHERE platform = ? AND chat_id = ? AND thread_id = ?",
            (destination.platform, destination.chat_id, destination.thread_id or ""),
        )
        return int(rows[0][0]) if rows else None

    # -- operators ------------------------------------------------------------------------------

    async def counts(self) -> DeliveryCounts:
        async with self._lock:
            rows = await self._fetch(
                "SELECT status, count(*), sum(uncertain) FROM deliveries GROUP BY status"
            )
        by_status = {row[0]: int(row[1]) for row in rows}
        return DeliveryCounts(
            pending=by_status.get("pending", 0),
            failed=by_status.get("failed", 0),
            sent=by_status.get("sent", 0),
            dead=by_status.get("dead", 0),
            uncertain=sum(int(row[2] or 0) for row in rows),
        )

    async def dead_letters(self, limit: int = 20) -> list[DeadLetter]:
        async with self._lock:
            rows = await self._fetch(
                "SELECT d.id, d.platform, coalesce(t.chat_id, '#' || d.destination_id),"
                " coalesce(t.thread_id, ''), d.event_id, d.attempts, d.last_error, d.updated_at,"
                f" {_GROUP_OF_DELIVERY}"
                f" FROM deliveries AS d {_JOIN_EVENT_GROUP}"
                " LEFT JOIN destinations AS t ON t.id = d.destination_id"
                " WHERE d.status = 'dead' ORDER BY d.updated_at DESC, d.id DESC LIMIT ?",
                (codec.check_limit(limit),),
            )
        return [
            DeadLetter(
                id=int(row[0]),
                destination=Destination(row[1], row[2], row[3] or None),
                event_key=group_events(row[8:])[row[4] - row[8]].key,
                attempts=int(row[5]),
                reason=row[6],
                updated_at=codec.decode_time(row[7]),
            )
            for row in rows
        ]

    async def requeue_dead(self, now: datetime) -> int:
        now_text = codec.encode_time(now)
        async with self._lock, self._transaction():
            # A fresh group: the next attempt is a new message for Discord's nonce, which is
            # right, since the dead message was (as far as anyone knows) never delivered.
            cursor = await self._db.execute(
                "UPDATE deliveries SET status = 'pending', attempts = 0, uncertain = 0,"
                " due_at = ?, claimed_until = '', group_id = NULL, updated_at = ?"
                " WHERE status = 'dead'",
                (now_text, now_text),
            )
            return max(cursor.rowcount, 0)

    # -- plumbing -------------------------------------------------------------------------------

    async def _fetch(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        return list(await self._db.execute_fetchall(sql, params))

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[None]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on any error; the caller holds the lock."""
        try:
            await self._db.execute("BEGIN IMMEDIATE")
            yield
            await self._db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.OperationalError):  # BEGIN itself failed
                await self._db.execute("ROLLBACK")
            raise


@dataclass(frozen=True, slots=True)
class _Place:
    destination: Destination
    settings: ChatSettings
    active: bool
    reason: str


# -- in memory ------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Row:
    id: int
    event: Event
    destination: Destination
    status: DeliveryStatus
    due_at: datetime
    created_at: datetime
    updated_at: datetime
    claimed_until: datetime | None = None
    group_id: int | None = None
    attempts: int = 0
    uncertain: int = 0
    last_error: str = ""

    @property
    def open(self) -> bool:
        return self.status in (DeliveryStatus.PENDING, DeliveryStatus.FAILED)


class MemoryOutbox:
    """The outbox in dictionaries, for the memory:// store and unit tests."""

    def __init__(
        self,
        subscriptions: SubscriptionStore,
        *,
        clock: codec.Clock = codec.utc_now,
        on_queued: OnQueued | None = None,
    ) -> None:
        self._subscriptions = subscriptions
        self._clock = clock
        self._on_queued = on_queued
        self._rows: dict[int, _Row] = {}
        self._keys: dict[tuple[str, Destination], int] = {}
        self._ids = itertools.count(1)

    @classmethod
    def beside(
        cls,
        storage: MemoryStorage,
        subscriptions: SubscriptionStore,
        *,
        clock: codec.Clock = codec.utc_now,
        on_queued: OnQueued | None = None,
    ) -> MemoryOutbox:
        outbox = cls(subscriptions, clock=clock, on_queued=on_queued)
        storage.on_new_events(outbox.queue)
        return outbox

    async def queue(self, events: Sequence[Event], event_ids: Sequence[int] = ()) -> int:
        """Queue deliveries of new events (the ids, which the memory store hands over as the
        SQL one does, are not needed: rows are matched by event key)."""
        now = self._clock()
        wanted = list(events)
        if not wanted:
            return 0
        queued = 0
        for destination, destination_events in route_events(
            wanted, await self._subscriptions.active_routes()
        ):
            for event in destination_events:
                key = (event.key, destination)
                if key in self._keys:
                    continue
                row_id = next(self._ids)
                self._rows[row_id] = _Row(
                    row_id, event, destination, DeliveryStatus.PENDING, now, now, now
                )
                self._keys[key] = row_id
                queued += 1
        if queued and self._on_queued is not None:
            self._on_queued()
        return queued

    async def claim(
        self, platform: str, now: datetime, lease: timedelta, limit: int
    ) -> list[ClaimedGroup]:
        due = sorted(
            (
                row
                for row in self._rows.values()
                if row.destination.platform == platform
                and row.open
                and row.due_at <= now
                and (row.claimed_until is None or row.claimed_until <= now)
            ),
            key=lambda row: (row.due_at, row.id),
        )
        by_destination: dict[Destination, list[_OpenRow]] = {}
        for row in due:
            if row.destination not in by_destination and len(by_destination) >= limit:
                continue
            delivery = Delivery(row.id, row.event, row.attempts, row.uncertain, row.created_at)
            by_destination.setdefault(row.destination, []).append(
                _OpenRow(row.id, row.destination, row.group_id, delivery)
            )
        groups: list[ClaimedGroup] = []
        for destination, open_rows in by_destination.items():
            group_id, chosen = _choose_group(open_rows)
            for open_row in chosen:
                row = self._rows[open_row.id]
                row.claimed_until = now + lease
                row.group_id = group_id
            state = await self._subscriptions.destination_state(destination)
            settings = await self._subscriptions.get_settings(destination)
            groups.append(
                ClaimedGroup(
                    group_id=group_id,
                    destination=destination,
                    settings=settings,
                    active=state.active if state is not None else False,
                    inactive_reason=state.reason if state is not None else "destination removed",
                    deliveries=tuple(r.delivery for r in sorted(chosen, key=lambda r: r.id)),
                )
            )
        return groups

    def _open_rows(self, ids: Iterable[int]) -> list[_Row]:
        return [row for i in ids if (row := self._rows.get(i)) is not None and row.open]

    async def mark_sent(self, ids: Sequence[int], now: datetime) -> None:
        for row in self._open_rows(ids):
            row.status, row.claimed_until, row.last_error = DeliveryStatus.SENT, None, ""
            row.updated_at = now

    async def mark_failed(
        self,
        ids: Sequence[int],
        now: datetime,
        retry_at: datetime,
        reason: str,
        *,
        uncertain: bool = False,
    ) -> None:
        for row in self._open_rows(ids):
            row.status, row.claimed_until, row.last_error = DeliveryStatus.FAILED, None, reason
            row.attempts += 1
            row.uncertain += int(uncertain)
            row.due_at, row.updated_at = retry_at, now

    async def mark_dead(self, ids: Sequence[int], now: datetime, reason: str) -> None:
        for row in self._open_rows(ids):
            row.status, row.claimed_until, row.last_error = DeliveryStatus.DEAD, None, reason
            row.updated_at = now

    async def postpone(self, ids: Sequence[int], until: datetime, *, regroup: bool = False) -> None:
        for row in self._open_rows(ids):
            row.due_at, row.claimed_until = until, None
            if regroup:
                row.group_id = None

    async def dead_letter_chat(
        self, platform: str, chat_id: str, now: datetime, reason: str
    ) -> int:
        doomed = [
            row.id
            for row in self._rows.values()
            if row.open
            and row.destination.platform == platform
            and row.destination.chat_id == chat_id
        ]
        await self.mark_dead(doomed, now, reason)
        return len(doomed)

    async def move_destination(self, old: Destination, new: Destination) -> int:
        moved = 0
        for row in [r for r in self._rows.values() if r.open and r.destination == old]:
            del self._keys[(row.event.key, old)]
            if (row.event.key, new) in self._keys:
                del self._rows[row.id]  # the new address already has this event
                continue
            row.destination, row.group_id = new, None
            self._keys[(row.event.key, new)] = row.id
            moved += 1
        return moved

    async def counts(self) -> DeliveryCounts:
        totals = {status: 0 for status in DeliveryStatus}
        for row in self._rows.values():
            totals[row.status] += 1
        return DeliveryCounts(
            pending=totals[DeliveryStatus.PENDING],
            failed=totals[DeliveryStatus.FAILED],
            sent=totals[DeliveryStatus.SENT],
            dead=totals[DeliveryStatus.DEAD],
            uncertain=sum(row.uncertain for row in self._rows.values()),
        )

    async def dead_letters(self, limit: int = 20) -> list[DeadLetter]:
        codec.check_limit(limit)
        dead = sorted(
            (row for row in self._rows.values() if row.status == DeliveryStatus.DEAD),
            key=lambda row: (row.updated_at, row.id),
            reverse=True,
        )
        return [
            DeadLetter(
                row.id, row.destination, row.event.key, row.attempts, row.last_error, row.updated_at
            )
            for row in dead[:limit]
        ]

    async def requeue_dead(self, now: datetime) -> int:
        requeued = 0
        for row in self._rows.values():
            if row.status == DeliveryStatus.DEAD:
                row.status, row.attempts, row.uncertain = DeliveryStatus.PENDING, 0, 0
                row.due_at, row.claimed_until, row.group_id, row.updated_at = now, None, None, now
                requeued += 1
        return requeued


async def open_outbox(
    storage: Storage,
    subscriptions: SubscriptionStore,
    *,
    clock: codec.Clock = codec.utc_now,
    on_queued: OnQueued | None = None,
) -> Outbox:
    """The outbox beside a chart store; from now on its save_batch queues deliveries too.

    `on_queued` is called when a batch queued deliveries (the sender's wake-up)."""
    if isinstance(storage, SqliteStorage):
        return await SqliteOutbox.beside(storage, clock=clock, on_queued=on_queued)
    if isinstance(storage, MemoryStorage):
        if not isinstance(subscriptions, MemorySubscriptionStore):
            raise TypeError("a memory chart store keeps its subscriptions in memory too")
        return MemoryOutbox.beside(storage, subscriptions, clock=clock, on_queued=on_queued)
    raise TypeError(f"no outbox for {type(storage).__name__}")


__all__ = ["MemoryOutbox", "SqliteOutbox", "open_outbox"]
