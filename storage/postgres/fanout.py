"""Queueing deliveries in PostgreSQL: storage/fanout.py's statements in PostgreSQL's spelling."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from storage.fanout import ACTIVE_FILTERS_PAGE, DeliveryRow, Fanout
from storage.postgres.connection import Database, Transaction
from storage.postgres.events import events_by_id

# Rows per transaction. Readers never wait on PostgreSQL's writers; the bound is for the event
# loop, which encodes each chunk's parameters in one go.
CHUNK_ROWS = 20_000

# A destination with two matching subscriptions still gets one row (the unique key).
_QUEUE = """
INSERT INTO deliveries (event_id, destination_id, platform, status, due_at, created_at,
                        updated_at)
SELECT event_id, destination_id, platform, 'pending', $4, $4, $4
FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS wanted (event_id, destination_id, platform)
ON CONFLICT (destination_id, event_id) DO NOTHING
"""
_FILTERS = ACTIVE_FILTERS_PAGE.format(after="$1", limit="$2")


class PostgresFanout(Fanout):
    def __init__(self, db: Database) -> None:
        super().__init__(db, CHUNK_ROWS, events_by_id)
        self._database = db

    async def filter_page(self, after: int, limit: int) -> Sequence[Sequence[Any]]:
        return await self._database.read(_FILTERS, after, limit)

    async def insert(self, tx: Transaction, rows: Sequence[DeliveryRow], now: str) -> int:
        event_ids, destination_ids, platforms = zip(*rows, strict=True)
        return await tx.execute(
            _QUEUE, list(event_ids), list(destination_ids), list(platforms), now
        )

    async def mark(self, tx: Transaction, event_ids: Sequence[int]) -> None:
        await tx.execute(
            "INSERT INTO unqueued_events (event_id) SELECT unnest($1::bigint[])"
            " ON CONFLICT DO NOTHING",
            list(event_ids),
        )

    async def unmark(self, tx: Transaction, event_ids: Sequence[int]) -> None:
        await tx.execute(
            "DELETE FROM unqueued_events WHERE event_id = ANY($1::bigint[])", list(event_ids)
        )
