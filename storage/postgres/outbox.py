"""The outbox in PostgreSQL: deliveries (event × destination) and what the sender does with them.

The statements of storage/sqlite/outbox.py in PostgreSQL's spelling: id lists travel as one
array parameter (`= ANY($n)`), and a claim
locks the rows it takes with FOR UPDATE SKIP LOCKED, so that senders sharing the database never
wait on each other's rows nor take the same row twice.
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
from storage.postgres.connection import Database, Transaction
from storage.postgres.events import events_by_id
from storage.postgres.subscriptions import find_destination_id

log = logging.getLogger(__name__)

# Events kept decoded by id (see PostgresOutbox._events).
_EVENT_CACHE_SIZE = 4096
# A claim looks at this many due rows per destination it wants (several events per chat).
_ROWS_PER_DESTINATION = 4

# The channel on which senders hear that deliveries were queued (PostgresOutbox.listen).
DELIVERIES_QUEUED = "top10bot_deliveries"

_OPEN = "status IN ('pending', 'failed')"
_CLAIMABLE = f"{_OPEN} AND due_at <= $1 AND claimed_until <= $1"
# The open rows among the ids $1, to be locked in id order (the caller adds its conditions, then
# ORDER BY id FOR UPDATE): every statement that changes several rows takes their locks in the
# same order, so a sender recording a message and another renewing its leases (or the same one,
# on two connections) never deadlock. (Claims skip locked rows and never wait.)
_LOCKED_IN_ORDER = f"SELECT id FROM deliveries WHERE id = ANY($1::bigint[]) AND {_OPEN}"


class PostgresOutbox:
    """The outbox in the backend's database (bot.ports.Outbox)."""

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
                f"SELECT destination_id FROM deliveries WHERE platform = $2 AND {_CLAIMABLE}"
                " ORDER BY due_at, id LIMIT $3",
                now_text,
                platform,
                limit * _ROWS_PER_DESTINATION,
            )
            candidates = list(dict.fromkeys(int(row[0]) for row in due))
            if not candidates:
                return []
            # A destination is claimed by one sender at a time, with all its due rows: one
            # digest per chat. Its row is locked for the claim (another sender's claim skips
            # it); the rows of a delivery alone would let two senders split a chat's digest.
            held = await tx.fetch(
                "SELECT id FROM destinations WHERE id = ANY($1::bigint[])"
                " ORDER BY id FOR NO KEY UPDATE SKIP LOCKED",
                candidates,
            )
            ours = {int(row[0]) for row in held}
            destination_ids = [i for i in candidates if i in ours][:limit]
            # A delivery whose destination row was deleted has nothing to lock: it is claimed
            # (and becomes a dead letter) when no other sender holds it.
            unlocked = [i for i in candidates if i not in ours]
            if unlocked and len(destination_ids) < limit:
                orphans = set(unlocked) - await _existing(tx, unlocked)
                room = limit - len(destination_ids)
                destination_ids += [i for i in unlocked if i in orphans][:room]
            if not destination_ids:
                return []
            # Re-read now that the destinations are ours (a claim committed meanwhile took its
            # rows); locked in id order, as every statement changing several rows does.
            rows = await tx.fetch(
                f"SELECT {OPEN_ROW_COLUMNS} FROM deliveries"
                f" WHERE destination_id = ANY($2::bigint[]) AND {_CLAIMABLE}"
                " ORDER BY id FOR UPDATE SKIP LOCKED",
                now_text,
                destination_ids,
            )
            events = await self._events(tx, {int(row[5]) for row in rows})
            rows_by_destination: dict[int, list[OpenRow]] = {}
            for row in rows:
                found = open_row(row, events)
                rows_by_destination.setdefault(found.destination_key, []).append(found)
            places = await _destinations(tx, destination_ids)
            done = await self._done_rows(tx, pinned_groups(rows_by_destination))
            groups = claimed_groups(platform, destination_ids, rows_by_destination, places, done)
            claimed = [(group.group_id, row.id) for group in groups for row in group.deliveries]
            await tx.execute(
                "UPDATE deliveries AS d SET claimed_until = $1, claimed_by = $4,"
                " group_id = claimed.group_id"
                " FROM unnest($2::bigint[], $3::bigint[]) AS claimed (group_id, id)"
                " WHERE d.id = claimed.id",
                until_text,
                [group_id for group_id, _ in claimed],
                [row_id for _, row_id in claimed],
                claimant,
            )
        return groups

    async def _done_rows(
        self, tx: Transaction, group_ids: Sequence[int]
    ) -> dict[int, list[Delivery]]:
        if not group_ids:
            return {}
        rows = await tx.fetch(
            f"{DONE_ROWS} AND group_id IS NOT NULL AND group_id = ANY($1::bigint[])",
            list(group_ids),
        )
        events = await self._events(tx, {int(row[5]) for row in rows})
        return done_by_group(open_row(row, events) for row in rows)

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

    async def extend_lease(
        self, ids: Sequence[int], until: datetime, *, claimant: str = ""
    ) -> list[int]:
        # A released row has an empty lease ('') and stays released.
        if not ids:
            return []
        rows = await self._db.read(
            f"UPDATE deliveries SET claimed_until = $2 WHERE id IN ({_LOCKED_IN_ORDER}"
            " AND claimed_until <> '' AND claimed_by = $3 ORDER BY id FOR UPDATE) RETURNING id",
            list(ids),
            codec.encode_time(until),
            claimant,
        )
        return sorted(int(row[0]) for row in rows)

    async def mark_sent(self, ids: Sequence[int], now: datetime) -> None:
        await self._update(
            "status = 'sent', claimed_until = '', last_error = '', updated_at = $2",
            ids,
            codec.encode_time(now),
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
            "status = 'failed', attempts = attempts + 1, uncertain = uncertain + $2,"
            " due_at = $3, claimed_until = '', last_error = $4, updated_at = $5",
            ids,
            int(uncertain),
            codec.encode_time(retry_at),
            reason,
            codec.encode_time(now),
            claimant=claimant,
        )

    async def mark_dead(
        self, ids: Sequence[int], now: datetime, reason: str, *, claimant: str | None = None
    ) -> None:
        await self._update(
            "status = 'dead', claimed_until = '', last_error = $2, updated_at = $3",
            ids,
            reason,
            codec.encode_time(now),
            claimant=claimant,
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
            f"due_at = $2, claimed_until = '', group_id = {group}",
            ids,
            codec.encode_time(until),
            claimant=claimant,
        )

    async def _update(
        self, assignments: str, ids: Sequence[int], *values: Any, claimant: str | None = None
    ) -> None:
        """One UPDATE of the open rows among `ids` ($1) (only those `claimant` holds, when
        given); `values` are $2, $3, …"""
        if not ids:
            return
        fence: tuple[str, ...] = ()
        held = ""
        if claimant is not None:
            fence = (claimant,)
            held = f" AND claimed_until <> '' AND claimed_by = ${len(values) + 2}"
        await self._db.execute(
            f"UPDATE deliveries SET {assignments}"
            f" WHERE id IN ({_LOCKED_IN_ORDER}{held} ORDER BY id FOR UPDATE)",
            list(ids),
            *values,
            *fence,
        )

    async def listen(self, wake: Callable[[], None]) -> None:
        await self._db.listen(DELIVERIES_QUEUED, wake)

    async def dead_letter_chat(
        self, platform: str, chat_id: str, now: datetime, reason: str
    ) -> int:
        return await self._db.execute(
            "UPDATE deliveries SET status = 'dead', claimed_until = '', last_error = $1,"
            f" updated_at = $2 WHERE {_OPEN} AND destination_id IN"
            " (SELECT id FROM destinations WHERE platform = $3 AND chat_id = $4)",
            reason,
            codec.encode_time(now),
            platform,
            chat_id,
        )

    async def move_destination(self, old: Destination, new: Destination) -> int:
        """Rows follow the destination row; only a merge into an existing one moves them here."""
        async with self._db.transaction() as tx:
            old_id = await find_destination_id(tx, old)
            if old_id is None:
                return 0
            new_id = await find_destination_id(tx, new)
            if new_id is None:
                # The subscription store renames the destination row: its rows come along.
                rows = await tx.fetch(
                    f"SELECT count(*) FROM deliveries WHERE destination_id = $1 AND {_OPEN}",
                    old_id,
                )
                return int(rows[0][0])
            # A row whose event the new address already has is a duplicate: it goes, the others
            # move (in that order, so the move meets no unique key).
            await tx.execute(
                f"DELETE FROM deliveries WHERE destination_id = $1 AND {_OPEN} AND event_id IN"
                " (SELECT event_id FROM deliveries WHERE destination_id = $2)",
                old_id,
                new_id,
            )
            return await tx.execute(
                "UPDATE deliveries SET destination_id = $1, platform = $2, group_id = NULL"
                f" WHERE destination_id = $3 AND {_OPEN}",
                new_id,
                new.platform,
                old_id,
            )

    # -- operators ------------------------------------------------------------------------------

    async def counts(self) -> DeliveryCounts:
        return counts_from_rows(await self._db.read(COUNTS))

    async def backlog(self) -> DeliveryBacklog:
        [row] = await self._db.read(BACKLOG)
        return backlog_from_row(row)

    async def dead_letters(self, limit: int = 20) -> list[DeadLetter]:
        rows = await self._db.read(f"{DEAD_LETTERS} LIMIT $1", codec.check_limit(limit))
        return [dead_letter_from_row(row) for row in rows]

    async def requeue_dead(self, now: datetime) -> int:
        # A fresh group: the next attempt is a new message for Discord's nonce, which is right,
        # since the dead message was (as far as anyone knows) never delivered.
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE deliveries SET status = 'pending', attempts = 0, uncertain = 0,"
                " due_at = $1, claimed_until = '', group_id = NULL, updated_at = $1"
                " WHERE status = 'dead'",
                codec.encode_time(now),
            )
            if changed:
                await tx.execute("SELECT pg_notify($1, '')", DELIVERIES_QUEUED)
        return changed


async def _existing(tx: Transaction, ids: Sequence[int]) -> set[int]:
    rows = await tx.fetch("SELECT id FROM destinations WHERE id = ANY($1::bigint[])", list(ids))
    return {int(row[0]) for row in rows}


async def _destinations(tx: Transaction, ids: Sequence[int]) -> dict[int, Place]:
    rows = await tx.fetch(
        f"SELECT {DESTINATION_COLUMNS} FROM destinations WHERE id = ANY($1::bigint[])", list(ids)
    )
    return dict(place_from_row(row) for row in rows)
