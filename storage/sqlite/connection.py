"""The SQLite connection every SQLite store shares, and the one way to run a transaction on it."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

# How long a statement waits for another process's write lock (a CLI import beside the bot).
BUSY_TIMEOUT_MS = 5_000
# Bound on "?" parameters per IN (…) list (SQLite builds before 3.32 allow only 999).
PARAMS_PER_QUERY = 500

Row = sqlite3.Row | tuple[Any, ...]


def chunks(items: Sequence[Any], size: int = PARAMS_PER_QUERY) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def marks(count: int) -> str:
    """`?, ?, …` for an IN list of `count` values."""
    return ", ".join("?" * count)


class Transaction:
    """Statements inside an open transaction (see Database.transaction)."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run one statement; the number of rows it changed."""
        cursor = await self._db.execute(sql, params)
        return max(cursor.rowcount, 0)

    async def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> int:
        cursor = await self._db.executemany(sql, rows)
        return max(cursor.rowcount, 0)

    async def fetch(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        return list(await self._db.execute_fetchall(sql, params))


class Database:
    """One aiosqlite connection (SQLite has one writer; a second connection would only wait on
    this one) and the lock its users take turns with, so two operations never share a
    transaction and a read never sees half of one."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str | Path) -> Database:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: sqlite3 opens no implicit transactions; ours are explicit.
        db = await aiosqlite.connect(path, isolation_level=None)
        try:
            await db.execute("PRAGMA journal_mode = WAL")
            # In WAL mode NORMAL still keeps the database consistent after a crash; only the
            # last commits before a power loss may be lost, and the next poll fetches them again.
            await db.execute("PRAGMA synchronous = NORMAL")
            await db.execute("PRAGMA foreign_keys = ON")
            await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        except BaseException:
            await db.close()
            raise
        return cls(db)

    async def close(self) -> None:
        await self._db.close()

    async def read(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        """One query, outside any transaction."""
        async with self._lock:
            return list(await self._db.execute_fetchall(sql, params))

    async def execute_returning(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        """One statement that changes rows and returns some (UPDATE … RETURNING), on its own
        (atomic by itself): no BEGIN/COMMIT round trips."""
        async with self._lock:
            return list(await self._db.execute_fetchall(sql, params))

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """One statement on its own (atomic by itself); the number of rows it changed."""
        async with self._lock:
            cursor = await self._db.execute(sql, params)
            return max(cursor.rowcount, 0)

    @asynccontextmanager
    async def transaction(self, *, foreign_keys_off: bool = False) -> AsyncIterator[Transaction]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on any error, with the lock held throughout.

        IMMEDIATE takes the write lock at BEGIN, so what is read inside (which charts exist,
        the schema version) stays true until COMMIT even when another process writes to the
        same file. `foreign_keys_off` is for a migration that rebuilds a table others refer to:
        the foreign keys are checked before COMMIT instead.
        """
        async with self._lock:
            if foreign_keys_off:
                # Only possible outside a transaction; restored whatever happens below.
                await self._db.execute("PRAGMA foreign_keys = OFF")
            try:
                try:
                    await self._db.execute("BEGIN IMMEDIATE")
                    yield Transaction(self._db)
                    if foreign_keys_off:
                        await _check_foreign_keys(self._db)
                    await self._db.execute("COMMIT")
                except BaseException:
                    # Queued behind anything still running on the connection's thread, so it
                    # undoes exactly this transaction: a cancelled await of BEGIN (or COMMIT)
                    # still runs it there. If BEGIN failed, or COMMIT went through, there is
                    # nothing to roll back.
                    with contextlib.suppress(sqlite3.OperationalError):
                        await self._db.execute("ROLLBACK")
                    raise
            finally:
                if foreign_keys_off:
                    await self._db.execute("PRAGMA foreign_keys = ON")


async def _check_foreign_keys(db: aiosqlite.Connection) -> None:
    broken = list(await db.execute_fetchall("PRAGMA foreign_key_check"))
    if broken:
        raise sqlite3.IntegrityError(
            f"{len(broken)} rows break a foreign key, first in table {broken[0][0]}"
        )
