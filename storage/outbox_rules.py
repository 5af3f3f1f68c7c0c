"""Rules every outbox store follows, so that they group and order deliveries the same way, and
how the SQL stores (SQLite, PostgreSQL: the same columns) read their rows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from bot.events import Event
from bot.ports import ClaimedGroup, DeadLetter, Delivery, DeliveryBacklog, DeliveryCounts
from bot.subscriptions import ChatSettings, Destination
from storage import codec
from storage.rows import SETTINGS_COLUMNS, settings_from_row

# The rows of one burst share their queueing time.
_decode_time = lru_cache(maxsize=1024)(codec.decode_time)


@dataclass(frozen=True, slots=True)
class OpenRow:
    """An open delivery as a claim sees it."""

    id: int
    destination_key: Any
    group_id: int | None
    delivery: Delivery


def choose_group(rows: Sequence[OpenRow]) -> tuple[int, list[OpenRow]]:
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


# What a claim reads of an open delivery (open_row) and of its destination (place_from_row).
OPEN_ROW_COLUMNS = "id, destination_id, group_id, attempts, uncertain, event_id, created_at"
# The recorded rows of the groups a claim resumes (the deliveries_done_by_group index); the caller
# adds its group_id condition.
DONE_ROWS = f"SELECT {OPEN_ROW_COLUMNS} FROM deliveries WHERE status IN ('sent', 'dead')"


def pinned_groups(rows_by_destination: Mapping[Any, Sequence[OpenRow]]) -> list[int]:
    """The groups claimed before among a claim's open rows: digests being resumed, whose recorded
    rows the claim reads too (ClaimedGroup.done)."""
    return sorted(
        {
            int(row.group_id)
            for rows in rows_by_destination.values()
            for row in rows
            if row.group_id is not None
        }
    )


def done_by_group(rows: Iterable[OpenRow]) -> dict[int, list[Delivery]]:
    """Recorded rows (read with OPEN_ROW_COLUMNS) by their group."""
    found: dict[int, list[Delivery]] = {}
    for row in rows:
        if row.group_id is not None:
            found.setdefault(int(row.group_id), []).append(row.delivery)
    return found


DESTINATION_COLUMNS = "id, platform, chat_id, thread_id, active, inactive_reason, " + ", ".join(
    SETTINGS_COLUMNS
)
# Newest first; the caller adds its LIMIT (dead_letter_from_row).
DEAD_LETTERS = """
SELECT d.id, d.platform, coalesce(t.chat_id, '#' || d.destination_id), coalesce(t.thread_id, ''),
       e.key, d.attempts, d.last_error, d.updated_at
FROM deliveries AS d JOIN events AS e ON e.id = d.event_id
LEFT JOIN destinations AS t ON t.id = d.destination_id
WHERE d.status = 'dead' ORDER BY d.updated_at DESC, d.id DESC
"""
# Every row ever queued, by status: a scan of the whole history (`deliveries status` only).
COUNTS = "SELECT status, count(*), sum(uncertain) FROM deliveries GROUP BY status"
# The backlog from partial indexes alone, never the table: a scan of the history (tens of millions
# of rows after a year of a large bot) takes seconds, on SQLite under the one read lock every
# chat command waits for (bench/outbox_counts.py). Each WHERE clause is its indexes' predicate
# word for word: SQLite's planner matches a partial index's predicate as written. Open rows:
# deliveries_due, deliveries_open_by_destination; failed ones: deliveries_failed (0015); dead
# ones: deliveries_dead. Pending = open - failed.
# tests/integration/test_outbox_plans.py checks the plans of both SQL stores.
BACKLOG_OPEN = "SELECT count(*) FROM deliveries WHERE status IN ('pending', 'failed')"
BACKLOG_FAILED = "SELECT count(*) FROM deliveries WHERE status = 'failed'"
BACKLOG_DEAD = "SELECT count(*) FROM deliveries WHERE status = 'dead'"
# One statement: one snapshot, and on SQLite one turn of its connection lock.
BACKLOG = f"SELECT ({BACKLOG_OPEN}), ({BACKLOG_FAILED}), ({BACKLOG_DEAD})"


@dataclass(frozen=True, slots=True)
class Place:
    """A destination as a claim hands it to the sender."""

    destination: Destination
    settings: ChatSettings
    active: bool
    reason: str


def open_row(row: Sequence[Any], events: Mapping[int, Event]) -> OpenRow:
    """An OpenRow from a row of OPEN_ROW_COLUMNS; `events` holds its event by id."""
    delivery = Delivery(
        id=int(row[0]),
        event=events[int(row[5])],
        attempts=int(row[3]),
        uncertain=int(row[4]),
        queued_at=_decode_time(row[6]),
    )
    return OpenRow(delivery.id, int(row[1]), row[2], delivery)


def place_from_row(row: Sequence[Any]) -> tuple[int, Place]:
    """A destination's id and Place from a row of DESTINATION_COLUMNS."""
    return int(row[0]), Place(
        Destination(row[1], row[2], row[3] or None),
        settings_from_row(row[6:]),
        bool(row[4]),
        row[5],
    )


def claimed_groups(
    platform: str,
    destination_ids: Sequence[int],
    rows_by_destination: Mapping[int, Sequence[OpenRow]],
    places: Mapping[int, Place],
    done: Mapping[int, Sequence[Delivery]] | None = None,
) -> list[ClaimedGroup]:
    """The group each destination's open rows make (choose_group), in `destination_ids` order,
    with the rows of that group recorded before (`done`, by group id).

    A row whose destination row was deleted has nowhere to go: its group is inactive, so the
    sender makes it a dead letter.
    """
    groups: list[ClaimedGroup] = []
    for destination_id in destination_ids:
        open_rows = rows_by_destination.get(destination_id)
        if not open_rows:
            continue
        group_id, chosen = choose_group(open_rows)
        place = places.get(destination_id) or Place(
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
                deliveries=tuple(row.delivery for row in sorted(chosen, key=lambda r: r.id)),
                done=tuple(sorted((done or {}).get(group_id, ()), key=lambda d: d.id)),
            )
        )
    return groups


def counts_from_rows(rows: Iterable[Sequence[Any]]) -> DeliveryCounts:
    """DeliveryCounts from the rows of COUNTS."""
    rows = list(rows)
    by_status = {row[0]: int(row[1]) for row in rows}
    return DeliveryCounts(
        pending=by_status.get("pending", 0),
        failed=by_status.get("failed", 0),
        sent=by_status.get("sent", 0),
        dead=by_status.get("dead", 0),
        uncertain=sum(int(row[2] or 0) for row in rows),
    )


def backlog_from_row(row: Sequence[Any]) -> DeliveryBacklog:
    """DeliveryBacklog from the row of BACKLOG (open, failed, dead)."""
    open_rows, failed, dead = (int(value) for value in row)
    return DeliveryBacklog(pending=open_rows - failed, failed=failed, dead=dead)


def dead_letter_from_row(row: Sequence[Any]) -> DeadLetter:
    """A DeadLetter from a row of DEAD_LETTERS."""
    return DeadLetter(
        id=int(row[0]),
        destination=Destination(row[1], row[2], row[3] or None),
        event_key=row[4],
        attempts=int(row[5]),
        reason=row[6],
        updated_at=codec.decode_time(row[7]),
    )
