"""What the SQL stores (SQLite, PostgreSQL) share about live messages: which rows are due, and how
a row reads back. They differ only in their placeholders and in how a claim locks.

A live message is due while its chart has a newer accepted period than the one it shows, or it
shows nothing yet (never posted, or asked to be shown again): the charts table is the queue. (A
period given up on counts as shown: a message never posted is posted with the next one.)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from bot.live_store import LiveClaim, LiveMessage
from bot.models import ChartKey
from bot.subscriptions import Destination
from storage import codec

# `l` is live_messages, `d` its destination.
LIVE_COLUMNS = (
    "l.id, d.platform, d.chat_id, d.thread_id, l.source, l.service, l.region, l.category,"
    " l.granularity, l.message_id, l.period"
)
# The newest accepted period of the row's chart (the charts' unique index answers it).
LATEST_PERIOD = (
    "(SELECT max(c.period) FROM charts AS c WHERE c.source = l.source AND c.service = l.service"
    " AND c.region = l.region AND c.category = l.category AND c.granularity = l.granularity)"
)
DUE = f"{LATEST_PERIOD} IS NOT NULL AND (l.period IS NULL OR l.period < {LATEST_PERIOD})"
FROM_LIVE = "FROM live_messages AS l JOIN destinations AS d ON d.id = l.destination_id"
# A claim's columns: LIVE_COLUMNS, the attempts and the latest period.
CLAIM_COLUMNS = f"{LIVE_COLUMNS}, l.attempts, {LATEST_PERIOD}"
# The columns an INSERT names, and those a moved destination's rows copy (its id aside).
INSERT_COLUMNS = (
    "destination_id, platform, source, service, region, category, granularity, due_at,"
    " created_at, updated_at"
)
COPIED_COLUMNS = (
    "platform, source, service, region, category, granularity, message_id, period, due_at,"
    " created_at, updated_at"
)


# Statements whose placeholders each dialect fills in ({0}, {1} …: "?" or "$n").
CLAIM = (
    f"SELECT {CLAIM_COLUMNS} {FROM_LIVE} WHERE l.platform = {{0}} AND l.due_at <= {{1}}"
    f" AND l.claimed_until <= {{1}} AND d.active = 1 AND {DUE} ORDER BY l.due_at, l.id"
    " LIMIT {2}"
)
SHOWN = (
    "UPDATE live_messages SET message_id = coalesce({0}, message_id), period = {1},"
    " claimed_until = '', attempts = 0, last_error = {2}, updated_at = {3} WHERE id = {4}"
)
FAILED = (
    "UPDATE live_messages SET claimed_until = '', due_at = {0}, attempts = attempts + {1},"
    " last_error = {2}, updated_at = {3} WHERE id = {4}"
)


def shown_params(
    live_id: int, message_id: str | None, period: date, now: datetime, error: str
) -> tuple[Any, ...]:
    """The values of SHOWN, in order."""
    return (message_id, period.isoformat(), error, codec.encode_time(now), live_id)


def failed_params(
    live_id: int, now: datetime, retry_at: datetime, reason: str, count: bool
) -> tuple[Any, ...]:
    """The values of FAILED, in order."""
    return (codec.encode_time(retry_at), int(count), reason, codec.encode_time(now), live_id)


def key_match(marks: Sequence[str], prefix: str = "") -> str:
    """`source = ? AND service = ? …` with these placeholders, columns prefixed (`l.`)."""
    columns = ("source", "service", "region", "category", "granularity")
    return " AND ".join(f"{prefix}{c} = {m}" for c, m in zip(columns, marks, strict=True))


def key_params(key: ChartKey) -> tuple[str, str, str, str, str]:
    return codec.key_columns(key)


def live_from_row(row: Sequence[Any]) -> LiveMessage:
    """A LiveMessage from a row of LIVE_COLUMNS."""
    return LiveMessage(
        id=int(row[0]),
        destination=Destination(row[1], row[2], row[3] or None),
        key=codec.key_from_columns(*row[4:9]),
        message_id=row[9],
        period=date.fromisoformat(row[10]) if row[10] else None,
    )


def claim_from_row(row: Sequence[Any]) -> LiveClaim:
    """A LiveClaim from a row of CLAIM_COLUMNS."""
    return LiveClaim(live_from_row(row), date.fromisoformat(row[12]), int(row[11]))
