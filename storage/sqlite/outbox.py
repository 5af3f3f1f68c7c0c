"""The outbox in SQLite: deliveries (event × destination) and what the sender does with them.

Deliveries are queued by `queue_deliveries_of`, which the backend's unit of work runs in the
transaction that stores their events (storage/sqlite/backend.py): the events and the rows that
promise them to each subscribed destination are committed together or not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from bot.events import Event
from bot.ports import ClaimedGroup, DeadLetter, Delivery, DeliveryCounts
from bot.subscriptions import ChatSettings, Destination, SubscriptionSpec, subscription_matches
from storage import codec
from storage.outbox_rules import OpenRow, choose_group
from storage.sqlite.connection import Database, Transaction, chunks, marks
from storage.sqlite.events import events_by_id

log = logging.getLogger(__name__)

# Events kept decoded by id (see SqliteOutbox._events).
_EVENT_CACHE_SIZE = 4096
# The rows of one burst share their queueing time.
_decode_time = lru_cache(maxsize=1024)(codec.decode_time)
# A claim looks at this many due rows per destination it wants (several events per chat).
_ROWS_PER_DESTINATION = 4

# The subscriptions of the active destinations, with what matching needs.
_ACTIVE_FILTERS = """
SELECT s.show, s.service, s.region, s.category, s.event_types, s.details, d.event_types, d.id,
       d.platform
FROM subscriptions AS s JOIN destinations AS d ON d.id = s.destination_id
WHERE d.active = 1
"""

# A destination with two matching subscriptions still gets one row (the unique key).
_QUEUE = """
INSERT INTO deliveries (event_id, destination_id, platform, status, due_at, created_at,
                        updated_at)
