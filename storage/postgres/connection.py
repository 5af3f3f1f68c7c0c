"""The asyncpg pool every PostgreSQL store shares, and the one way to run a transaction on it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

# asyncpg ships no type information; its objects are Any here.
import asyncpg  # type: ignore[import-untyped]

from bot.ports import StorageRefused

# A bot runs a poller, a sender and chat commands at once; each holds a connection only for one
# statement or one transaction.
POOL_SIZE = 5

# A lost LISTEN connection is opened again after this long, doubling up to the maximum.
LISTEN_RETRY_SECONDS = 1.0
LISTEN_RETRY_MAX_SECONDS = 30.0

log = logging.getLogger(__name__)

# An asyncpg.Record: indexable by position (and sliceable) like a tuple.
Row = Sequence[Any]


def changed_rows(status: str) -> int:
    """The row count of a command status ("UPDATE 3", "INSERT 0 2", "DELETE 1")."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class Transaction:
    """Statements inside an open transaction (see Database.transaction)."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    async def execute(self, sql: str, *params: Any) -> int:
        """Run one statement; the number of rows it changed."""
        return changed_rows(await self._connection.execute(sql, *params))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """One statement for each row, pipelined (asyncpg reports no row counts here)."""
        await self._connection.executemany(sql, rows)

    async def fetch(self, sql: str, *params: Any) -> list[Row]:
        return list(await self._connection.fetch(sql, *params))

    async def copy_records(
        self, table: str, records: Iterable[Sequence[Any]], columns: Sequence[str]
    ) -> None:
        """COPY rows into a table (binary, one round trip for thousands of rows)."""
        await self._connection.copy_records_to_table(table, records=records, columns=columns)


class Database:
    """A pool of connections to one database (and schema, through the URL's search_path)."""

    def __init__(self, pool: asyncpg.Pool, url: str = "") -> None:
        self._pool = pool
        self._url = url

    @classmethod
    async def open(cls, url: str) -> Database:
        # Parameters the URL's query string carries that asyncpg does not know become server
        # settings: "?search_path=top10bot" puts the tables in that schema (which must exist);
        # "?synchronous_commit=off" lets a commit return before its WAL is on disk, as SQLite's
        # synchronous=NORMAL does (a server crash may lose the last commits, never half of one),
        # and makes a sender's one-statement updates about 3 times faster.
        try:
            pool = await asyncpg.create_pool(url, min_size=1, max_size=POOL_SIZE)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            # Named by host and database only: the URL may carry a password.
            parts = urlsplit(url)
            raise StorageRefused(
                f"cannot open PostgreSQL database {parts.path.lstrip('/')!r} on"
                f" {parts.hostname}:{parts.port or 5432}: {exc}"
            ) from exc
        return cls(pool, url)

    async def close(self) -> None:
        await self._pool.close()

    async def read(self, sql: str, *params: Any) -> list[Row]:
        """One query, outside any transaction."""
        return list(await self._pool.fetch(sql, *params))

    async def execute(self, sql: str, *params: Any) -> int:
        """One statement on its own (atomic by itself); the number of rows it changed."""
        return changed_rows(await self._pool.execute(sql, *params))

    async def listen(self, channel: str, wake: Callable[[], None]) -> None:
        """Until cancelled, call `wake` on every notification on `channel` (LISTEN), on a
        connection of its own: a pooled one would forget its LISTEN when handed back. A lost
        connection is opened again, with growing pauses; `wake` is called on every (re)connection
        too, since a notification sent meanwhile was missed."""
        pause = LISTEN_RETRY_SECONDS
        while True:
            try:
                connection = await asyncpg.connect(self._url)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("cannot listen for %s (%s); again in %.0f s", channel, exc, pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, LISTEN_RETRY_MAX_SECONDS)
                continue
            lost = asyncio.Event()
            connection.add_termination_listener(lambda _connection, lost=lost: lost.set())
            try:
                await connection.add_listener(channel, lambda *_notification: wake())
                pause = LISTEN_RETRY_SECONDS
                wake()
                await lost.wait()
                log.warning("the connection listening for %s was lost; opening another", channel)
            finally:
                connection.terminate()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """BEGIN … COMMIT on one connection of the pool, rolled back on any error."""
        async with self._pool.acquire() as connection, connection.transaction():
            yield Transaction(connection)
