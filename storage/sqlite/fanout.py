"""Queueing deliveries in SQLite: storage/fanout.py's statements in SQLite's spelling."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from storage.fanout import DeliveryRow, Fanout
from storage.fanout_chunks import ACTIVE_FILTERS_PAGE, FilterRow
from storage.sqlite.connection import Database, Transaction, chunks, marks
from storage.sqlite.events import events_by_id

# Rows per transaction: SQLite has one writer, and each chunk holds it (and the connection every
# command reads through) for its inserts only: 2,500 rows are a few tens of milliseconds.
CHUNK_ROWS = 2_500

# Rows per INSERT statement: one statement per row costs Python's sqlite3 module as much as the
# insert itself; 100 rows a statement halved the time to queue 600,000. 1 + 3 × 100 parameters:
# under the 999 of SQLite builds before 3.32.
ROWS_PER_STATEMENT = 100


def _queue(rows: int) -> str:
    """An INSERT of `rows` deliveries: ?1 is the time, then (event, destination, platform) each.
    A destination with two matching subscriptions still gets one row (the unique key)."""
    values = ", ".join(
        f"(?{3 * k + 2}, ?{3 * k + 3}, ?{3 * k + 4}, 'pending', ?1, ?1, ?1)" for k in range(rows)
    )
    return (
        "INSERT INTO deliveries (event_id, destination_id, platform, status, due_at, created_at,"
        f" updated_at) VALUES {values} ON CONFLICT (destination_id, event_id) DO NOTHING"
    )


_QUEUE_MANY = _queue(ROWS_PER_STATEMENT)
_QUEUE_ONE = _queue(1)
_FILTERS = ACTIVE_FILTERS_PAGE.format(ids="group_concat(d.id)", low="?", high="?")


class SqliteFanout(Fanout):
    def __init__(self, db: Database) -> None:
        super().__init__(db, events_by_id, chunk_rows=CHUNK_ROWS, parallel=1)
        self._database = db

    async def filter_page(self, low: int, high: int) -> list[FilterRow]:
        rows = await self._database.read(_FILTERS, (low, high))
        return [(*row[:8], [int(text) for text in row[8].split(",")]) for row in rows]

    async def insert(
        self, tx: Transaction, rows: Sequence[DeliveryRow], now: str, *, fresh: bool = False
    ) -> int:
        whole = len(rows) - len(rows) % ROWS_PER_STATEMENT
        statements = [
            [now, *itertools.chain.from_iterable(rows[start : start + ROWS_PER_STATEMENT])]
            for start in range(0, whole, ROWS_PER_STATEMENT)
        ]
        inserted = await tx.executemany(_QUEUE_MANY, statements) if statements else 0
        if whole < len(rows):
            inserted += await tx.executemany(_QUEUE_ONE, [(now, *row) for row in rows[whole:]])
        return inserted

    async def mark(self, tx: Transaction, event_ids: Sequence[int]) -> None:
        await tx.executemany(
            "INSERT INTO unqueued_events (event_id) VALUES (?) ON CONFLICT DO NOTHING",
            [(event_id,) for event_id in event_ids],
        )

    async def unmark(self, tx: Transaction, event_ids: Sequence[int]) -> None:
        for chunk in chunks(event_ids):
            await tx.execute(
                f"DELETE FROM unqueued_events WHERE event_id IN ({marks(len(chunk))})", chunk
            )
