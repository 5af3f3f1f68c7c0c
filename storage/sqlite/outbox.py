"""The outbox in SQLite: deliveries (event × destination) and what the sender does with them.

Deliveries are queued by the backend's unit of work with the events that owe them
(storage/fanout.py: with the events in one transaction, or, for a large burst, in short
transactions after it that an unfinished mark makes sure are completed).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.events import Event
from bot.ports import ClaimedGroup, DeadLetter, Delivery, DeliveryBacklog, DeliveryCounts
from bot.subscriptions import Destination
from storage import codec
from storage.outbox_rules import (
    BACKLOG,
    COUNTS,
    DEAD_LETTERS,
    DESTINATION_COLUMNS,
    DONE_ROWS,
    OPEN_ROW_COLUMNS,
    OpenRow,
    Place,
    backlog_from_row,
    claimed_groups,
    counts_from_rows,
    dead_letter_from_row,
    done_by_group,
    open_row,
    pinned_groups,
    place_from_row,
)
from storage.sqlite.connection import Database, Transaction, chunks, marks
from storage.sqlite.events import events_by_id

log = logging.getLogger(__name__)

# Events kept decoded by id (see SqliteOutbox._events).
_EVENT_CACHE_SIZE = 4096
# A claim looks at this many due rows per destination it wants (several events per chat).
_ROWS_PER_DESTINATION = 4


def _set_statement(assignments: str, count: int, *, held: bool, returning: bool = False) -> str:
    """An UPDATE of the open rows among `count` ids; `held`: only those the claimant (the
    last parameter) holds."""
    claimed = " AND claimed_until <> '' AND claimed_by = ?" if held else ""
    return (
        f"UPDATE deliveries SET {assignments}"
        f" WHERE id IN ({marks(count)}) AND status IN ('pending', 'failed'){claimed}"
        + (" RETURNING id" if returning else "")
    )


_CLAIMABLE = "status IN ('pending', 'failed') AND due_at <= ? AND claimed_until <= ?"


class SqliteOutbox:
    """The outbox in the backend's SQLite file (bot.ports.Outbox)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._event_cache: dict[int, Event] = {}

    # -- claiming -------------------------------------------------------------------------------

    async def claim(
        self, platform: str, now: datetime, lease: timedelta, limit: int, *, claimant: str = ""
    ) -> list[ClaimedGroup]:
        if limit <= 0:
            return []
        now_text = codec.encode_time(now)
        until_text = codec.encode_time(now + lease)
        async with self._db.transaction() as tx:
            due = await tx.fetch(
                "SELECT destination_id FROM deliveries"
                f" WHERE platform = ? AND {_CLAIMABLE} ORDER BY due_at, id LIMIT ?",
                (platform, now_text, now_text, limit * _ROWS_PER_DESTINATION),
            )
            destination_ids = list(dict.fromkeys(int(row[0]) for row in due))[:limit]
            if not destination_ids:
                return []
            rows_by_destination: dict[int, list[OpenRow]] = {}
            for chunk in chunks(destination_ids):
                rows = await tx.fetch(
                    f"SELECT {OPEN_ROW_COLUMNS} FROM deliveries"
                    f" WHERE destination_id IN ({marks(len(chunk))}) AND {_CLAIMABLE}",
                    (*chunk, now_text, now_text),
                )
                events = await self._events(tx, {int(row[5]) for row in rows})
                for row in rows:
                    found = open_row(row, events)
                    rows_by_destination.setdefault(found.destination_key, []).append(found)
            places = await _destinations(tx, destination_ids)
            done = await self._done_rows(tx, pinned_groups(rows_by_destination))
            groups = claimed_groups(platform, destination_ids, rows_by_destination, places, done)
            await tx.executemany(
                "UPDATE deliveries SET claimed_until = ?, claimed_by = ?, group_id = ?"
                " WHERE id = ?",
                [
                    (until_text, claimant, group.group_id, delivery.id)
                    for group in groups
                    for delivery in group.deliveries
                ],
            )
        return groups

    async def _done_rows(
        self, tx: Transaction, group_ids: Sequence[int]
    ) -> dict[int, list[Delivery]]:
        rows: list[OpenRow] = []
        for chunk in chunks(group_ids):
            found = await tx.fetch(
                f"{DONE_ROWS} AND group_id IS NOT NULL AND group_id IN ({marks(len(chunk))})",
                chunk,
            )
            events = await self._events(tx, {int(row[5]) for row in found})
            rows.extend(open_row(row, events) for row in found)
        return done_by_group(rows)

    async def _events(self, tx: Transaction, ids: set[int]) -> dict[int, Event]:
        """The events with these ids. A burst sends the same few events to thousands of chats:
        each is read and decoded once, and kept (an event never changes)."""
        found = {
            event_id: self._event_cache[event_id] for event_id in ids & self._event_cache.keys()
        }
        missing = ids - found.keys()
        if missing:
            read = await events_by_id(tx, missing)
            if len(self._event_cache) + len(read) > _EVENT_CACHE_SIZE:
                self._event_cache.clear()
            self._event_cache.update(read)
            found.update(read)
        return found

    async def extend_lease(
        self, ids: Sequence[int], until: datetime, *, claimant: str = ""
    ) -> list[int]:
        # A released row has an empty lease ('') and stays released. Each statement is atomic:
        # a row is renewed or not, whatever happens to the others.
        kept: list[int] = []
        for part in chunks(list(ids)):
            statement = _set_statement("claimed_until = ?", len(part), held=True, returning=True)
            rows = await self._db.execute_returning(
                statement, (codec.encode_time(until), *part, claimant)
            )
            kept.extend(int(row[0]) for row in rows)
        return sorted(kept)

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
        claimant: str | None = None,
    ) -> None:
        await self._update(
            "status = 'failed', attempts = attempts + 1, uncertain = uncertain + ?, due_at = ?,"
            " claimed_until = '', last_error = ?, updated_at = ?",
            (int(uncertain), codec.encode_time(retry_at), reason, codec.encode_time(now)),
            ids,
            claimant,
        )

    async def mark_dead(
        self, ids: Sequence[int], now: datetime, reason: str, *, claimant: str | None = None
    ) -> None:
        await self._update(
            "status = 'dead', claimed_until = '', last_error = ?, updated_at = ?",
            (reason, codec.encode_time(now)),
            ids,
            claimant,
        )

    async def postpone(
        self,
        ids: Sequence[int],
        until: datetime,
        *,
        regroup: bool = False,
        claimant: str | None = None,
    ) -> None:
        group = "NULL" if regroup else "group_id"
        await self._update(
            f"due_at = ?, claimed_until = '', group_id = {group}",
            (codec.encode_time(until),),
            ids,
            claimant,
        )

    async def listen(self, wake: Callable[[], None]) -> None:
        """One process owns a SQLite store: its poller wakes its sender in memory."""

    async def _update(
        self,
        assignments: str,
        values: tuple[Any, ...],
        ids: Sequence[int],
        claimant: str | None = None,
    ) -> None:
        """Update the open rows among `ids` (only those `claimant` holds, when given)."""
        if not ids:
            return
        held = claimant is not None
        fence = (claimant,) if held else ()
        parts = list(chunks(list(ids)))
        if len(parts) == 1:
            # One statement is atomic on its own: no BEGIN/COMMIT round trips per message.
            statement = _set_statement(assignments, len(parts[0]), held=held)
            await self._db.execute(statement, (*values, *parts[0], *fence))
            return
        async with self._db.transaction() as tx:
            for part in parts:
                statement = _set_statement(assignments, len(part), held=held)
                await tx.execute(statement, (*values, *part, *fence))

    async def dead_letter_chat(
        self, platform: str, chat_id: str, now: datetime, reason: str
    ) -> int:
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE deliveries SET status = 'dead', claimed_until = '', last_error = ?,"
                " updated_at = ? WHERE status IN ('pending', 'failed') AND destination_id IN"
                " (SELECT id FROM destinations WHERE platform = ? AND chat_id = ?)",
                (reason, codec.encode_time(now), platform, chat_id),
            )
            return changed

    async def move_destination(self, old: Destination, new: Destination) -> int:
        """Rows follow the destination row; only a merge into an existing one moves them here."""
        async with self._db.transaction() as tx:
            old_id = await _destination_id(tx, old)
            if old_id is None:
                return 0
            new_id = await _destination_id(tx, new)
            if new_id is None:
                # The subscription store renames the destination row: its rows come along.
                rows = await tx.fetch(
                    "SELECT count(*) FROM deliveries"
                    " WHERE destination_id = ? AND status IN ('pending', 'failed')",
                    (old_id,),
                )
                return int(rows[0][0])
            # A row whose event the new address already has is a duplicate: it goes, the others
            # move (in that order, so the move meets no unique key).
            await tx.execute(
                "DELETE FROM deliveries"
                " WHERE destination_id = ? AND status IN ('pending', 'failed') AND event_id IN"
                " (SELECT event_id FROM deliveries WHERE destination_id = ?)",
                (old_id, new_id),
            )
            return await tx.execute(
                "UPDATE deliveries SET destination_id = ?, platform = ?, group_id = NULL"
                " WHERE destination_id = ? AND status IN ('pending', 'failed')",
                (new_id, new.platform, old_id),
            )

    # -- operators ------------------------------------------------------------------------------

    async def counts(self) -> DeliveryCounts:
        return counts_from_rows(await self._db.read(COUNTS))

    async def backlog(self) -> DeliveryBacklog:
        [row] = await self._db.read(BACKLOG)
        return backlog_from_row(row)

    async def dead_letters(self, limit: int = 20) -> list[DeadLetter]:
        rows = await self._db.read(f"{DEAD_LETTERS} LIMIT ?", (codec.check_limit(limit),))
        return [dead_letter_from_row(row) for row in rows]

    async def requeue_dead(self, now: datetime) -> int:
        now_text = codec.encode_time(now)
        async with self._db.transaction() as tx:
            # A fresh group: the next attempt is a new message for Discord's nonce, which is
            # right, since the dead message was (as far as anyone knows) never delivered.
            changed = await tx.execute(
                "UPDATE deliveries SET status = 'pending', attempts = 0, uncertain = 0,"
                " due_at = ?, claimed_until = '', group_id = NULL, updated_at = ?"
                " WHERE status = 'dead'",
                (now_text, now_text),
            )
            return changed


async def _destinations(tx: Transaction, ids: Sequence[int]) -> dict[int, Place]:
    places: dict[int, Place] = {}
    for chunk in chunks(ids):
        rows = await tx.fetch(
            f"SELECT {DESTINATION_COLUMNS} FROM destinations WHERE id IN ({marks(len(chunk))})",
            chunk,
        )
        places.update(place_from_row(row) for row in rows)
    return places


async def _destination_id(tx: Transaction, destination: Destination) -> int | None:
    rows = await tx.fetch(
        "SELECT id FROM destinations WHERE platform = ? AND chat_id = ? AND thread_id = ?",
        (destination.platform, destination.chat_id, destination.thread_id or ""),
    )
    return int(rows[0][0]) if rows else None
