"""The outbox in PostgreSQL: deliveries (event × destination) and what the sender does with them.

The statements of storage/sqlite/outbox.py in PostgreSQL's spelling: id lists travel as one
array parameter (`= ANY($n)`), and a claim
locks the rows it takes with FOR UPDATE SKIP LOCKED, so that senders sharing the database never
wait on each other's rows nor take the same row twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.events import Event
from bot.ports import ClaimedGroup, DeadLetter, DeliveryCounts
from bot.subscriptions import Destination
from storage import codec
from storage.outbox_rules import (
    COUNTS,
    DEAD_LETTERS,
    DESTINATION_COLUMNS,
    OPEN_ROW_COLUMNS,
    OpenRow,
    Place,
    claimed_groups,
    counts_from_rows,
    dead_letter_from_row,
    open_row,
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

_OPEN = "status IN ('pending', 'failed')"
_CLAIMABLE = f"{_OPEN} AND due_at <= $1 AND claimed_until <= $1"


class PostgresOutbox:
    """The outbox in the backend's database (bot.ports.Outbox)."""

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
                f"SELECT destination_id FROM deliveries WHERE platform = $2 AND {_CLAIMABLE}"
                " ORDER BY due_at, id LIMIT $3 FOR UPDATE SKIP LOCKED",
                now_text,
                platform,
                limit * _ROWS_PER_DESTINATION,
            )
            destination_ids = list(dict.fromkeys(int(row[0]) for row in due))[:limit]
            if not destination_ids:
                return []
            rows = await tx.fetch(
                f"SELECT {OPEN_ROW_COLUMNS} FROM deliveries"
                f" WHERE destination_id = ANY($2::bigint[]) AND {_CLAIMABLE}"
                " FOR UPDATE SKIP LOCKED",
                now_text,
                destination_ids,
            )
            events = await self._events(tx, {int(row[5]) for row in rows})
            rows_by_destination: dict[int, list[OpenRow]] = {}
            for row in rows:
                found = open_row(row, events)
                rows_by_destination.setdefault(found.destination_key, []).append(found)
            places = await _destinations(tx, destination_ids)
            groups = claimed_groups(platform, destination_ids, rows_by_destination, places)
            claimed = [(group.group_id, row.id) for group in groups for row in group.deliveries]
            await tx.execute(
                "UPDATE deliveries AS d SET claimed_until = $1, group_id = claimed.group_id"
                " FROM unnest($2::bigint[], $3::bigint[]) AS claimed (group_id, id)"
                " WHERE d.id = claimed.id",
                until_text,
                [group_id for group_id, _ in claimed],
                [row_id for _, row_id in claimed],
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

    async def extend_lease(self, ids: Sequence[int], until: datetime) -> None:
        # A released row has an empty lease ('') and stays released.
        await self._update("claimed_until = $2", ids, codec.encode_time(until), only_claimed=True)

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
    ) -> None:
        await self._update(
            "status = 'failed', attempts = attempts + 1, uncertain = uncertain + $2,"
            " due_at = $3, claimed_until = '', last_error = $4, updated_at = $5",
            ids,
            int(uncertain),
            codec.encode_time(retry_at),
            reason,
            codec.encode_time(now),
        )

    async def mark_dead(self, ids: Sequence[int], now: datetime, reason: str) -> None:
        await self._update(
            "status = 'dead', claimed_until = '', last_error = $2, updated_at = $3",
            ids,
            reason,
            codec.encode_time(now),
        )

    async def postpone(self, ids: Sequence[int], until: datetime, *, regroup: bool = False) -> None:
        group = "NULL" if regroup else "group_id"
        await self._update(
            f"due_at = $2, claimed_until = '', group_id = {group}", ids, codec.encode_time(until)
        )

    async def _update(
        self, assignments: str, ids: Sequence[int], *values: Any, only_claimed: bool = False
    ) -> None:
        """One UPDATE of the open rows among `ids` ($1); `values` are $2, $3, …"""
        claimed = " AND claimed_until <> ''" if only_claimed else ""
        if ids:
            await self._db.execute(
                "UPDATE deliveries SET"
                f" {assignments} WHERE id = ANY($1::bigint[]) AND {_OPEN}{claimed}",
                list(ids),
                *values,
            )

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

    async def dead_letters(self, limit: int = 20) -> list[DeadLetter]:
        rows = await self._db.read(f"{DEAD_LETTERS} LIMIT $1", codec.check_limit(limit))
        return [dead_letter_from_row(row) for row in rows]

    async def requeue_dead(self, now: datetime) -> int:
        # A fresh group: the next attempt is a new message for Discord's nonce, which is right,
        # since the dead message was (as far as anyone knows) never delivered.
        return await self._db.execute(
            "UPDATE deliveries SET status = 'pending', attempts = 0, uncertain = 0,"
            " due_at = $1, claimed_until = '', group_id = NULL, updated_at = $1"
            " WHERE status = 'dead'",
            codec.encode_time(now),
        )


async def _destinations(tx: Transaction, ids: Sequence[int]) -> dict[int, Place]:
    rows = await tx.fetch(
        f"SELECT {DESTINATION_COLUMNS} FROM destinations WHERE id = ANY($1::bigint[])", list(ids)
    )
    return dict(place_from_row(row) for row in rows)
