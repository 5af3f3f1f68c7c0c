"""Events in SQLite: one row each, identified by the database (id) and by their key (UNIQUE)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.events import Event
from storage import codec
from storage.sqlite.connection import Database, Transaction, chunks, marks

_COLUMNS = ", ".join(codec.EVENT_COLUMNS)
EVENT_COLUMNS = f"{_COLUMNS}, data"

# A key already stored is the database's to refuse: the unique index decides, not a read before.
_INSERT_EVENT = f"""
INSERT INTO events ({EVENT_COLUMNS}) VALUES ({marks(len(codec.EVENT_COLUMNS) + 1)})
ON CONFLICT (key) DO NOTHING
"""


async def write_events(tx: Transaction, events: Sequence[Event]) -> list[tuple[int, Event]]:
    """Store the events whose keys are not stored yet; the new ones with their ids, in order.

    The insert skips a stored key by itself; which events were new is read back by key in the
    same transaction (the write lock is held: nothing else can insert one in between).
    """
    events = codec.first_per_key(events)
    keys = [event.key for event in events]
    known = await _ids_of(tx, keys)
    await tx.executemany(
        _INSERT_EVENT, (codec.event_row(event) for event in events if event.key not in known)
    )
    ids = await _ids_of(tx, [key for key in keys if key not in known])
    return [(ids[event.key], event) for event in events if event.key in ids]


async def _ids_of(tx: Transaction, keys: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in chunks(keys):
        rows = await tx.fetch(
            f"SELECT key, id FROM events WHERE key IN ({marks(len(chunk))})", chunk
        )
        found.update((str(row[0]), int(row[1])) for row in rows)
    return found


async def events_by_id(tx: Transaction, ids: Iterable[int]) -> dict[int, Event]:
    """The stored events with these ids."""
    found: dict[int, Event] = {}
    for chunk in chunks(sorted(set(ids))):
        rows = await tx.fetch(
            f"SELECT id, {EVENT_COLUMNS} FROM events WHERE id IN ({marks(len(chunk))})", chunk
        )
        found.update((int(row[0]), codec.event_from_row(row[1:])) for row in rows)
    return found


async def recent_events(db: Database, limit: int, title_id: str | None) -> list[Event]:
    """Newest first (ids grow with storage order)."""
    codec.check_limit(limit)
    if title_id is None:
        rows = await db.read(
            f"SELECT {EVENT_COLUMNS} FROM events ORDER BY id DESC LIMIT ?", (limit,)
        )
    else:
        rows = await db.read(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE title_id = ? ORDER BY id DESC LIMIT ?",
            (title_id, limit),
        )
    return [codec.event_from_row(row) for row in rows]
