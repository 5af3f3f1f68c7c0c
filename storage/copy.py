"""Copy a whole deployment from one database to another (`top10bot db copy SRC DST`): SQLite to
PostgreSQL and back, every row of every table as it is stored, ids included.

Both backends store the same encodings in tables of the same names and columns (a schema version
names the same tables on both), so rows travel as they are: nothing is decoded or re-encoded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from bot.ports import Backend, StorageRefused
from storage.memory import MemoryBackend
from storage.sqlite import SqliteBackend

if TYPE_CHECKING:
    from storage.postgres import PostgresBackend

# Rows read and written per statement batch: a few MB of chart entries at most.
PAGE_SIZE = 2000


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    # The columns a page of rows is read in order of (a primary key); none: one read (titles,
    # a few thousand rows, have no key but an expression index).
    key: tuple[str, ...]


# Every table of the schema but schema_version (the target's migrations fill it), parents before
# the children whose foreign keys point at them.
TABLES = (
    Table("meta", ("name",)),
    Table("charts", ("id",)),
    Table("chart_keys", ("source", "service", "region", "category", "granularity")),
    Table("title_ranks", ("chart_id", "position")),
    Table(
        "rank_tallies",
        ("title_id", "source", "service", "region", "category", "granularity", "rank"),
    ),
    Table("titles", ()),
    Table("rejections", ("id",)),
    Table("chart_state", ("source", "service", "region", "category", "granularity")),
    Table("family_state", ("source", "service", "category", "granularity")),
    Table("events", ("id",)),
    # Events whose deliveries are still being queued: the target finishes them (storage/fanout).
    Table("unqueued_events", ("event_id",)),
    Table("destinations", ("id",)),
    Table("subscriptions", ("id",)),
    Table("deliveries", ("id",)),
    Table("live_messages", ("id",)),
)
# Pacing state of the running senders: meaningless in another deployment. The titles' version
# number is the target's own: its triggers count the titles the copy adds.
_NOT_COPIED = frozenset({"schema_version", "send_budget", "titles_version"})


class CopyRefused(StorageRefused):
    """The copy cannot start (nothing was written)."""


class _Writer(Protocol):
    """The target's transaction."""

    async def execute(self, sql: str) -> int: ...

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any: ...


class _End(Protocol):
    """One database as the copy sees it: its dialect's spelling of a few questions."""

    def mark(self, number: int) -> str: ...

    async def tables(self) -> set[str]: ...

    async def columns(self, table: str) -> list[str]: ...

    async def fetch(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]: ...

    def transaction(self) -> AbstractAsyncContextManager[_Writer]: ...

    async def after_copy(self, writer: _Writer) -> None: ...


class _SqliteEnd:
    def __init__(self, backend: SqliteBackend) -> None:
        self._db = backend.database

    def mark(self, number: int) -> str:
        return "?"

    async def tables(self) -> set[str]:
        rows = await self._db.read(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
        return {str(row[0]) for row in rows}

    async def columns(self, table: str) -> list[str]:
        return [str(row[1]) for row in await self._db.read(f"PRAGMA table_info({table})")]

    async def fetch(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in await self._db.read(sql, params)]

    def transaction(self) -> AbstractAsyncContextManager[_Writer]:
        return self._db.transaction()

    async def after_copy(self, writer: _Writer) -> None:
        """An INTEGER PRIMARY KEY continues after the largest id by itself."""


class _PostgresEnd:
    def __init__(self, backend: PostgresBackend) -> None:
        self._db = backend.database

    def mark(self, number: int) -> str:
        return f"${number}"

    async def tables(self) -> set[str]:
        rows = await self._db.read(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        )
        return {str(row[0]) for row in rows}

    async def columns(self, table: str) -> list[str]:
        rows = await self._db.read(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
            table,
        )
        return [str(row[0]) for row in rows]

    async def fetch(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in await self._db.read(sql, *params)]

    def transaction(self) -> AbstractAsyncContextManager[_Writer]:
        return self._db.transaction()

    async def after_copy(self, writer: _Writer) -> None:
        """Identity columns were given explicit ids: their sequences continue after the largest,
        or the next insert would collide with a copied row."""
        for table in TABLES:
            if table.key == ("id",):
                await writer.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'),"
                    f" coalesce(max(id), 0) + 1, false) FROM {table.name}"
                )


