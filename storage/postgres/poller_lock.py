"""The poller lock on PostgreSQL: a session-level advisory lock on a connection of its own.

`pg_try_advisory_lock` never waits; the lock belongs to the server session and is released by
the server when that session ends — a clean exit, a SIGKILL of the poller (the kernel closes its
socket) or, for a host that vanished, TCP keepalives that give up on the connection (set short
here: a standby takes over within about half a minute instead of the OS's two hours).

The key is per schema (the URL's `search_path`), not per database: two deployments sharing a
database in different schemas have a poller each.
"""

from __future__ import annotations

import asyncio
import os
import zlib
from typing import Final

import asyncpg  # type: ignore[import-untyped]

# "Still alive?" questions to the lock's connection give up after this long (seconds): a stuck
# connection is a lost lock, so the poller stops before a standby may take over.
CHECK_TIMEOUT: Final = 10.0
# Server-side keepalives of the lock's session: a peer silent for 10 s is probed every 5 s, and
# after 3 unanswered probes the session (and the lock) ends.
KEEPALIVES: Final = {
    "tcp_keepalives_idle": "10",
    "tcp_keepalives_interval": "5",
    "tcp_keepalives_count": "3",
}


def lock_key(schema: str) -> int:
    """A signed 64-bit key for `pg_try_advisory_lock(bigint)`, stable across processes."""
    return zlib.crc32(f"top10bot.poller:{schema}".encode()) - 2**31


class AdvisoryPollerLock:
    """Implements bot.poll_leader.PollerLock on one dedicated asyncpg connection."""

    def __init__(self, url: str, *, check_timeout: float = CHECK_TIMEOUT) -> None:
        self._url = url
        self._check_timeout = check_timeout
        self._connection: asyncpg.Connection | None = None
        self._schema = "?"

    @property
    def description(self) -> str:
        return f"PostgreSQL advisory lock, schema {self._schema}"

    async def try_acquire(self) -> bool:
        if self._connection is not None and not self._connection.is_closed():
            return await self.still_held()
        # The application name tells an operator which process polls (pg_stat_activity).
        settings = {**KEEPALIVES, "application_name": f"top10bot poller pid {os.getpid()}"}
        connection = await asyncpg.connect(
            self._url, timeout=self._check_timeout, server_settings=settings
        )
        try:
            schema = await connection.fetchval("SELECT current_schema()")
            self._schema = str(schema)
            taken = await connection.fetchval(
                "SELECT pg_try_advisory_lock($1)", lock_key(self._schema)
            )
        except BaseException:
            connection.terminate()
            raise
        if not taken:
            await connection.close()
            return False
        self._connection = connection
        return True

    async def still_held(self) -> bool:
        connection = self._connection
        if connection is None or connection.is_closed():
            return False
        # The session's own advisory locks: empty once someone took the lock away, and an error
        # (or a timeout) once the connection is gone.
        count = await connection.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND pid = pg_backend_pid()",
            timeout=self._check_timeout,
        )
        return bool(count)

    async def release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None or connection.is_closed():
            return
        try:
            # Ending the session releases its advisory locks.
            await asyncio.wait_for(connection.close(), self._check_timeout)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            connection.terminate()
