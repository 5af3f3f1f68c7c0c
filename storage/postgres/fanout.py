"""Queueing deliveries in PostgreSQL: storage/fanout.py's statements in PostgreSQL's spelling."""

from __future__ import annotations

from collections.abc import Sequence

from storage.fanout import DeliveryRow, Fanout
from storage.fanout_chunks import ACTIVE_FILTERS_PAGE, FilterRow
from storage.postgres.connection import Database, Transaction
from storage.postgres.events import events_by_id
from storage.postgres.outbox import DELIVERIES_QUEUED

# Rows per transaction, and transactions at once. Readers never wait on PostgreSQL's writers;
# the server spends ~8 µs a row copied in (four indexes, the foreign key's check: 40 % of it),
# so two chunks in flight keep two server processes busy while the event loop prepares the next.
# A third in flight gained nothing on two cores.
CHUNK_ROWS = 20_000
PARALLEL = 2
# Rows per COPY statement (see PostgresFanout.insert).
COPY_ROWS = 2_500

# A chunk's rows go straight into deliveries by COPY (binary) when their events were stored by
# this queueing. When some may be there (queue_unfinished finishing an interrupted queueing),
# they are copied into a table of the session that empties at each commit, and inserted from it
# in one statement that skips those present.
_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS queued_deliveries (
    event_id BIGINT NOT NULL, destination_id BIGINT NOT NULL, platform TEXT NOT NULL
) ON COMMIT DELETE ROWS
"""
_STAGED_COLUMNS = ("event_id", "destination_id", "platform")
_DIRECT_COLUMNS = (*_STAGED_COLUMNS, "status", "due_at", "created_at", "updated_at")
_QUEUE = """
INSERT INTO deliveries (event_id, destination_id, platform, status, due_at, created_at,
                        updated_at)
SELECT event_id, destination_id, platform, 'pending', $1, $1, $1 FROM queued_deliveries
ON CONFLICT (destination_id, event_id) DO NOTHING
"""
_FILTERS = ACTIVE_FILTERS_PAGE.format(ids="array_agg(d.id)", low="$1", high="$2")


class PostgresFanout(Fanout):
    def __init__(self, db: Database) -> None:
        super().__init__(db, events_by_id, chunk_rows=CHUNK_ROWS, parallel=PARALLEL)
        self._database = db

    async def filter_page(self, low: int, high: int) -> list[FilterRow]:
        return [tuple(row) for row in await self._database.read(_FILTERS, low, high)]

    async def insert(
        self, tx: Transaction, rows: Sequence[DeliveryRow], now: str, *, fresh: bool = False
    ) -> int:
        if fresh:
            # Rows of events this queueing stored are new (a chunk holds each pair once): copied
            # straight into the table, without staging them (a 613,858-row burst: 7.7 s -> 4.9 s
            # with the matching, bench/match.py). asyncpg encodes a
            # COPY's rows without giving the event loop a turn: a few thousand rows per COPY
            # keep each stretch to milliseconds.
            for start in range(0, len(rows), COPY_ROWS):
                piece = rows[start : start + COPY_ROWS]
                whole = [(*row, "pending", now, now, now) for row in piece]
                await tx.copy_records("deliveries", whole, _DIRECT_COLUMNS)
            inserted = len(rows)
        else:
            # Finishing an interrupted queueing: some rows may be there; only the missing ones
            # go in. One insert per transaction: the staged rows are those of this chunk only.
            await tx.execute(_STAGE)
            await tx.copy_records("queued_deliveries", rows, _STAGED_COLUMNS)
            inserted = await tx.execute(_QUEUE, now)
        if inserted:
            # Heard by the listening senders when (and only if) this transaction commits: each
            # chunk's chats can be sent to while the next chunks are inserted.
            await tx.execute("SELECT pg_notify($1, '')", DELIVERIES_QUEUED)
        return inserted

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
