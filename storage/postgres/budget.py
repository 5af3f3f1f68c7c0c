"""The sending budget every sender of one PostgreSQL database shares (bot.ports.SendBudget).

One row per bucket in the unlogged table send_budget (migration 0011): a platform's overall
ceiling and each chat's, as the theoretical arrival time of the next message (GCRA, a leaky
bucket in one number) in seconds of the server's clock, which every sender reads alike. Taking
a turn is one call of send_budget_take(): one round trip, the rows locked in key order only while
it runs, no WAL written.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from bot.ports import Bucket, Turn
from storage.postgres.connection import Database

# Buckets idle this long are deleted (an idle bucket and a missing one are the same), every so
# often: chats' buckets would otherwise pile up, one per chat ever sent to.
IDLE_SECONDS = 600.0
CLEAN_EVERY_SECONDS = 60.0


class PostgresSendBudget:
    """Turns taken in the send_budget table of the backend's database."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._cleaned_at = time.monotonic()

    async def take(self, overall: Bucket, chat: Sequence[Bucket]) -> Turn:
        buckets = [overall, *chat]
        rows = await self._db.read(
            "SELECT granted, wait, chat_busy"
            " FROM send_budget_take($1::text[], $2::float8[], $3::int[])",
            [bucket.key for bucket in buckets],
            [bucket.interval for bucket in buckets],
            [bucket.burst for bucket in buckets],
        )
        await self._clean()
        granted, wait, chat_busy = rows[0]
        return Turn(bool(granted), max(0.0, float(wait)), bool(chat_busy))

    async def pause(self, overall: Bucket, seconds: float) -> None:
        # The next message may go once the pause is over: its arrival time is set past it by
        # the bucket's burst allowance.
        await self._db.execute(
            "INSERT INTO send_budget (key, tat)"
            " VALUES ($1, extract(epoch FROM clock_timestamp()) + $2 + $3)"
            " ON CONFLICT (key) DO UPDATE SET tat = greatest(send_budget.tat, excluded.tat)",
            overall.key,
            seconds,
            (overall.burst - 1) * overall.interval,
        )

    async def _clean(self) -> None:
        if time.monotonic() - self._cleaned_at < CLEAN_EVERY_SECONDS:
            return
        self._cleaned_at = time.monotonic()
        await self._db.execute(
            "DELETE FROM send_budget WHERE tat < extract(epoch FROM clock_timestamp()) - $1",
            IDLE_SECONDS,
        )
