"""The asyncpg pool every PostgreSQL store shares, and the one way to run a transaction on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

# asyncpg ships no type information; its objects are Any here.
import asyncpg  # type: ignore[import-untyped]

from bot.ports import StorageRefused

# A bot runs a poller, a sender and chat commands at once; each holds a connection only for one
# statement or one transaction.
POOL_SIZE = 5

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

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

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
        return cls(pool)

    async def close(self) -> None:
        await self._pool.close()

    async def read(self, sql: str, *params: Any) -> list[Row]:
        """One query, outside any transaction."""
        return list(await self._pool.fetch(sql, *params))

    async def execute(self, sql: str, *params: Any) -> int:
        """One statement on its own (atomic by itself); the number of rows it changed."""
        return changed_rows(await self._pool.execute(sql, *params))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """BEGIN … COMMIT on one connection of the pool, rolled back on any error."""
        async with self._pool.acquire() as connection, connection.transaction():
            yield Transaction(connection)
