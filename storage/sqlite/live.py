"""Live messages in SQLite (bot.live_store.LiveStore). A claim runs in one BEGIN IMMEDIATE
transaction, so two processes sharing the file never claim the same row."""

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
from storage.rows import destination_params
from storage.sqlite.connection import Database, Transaction
from storage.sqlite.subscriptions import ensure_destination

_KEY = key_match("?????")
_LIVE_KEY = key_match("?????", "l.")
_DESTINATION = "d.platform = ? AND d.chat_id = ? AND d.thread_id = ?"
_CLAIM = CLAIM.format("?", "?", "?")
_SHOWN = SHOWN.format(*"?????")
_FAILED = FAILED.format(*"?????")


class SqliteLiveStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def start_live(
        self, destination: Destination, key: ChartKey, now: datetime, *, limit: int
    ) -> tuple[LiveStart, LiveMessage | None]:
        now_text = codec.encode_time(now)
        async with self._db.transaction() as tx:
            shown_again = await tx.execute(
                "UPDATE live_messages SET period = NULL, due_at = ?, attempts = 0, updated_at = ?"
                " WHERE destination_id = (SELECT id FROM destinations AS d"
                f" WHERE {_DESTINATION}) AND {_KEY}",
                (now_text, now_text, *destination_params(destination), *key_params(key)),
            )
            if not shown_again:
                rows = await tx.fetch(
                    f"SELECT count(*) {FROM_LIVE} WHERE d.platform = ? AND d.chat_id = ?",
                    (destination.platform, destination.chat_id),
                )
                if int(rows[0][0]) >= limit:
                    return LiveStart.FULL, None
            destination_id = await ensure_destination(tx, destination, now_text, reactivate=True)
            if not shown_again:
                await tx.execute(
                    f"INSERT INTO live_messages ({INSERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?,"
                    " ?, ?, ?)",
                    (destination_id, destination.platform, *key_params(key), *[now_text] * 3),
                )
            found = await _live(tx, destination, key)
        return (LiveStart.EXISTING if shown_again else LiveStart.STARTED), found

    async def stop_live(self, destination: Destination, keys: Sequence[ChartKey] | None) -> int:
        owner = f"destination_id = (SELECT id FROM destinations AS d WHERE {_DESTINATION})"
        params = destination_params(destination)
        async with self._db.transaction() as tx:
            if keys is None:
                return await tx.execute(f"DELETE FROM live_messages WHERE {owner}", params)
            stopped = 0
            for key in keys:
                stopped += await tx.execute(
                    f"DELETE FROM live_messages WHERE {owner} AND {_KEY}",
                    (*params, *key_params(key)),
                )
            return stopped

    async def live_of(self, destination: Destination) -> list[LiveMessage]:
        rows = await self._db.read(
            f"SELECT {LIVE_COLUMNS} {FROM_LIVE} WHERE {_DESTINATION} ORDER BY l.id",
            destination_params(destination),
        )
        return [live_from_row(row) for row in rows]

    async def claim_live(
        self, platform: str, now: datetime, lease: timedelta, limit: int
    ) -> list[LiveClaim]:
        if limit <= 0:
            return []
        now_text = codec.encode_time(now)
        async with self._db.transaction() as tx:
            rows = await tx.fetch(_CLAIM, (platform, now_text, now_text, limit))
            claims = [claim_from_row(row) for row in rows]
            await tx.executemany(
                "UPDATE live_messages SET claimed_until = ? WHERE id = ?",
                [(codec.encode_time(now + lease), claim.live.id) for claim in claims],
            )
        return claims

    async def live_shown(
        self, live_id: int, message_id: str | None, period: date, now: datetime, error: str = ""
    ) -> None:
        await self._db.execute(_SHOWN, shown_params(live_id, message_id, period, now, error))

    async def live_failed(
        self, live_id: int, now: datetime, retry_at: datetime, reason: str, *, count: bool = True
    ) -> None:
        await self._db.execute(_FAILED, failed_params(live_id, now, retry_at, reason, count))


async def _live(tx: Transaction, destination: Destination, key: ChartKey) -> LiveMessage:
    rows = await tx.fetch(
        f"SELECT {LIVE_COLUMNS} {FROM_LIVE} WHERE {_DESTINATION} AND {_LIVE_KEY}",
        (*destination_params(destination), *key_params(key)),
    )
    return live_from_row(rows[0])