VALUES (?, ?, ?, 'pending', ?, ?, ?)
ON CONFLICT (event_id, destination_id) DO NOTHING
"""


async def queue_deliveries_of(tx: Transaction, new: Sequence[tuple[int, Event]], now: str) -> int:
    """Queue a delivery of each new event (with its id) to every active destination one of
    whose subscriptions wants it; the number queued. Runs inside the unit of work.

    Thousands of chats usually share a few filters, so the matching rules (bot.subscriptions)
    run once per distinct filter, not once per chat.
    """
    if not new:
        return 0
    by_filter: dict[tuple[Any, ...], list[tuple[int, str]]] = {}
    for row in await tx.fetch(_ACTIVE_FILTERS):
        by_filter.setdefault(tuple(row[:7]), []).append((int(row[7]), str(row[8])))
    wanted: dict[tuple[int, int], str] = {}
    for (show, service, region, category, types, details, chat_types), places in by_filter.items():
        spec = SubscriptionSpec(
            show=show,
            service=service,
            region=region,
            category=category,
            event_types=codec.decode_types(types),
            details=bool(details),
        )
        settings = ChatSettings(event_types=codec.decode_types(chat_types))
        for event_id, event in new:
            if subscription_matches(spec, settings, event):
                for destination_id, platform in places:
                    wanted[(event_id, destination_id)] = platform
    if not wanted:
        return 0
    queued = await tx.executemany(
        _QUEUE,
        [
            (event_id, destination_id, platform, now, now, now)
            for (event_id, destination_id), platform in sorted(wanted.items())
        ],
    )
    log.info("%d events, %d deliveries queued", len(new), queued)
    return queued


def _set_statement(assignments: str, count: int) -> str:
    return (
        f"UPDATE deliveries SET {assignments}"
        f" WHERE id IN ({marks(count)}) AND status IN ('pending', 'failed')"
    )


_CLAIMABLE = "status IN ('pending', 'failed') AND due_at <= ? AND claimed_until <= ?"


class SqliteOutbox:
    """The outbox in the backend's SQLite file (bot.ports.Outbox)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._event_cache: dict[int, Event] = {}

    # -- claiming -------------------------------------------------------------------------------

    async def claim(
        self, platform: str, now: datetime, lease: timedelta, limit: int
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
                    "SELECT d.id, d.destination_id, d.group_id, d.attempts, d.uncertain,"
                    " d.event_id, d.created_at FROM deliveries AS d"
                    f" WHERE d.destination_id IN ({marks(len(chunk))})"
                    " AND d.status IN ('pending', 'failed') AND d.due_at <= ?"
                    " AND d.claimed_until <= ?",
                    (*chunk, now_text, now_text),
                )
                events = await self._events(tx, {int(row[5]) for row in rows})
                for row in rows:
                    delivery = Delivery(
                        id=int(row[0]),
                        event=events[int(row[5])],
                        attempts=int(row[3]),
                        uncertain=int(row[4]),
                        queued_at=_decode_time(row[6]),
                    )
                    open_row = OpenRow(delivery.id, int(row[1]), row[2], delivery)
                    rows_by_destination.setdefault(open_row.destination_key, []).append(open_row)
            places = await _destinations(tx, destination_ids)
            groups: list[ClaimedGroup] = []
            updates: list[tuple[str, int, int]] = []
            for destination_id in destination_ids:
                open_rows = rows_by_destination.get(destination_id)
                if not open_rows:
                    continue
                group_id, chosen = choose_group(open_rows)
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
            await tx.executemany(
                "UPDATE deliveries SET claimed_until = ?, group_id = ? WHERE id = ?", updates
            )
        return groups

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
        parts = list(chunks(list(ids)))
        if len(parts) == 1:
            # One statement is atomic on its own: no BEGIN/COMMIT round trips per message.
            await self._db.execute(_set_statement(assignments, len(parts[0])), (*values, *parts[0]))
            return
        async with self._db.transaction() as tx:
            for part in parts:
                await tx.execute(_set_statement(assignments, len(part)), (*values, *part))

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
        rows = await self._db.read(
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
        rows = await self._db.read(
            "SELECT d.id, d.platform, coalesce(t.chat_id, '#' || d.destination_id),"
            " coalesce(t.thread_id, ''), e.key, d.attempts, d.last_error, d.updated_at"
            " FROM deliveries AS d JOIN events AS e ON e.id = d.event_id"
            " LEFT JOIN destinations AS t ON t.id = d.destination_id"
            " WHERE d.status = 'dead' ORDER BY d.updated_at DESC, d.id DESC LIMIT ?",
            (codec.check_limit(limit),),
        )
        return [
            DeadLetter(
                id=int(row[0]),
                destination=Destination(row[1], row[2], row[3] or None),
                event_key=row[4],
                attempts=int(row[5]),
                reason=row[6],
                updated_at=codec.decode_time(row[7]),
            )
            for row in rows
        ]

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


async def _destinations(tx: Transaction, ids: Sequence[int]) -> dict[int, _Place]:
    places: dict[int, _Place] = {}
    for chunk in chunks(ids):
        rows = await tx.fetch(
            "SELECT id, platform, chat_id, thread_id, active, inactive_reason, timezone,"
            " event_types, quiet_start, quiet_end"
            f" FROM destinations WHERE id IN ({marks(len(chunk))})",
            chunk,
        )
        for row in rows:
            places[int(row[0])] = _Place(
                Destination(row[1], row[2], row[3] or None),
                ChatSettings(
                    timezone=row[6],
                    event_types=codec.decode_types(row[7]),
                    quiet_start=codec.decode_clock_time(row[8]),
                    quiet_end=codec.decode_clock_time(row[9]),
                ),
                bool(row[4]),
                row[5],
            )
    return places


async def _destination_id(tx: Transaction, destination: Destination) -> int | None:
    rows = await tx.fetch(
        "SELECT id FROM destinations WHERE platform = ? AND chat_id = ? AND thread_id = ?",
        (destination.platform, destination.chat_id, destination.thread_id or ""),
    )
    return int(rows[0][0]) if rows else None


@dataclass(frozen=True, slots=True)
class _Place:
    destination: Destination
    settings: ChatSettings
    active: bool
    reason: str
