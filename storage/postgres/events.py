"""Events in PostgreSQL: one row each, identified by the database (id) and by their key (UNIQUE)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.events import Event
from storage import codec
from storage.postgres.connection import Database, Transaction

_COLUMNS = ", ".join(codec.EVENT_COLUMNS)
EVENT_COLUMNS = f"{_COLUMNS}, data"
_ARRAYS = ", ".join(f"${number}::text[]" for number in range(1, len(codec.EVENT_COLUMNS) + 2))

# A key already stored is the database's to refuse: the unique index decides, not a read before,
# and RETURNING names the rows this statement inserted (never one another process stored
# meanwhile). Ids follow the batch's order (WITH ORDINALITY), as they do in SQLite.
_INSERT_EVENTS = f"""
INSERT INTO events ({EVENT_COLUMNS})
SELECT {EVENT_COLUMNS} FROM unnest({_ARRAYS}) WITH ORDINALITY AS batch ({EVENT_COLUMNS}, place)
ORDER BY place
ON CONFLICT (key) DO NOTHING
RETURNING key, id
"""


async def write_events(tx: Transaction, events: Sequence[Event]) -> list[tuple[int, Event]]:
    """Store the events whose keys are not stored yet; the new ones with their ids, in order."""
    events = codec.first_per_key(events)
    if not events:
        return []
    columns = list(zip(*(codec.event_row(event) for event in events), strict=True))
    rows = await tx.fetch(_INSERT_EVENTS, *(list(column) for column in columns))
    ids = {str(row[0]): int(row[1]) for row in rows}
    return [(ids[event.key], event) for event in events if event.key in ids]


async def events_by_id(tx: Transaction, ids: Iterable[int]) -> dict[int, Event]:
    """The stored events with these ids."""
    rows = await tx.fetch(
        f"SELECT id, {EVENT_COLUMNS} FROM events WHERE id = ANY($1::bigint[])", sorted(set(ids))
    )
    return {int(row[0]): codec.event_from_row(row[1:]) for row in rows}


async def recent_events(db: Database, limit: int, title_id: str | None) -> list[Event]:
    """Newest first (ids grow with storage order)."""
    codec.check_limit(limit)
    if title_id is None:
        rows = await db.read(f"SELECT {EVENT_COLUMNS} FROM events ORDER BY id DESC LIMIT $1", limit)
    else:
        rows = await db.read(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE title_id = $1 ORDER BY id DESC LIMIT $2",
            title_id,
            limit,
        )
    return [codec.event_from_row(row) for row in rows]