def _end(backend: Backend) -> _End:
    if isinstance(backend, SqliteBackend):
        return _SqliteEnd(backend)
    refused = CopyRefused("db copy copies between sqlite:// and postgresql:// databases")
    if isinstance(backend, MemoryBackend):
        raise refused
    # Any other backend is a PostgreSQL one, so asyncpg (which this import needs) is installed.
    from storage.postgres import PostgresBackend

    if isinstance(backend, PostgresBackend):
        return _PostgresEnd(backend)
    raise refused


async def _pages(end: _End, table: Table, columns: Sequence[str]) -> AsyncIterator[list[Any]]:
    """Every row of a table, a page at a time, in key order (keyset paging: each page starts
    after the last key of the one before, so a page costs the same at any depth)."""
    listed = ", ".join(columns)
    if not table.key:
        yield await end.fetch(f"SELECT {listed} FROM {table.name}", ())
        return
    key = ", ".join(table.key)
    key_places = [columns.index(column) for column in table.key]
    after: tuple[Any, ...] | None = None
    while True:
        where = ""
        if after is not None:
            marks = ", ".join(end.mark(number) for number in range(1, len(after) + 1))
            where = f" WHERE ({key}) > ({marks})"
        page = await end.fetch(
            f"SELECT {listed} FROM {table.name}{where} ORDER BY {key} LIMIT {PAGE_SIZE}",
            after or (),
        )
        if page:
            yield page
        if len(page) < PAGE_SIZE:
            return
        after = tuple(page[-1][place] for place in key_places)


async def _check_schemas(source: _End, target: _End) -> dict[str, list[str]]:
    """The columns of each table, the same on both sides; a table the copy does not know (a
    migration added it) stops the copy rather than being left behind."""
    known = {table.name for table in TABLES}
    unknown = (await source.tables()) - known - _NOT_COPIED
    if unknown:
        raise CopyRefused(f"db copy does not know the tables {', '.join(sorted(unknown))}")
    columns: dict[str, list[str]] = {}
    for table in TABLES:
        source_columns = await source.columns(table.name)
        if sorted(source_columns) != sorted(await target.columns(table.name)):
            raise CopyRefused(f"table {table.name} has other columns in the target")
        columns[table.name] = source_columns
    return columns


async def _rows_in(end: _End, table: str) -> int:
    rows = await end.fetch(f"SELECT count(*) FROM {table}", ())
    return int(rows[0][0])


async def copy_backend(source: Backend, target: Backend) -> dict[str, int]:
    """Copy every row of `source` into `target`, an empty database at the same schema version
    (both migrated); in one transaction of the target, so a failed copy leaves it empty. Returns
    the rows copied per table."""
    source_end, target_end = _end(source), _end(target)
    source_version, target_version = await source.migrate(), await target.migrate()
    if source_version != target_version:
        raise CopyRefused(
            f"the source is at schema version {source_version}, the target at {target_version}"
        )
    columns = await _check_schemas(source_end, target_end)
    for table in TABLES:
        if await _rows_in(target_end, table.name):
            raise CopyRefused(
                f"the target is not empty (table {table.name} has rows); db copy fills an"
                " empty database only"
            )
    copied: dict[str, int] = {}
    async with target_end.transaction() as writer:
        for table in TABLES:
            listed = columns[table.name]
            marks = ", ".join(target_end.mark(number) for number in range(1, len(listed) + 1))
            insert = f"INSERT INTO {table.name} ({', '.join(listed)}) VALUES ({marks})"
            copied[table.name] = 0
            async for page in _pages(source_end, table, listed):
                await writer.executemany(insert, page)
                copied[table.name] += len(page)
        await target_end.after_copy(writer)
    for table in TABLES:
        if await _rows_in(target_end, table.name) != copied[table.name]:
            raise RuntimeError(f"table {table.name}: the target does not hold every copied row")
    return copied
