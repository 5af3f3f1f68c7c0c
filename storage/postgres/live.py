"""Live messages in PostgreSQL (bot.live_store.LiveStore): the statements of
storage/sqlite/live.py in PostgreSQL's spelling. A claim locks its rows FOR UPDATE SKIP LOCKED,
so senders sharing the database never edit the same message at once; starting one takes a lock
per chat, so two processes cannot both pass the per-chat limit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from bot.live_store import LiveClaim, LiveMessage, LiveStart
from bot.models import ChartKey
from bot.subscriptions import Destination
from storage import codec
from storage.live_rules import (
    CLAIM,
    FAILED,
    FROM_LIVE,
    INSERT_COLUMNS,
    LIVE_COLUMNS,
    SHOWN,
    claim_from_row,
    failed_params,
    key_match,
    key_params,
    live_from_row,
    shown_params,
)
from storage.postgres.connection import Database
from storage.postgres.subscriptions import ensure_destination
from storage.rows import destination_params

_DESTINATION = "d.platform = $1 AND d.chat_id = $2 AND d.thread_id = $3"
# The destination in $1–$3, the chart key in $4–$8.
_KEY = key_match(("$4", "$5", "$6", "$7", "$8"))
_LIVE_KEY = key_match(("$4", "$5", "$6", "$7", "$8"), "l.")
_MARKS = ("$1", "$2", "$3", "$4", "$5")
# Senders sharing the database skip each other's claimed rows instead of waiting for them.
_CLAIM = CLAIM.format(*_MARKS) + " FOR UPDATE OF l SKIP LOCKED"
_SHOWN = SHOWN.format(*_MARKS)
_FAILED = FAILED.format(*_MARKS)
_OWNER = f"destination_id = (SELECT id FROM destinations AS d WHERE {_DESTINATION})"


class PostgresLiveStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def start_live(
        self, destination: Destination, key: ChartKey, now: datetime, *, limit: int
    ) -> tuple[LiveStart, LiveMessage | None]:
        now_text = codec.encode_time(now)
        where = (*destination_params(destination), *key_params(key))
        async with self._db.transaction() as tx:
            await tx.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                f"live:{destination.platform}:{destination.chat_id}",
            )
            shown_again = await tx.execute(
                "UPDATE live_messages SET period = NULL, due_at = $9, attempts = 0,"
                f" updated_at = $9 WHERE {_OWNER} AND {_KEY}",
                *where,
                now_text,
            )
            if not shown_again:
                rows = await tx.fetch(
                    f"SELECT count(*) {FROM_LIVE} WHERE d.platform = $1 AND d.chat_id = $2",
                    destination.platform,
                    destination.chat_id,
                )
                if int(rows[0][0]) >= limit:
                    return LiveStart.FULL, None
            destination_id = await ensure_destination(tx, destination, now_text, reactivate=True)
            if not shown_again:
                await tx.execute(
                    f"INSERT INTO live_messages ({INSERT_COLUMNS})"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $8)",
                    destination_id,
                    destination.platform,
                    *key_params(key),
                    now_text,
                )
            rows = await tx.fetch(
                f"SELECT {LIVE_COLUMNS} {FROM_LIVE} WHERE {_DESTINATION} AND {_LIVE_KEY}", *where
            )
        return (LiveStart.EXISTING if shown_again else LiveStart.STARTED), live_from_row(rows[0])

    async def stop_live(self, destination: Destination, keys: Sequence[ChartKey] | None) -> int:
        params = destination_params(destination)
        if keys is None:
            return await self._db.execute(f"DELETE FROM live_messages WHERE {_OWNER}", *params)
        stopped = 0
        async with self._db.transaction() as tx:
            for key in keys:
                stopped += await tx.execute(
                    f"DELETE FROM live_messages WHERE {_OWNER} AND {_KEY}",
                    *params,
                    *key_params(key),
                )
        return stopped

    async def live_of(self, destination: Destination) -> list[LiveMessage]:
        rows = await self._db.read(
            f"SELECT {LIVE_COLUMNS} {FROM_LIVE} WHERE {_DESTINATION} ORDER BY l.id",
            *destination_params(destination),
        )
        return [live_from_row(row) for row in rows]

    async def claim_live(
        self, platform: str, now: datetime, lease: timedelta, limit: int
    ) -> list[LiveClaim]:
        if limit <= 0:
            return []
        now_text = codec.encode_time(now)
        async with self._db.transaction() as tx:
            rows = await tx.fetch(_CLAIM, platform, now_text, limit)
            claims = [claim_from_row(row) for row in rows]
            if claims:
                await tx.execute(
                    "UPDATE live_messages SET claimed_until = $1 WHERE id = ANY($2::bigint[])",
                    codec.encode_time(now + lease),
                    [claim.live.id for claim in claims],
                )
        return claims

    async def live_shown(
        self, live_id: int, message_id: str | None, period: date, now: datetime, error: str = ""
    ) -> None:
        await self._db.execute(_SHOWN, *shown_params(live_id, message_id, period, now, error))

    async def live_failed(
        self, live_id: int, now: datetime, retry_at: datetime, reason: str, *, count: bool = True
    ) -> None:
        await self._db.execute(_FAILED, *failed_params(live_id, now, retry_at, reason, count))
