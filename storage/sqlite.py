"""SQLite storage through aiosqlite: one connection (one writer), WAL, raw parameterised SQL."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from bot.events import Event
from bot.models import Chart, ChartKey
from bot.ports import Batch, Family, RankPoint, StateJson, StoredRejection, TitleHit
from storage import codec, sqlite_rows
from storage.schema import Migration, load_migrations

log = logging.getLogger(__name__)

_T = TypeVar("_T")

# How long a statement waits for another process's write lock (a CLI import beside the bot).
BUSY_TIMEOUT_MS = 5_000
# Bound on "?" parameters per query; SQLite builds before 3.32 allow only 999.
_PARAMS_PER_QUERY = 900

PAGE_SIZE = 16_384

_KEY_MATCH = "source = ? AND service = ? AND region = ? AND category = ? AND granularity = ?"
_FAMILY_MATCH = "source = ? AND service = ? AND category = ? AND granularity = ?"
_KEY_ORDER = "source, service, region, category, granularity"

_CHART_COLUMNS = (
    "id, source, service, region, category, granularity, period, expected_size, extra, entries"
)


def _json_rows(columns: int, *, numbered: bool = False, text_at: int | None = None) -> str:
    """A SELECT of `columns` values from each array of the JSON array bound as ?1.

    Bulk writes bind a whole batch as one JSON text: SQLite reads all its rows in C, in one step,
    without the GIL. With executemany, aiosqlite's thread takes the GIL back for every row, so a
    save could not run beside the diff of the next batch (measured: executemany beside a busy
    thread took as long as both one after the other; one statement per table ran alongside).
    `numbered`: the first value is an offset from ?2, for ids handed out in the transaction.
    `text_at`: that column is a long text (a chart's entries, a group's events, themselves
    JSON) kept out of the JSON: the row holds its 1-based byte offset and its length (two
    values) in the UTF-8 bytes bound as ?3 (see _texts_joined). Inside the JSON such a text
    would be escaped by this thread and unescaped by SQLite, quote by quote, and SQLite scans
    it again for every value it extracts from the row.
    """
    positions = list(range(columns))
    if text_at is not None:
        positions[text_at + 1 :] = [position + 1 for position in positions[text_at + 1 :]]
    picks = [f"json_extract(value, '$[{position}]')" for position in positions]
    if numbered:
        picks[0] = f"?2 + {picks[0]}"
    if text_at is not None:
        offset, length = (f"json_extract(value, '$[{text_at + step}]')" for step in (0, 1))
        picks[text_at] = f"CAST(substr(?3, {offset}, {length}) AS TEXT)"
    # The text is bound as UTF-8 bytes (a BLOB) and cast: a str parameter would be encoded to
    # UTF-8 again by the sqlite3 module, the whole batch at once whenever one title is not Latin-1.
    return f"SELECT {', '.join(picks)} FROM json_each(CAST(?1 AS TEXT)) WHERE true"


_INSERT_CHART = """
INSERT INTO charts (id, source, service, region, category, granularity, period, rows,
                    expected_size, extra, entries, stored_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""

# Where a chart row holds its entries (the charts column, and the place of their offset and length
# in _BatchWrites.chart_rows, whose last value is stored_at).
_ENTRIES_AT = 10

_INSERT_CHART_ROWS = f"""
INSERT INTO charts (id, source, service, region, category, granularity, period, rows,
                    expected_size, extra, entries, stored_at)
{_json_rows(12, numbered=True, text_at=_ENTRIES_AT)}
"""

_INSERT_CHART_TITLES = f"INSERT INTO chart_titles (rowid, tokens) {_json_rows(2, numbered=True)}"

_INSERT_EVENT_GROUP_ROWS = f"""
INSERT INTO event_groups (first_id, count, source, service, region, category, granularity, period,
                          part, events)
{_json_rows(10, numbered=True, text_at=9)}
"""

_INSERT_EVENT_GROUP = """
INSERT INTO event_groups (first_id, count, source, service, region, category, granularity, period,
                          part, events)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""

# A group's columns as group_events reads them.
GROUP_COLUMNS = f"first_id, {_KEY_ORDER}, period, events"


def group_events(row: Sequence[Any], *, title_id: str | None = None) -> list[Event]:
    """The events of a row of GROUP_COLUMNS (all, or that title's), in event-number order."""
    chart = codec.key_from_columns(*row[1:6])
    return codec.decode_events(chart, date.fromisoformat(row[6]), row[7], title_id=title_id)


# The group holding an event number: the one with the greatest first_id not above it.
EVENT_GROUP_OF = "(SELECT max(first_id) FROM event_groups WHERE first_id <= {number})"

_UPSERT_CHART_STATES = f"""
INSERT INTO chart_state (source, service, region, category, granularity, state, updated_at)
{_json_rows(7)}
ON CONFLICT (source, service, region, category, granularity)
DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at
"""

_UPSERT_FAMILY_STATES = f"""
INSERT INTO family_state (source, service, category, granularity, state, updated_at)
{_json_rows(6)}
ON CONFLICT (source, service, category, granularity)
DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at
"""


def _entry_field(name: str) -> str:
    """One field of an entry of charts.entries, read by json_each as `e`."""
    return f"json_extract(e.value, '$[{codec.ENTRY_FORMAT.index(name)}]')"


_ADD_TITLE_MENTIONS = f"""
INSERT INTO titles (title_id, title, season, title_norm, entries) {_json_rows(5)}
ON CONFLICT (title_id, title, coalesce(season, ''), season IS NULL)
DO UPDATE SET entries = entries + excluded.entries
"""

_CREATE_SCHEMA_VERSION = """
CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
)
"""


class SqliteStorage:
    """The chart history in one SQLite file. Open with `await SqliteStorage.open(path)`."""

    def __init__(self, db: aiosqlite.Connection, *, clock: codec.Clock = codec.utc_now) -> None:
        self._db = db
        self._clock = clock
        # Every coroutine shares the one connection: operations take turns, so two batches never
        # share a transaction and a read never sees half of a batch.
        self._lock = asyncio.Lock()
        self._event_hook: codec.EventHook | None = None

    @classmethod
    async def open(cls, path: str | Path, *, clock: codec.Clock = codec.utc_now) -> SqliteStorage:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: sqlite3 opens no implicit transactions; ours are explicit.
        db = await aiosqlite.connect(path, isolation_level=None)
        try:
            # Only a new database takes it (WAL fixes the page size of one that has pages). 16 KiB
            # pages suit rows of 1-2 KB texts: an import of the bench/replay.py input used 26-33%
            # less CPU in SQLite than with the default 4 KiB (fewer pages to write to the WAL and
            # to copy back at checkpoints: COMMIT's time halved), for a 13% smaller file.
            await db.execute(f"PRAGMA page_size = {PAGE_SIZE}")
            await db.execute("PRAGMA journal_mode = WAL")
            # In WAL mode NORMAL still keeps the database consistent after a crash; only the
            # last commits before a power loss may be lost, and the next poll fetches them again.
            await db.execute("PRAGMA synchronous = NORMAL")
            await db.execute("PRAGMA foreign_keys = ON")
            await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        except BaseException:
            await db.close()
            raise
        return cls(db, clock=clock)

    @property
    def connection(self) -> aiosqlite.Connection:
        """The one connection, for stores that live in the same file (subscriptions, outbox):
        SQLite has one writer, and a second connection would only wait on this one."""
        return self._db

    @property
    def lock(self) -> asyncio.Lock:
        """Held around every operation on `connection`, by this class and by those stores."""
        return self._lock

    def on_new_events(self, hook: codec.EventHook) -> None:
        """Run `hook` with the new events of every save_batch, inside its transaction.

        The outbox uses it to queue deliveries with the events that cause them. The hook runs
        on `connection` with `lock` already held (it must not take it); if it raises, the whole
        batch rolls back.
        """
        self._event_hook = hook

    async def close(self) -> None:
        await self._db.close()

    async def journal_mode(self) -> str:
        rows = await self._read("PRAGMA journal_mode")
        return str(rows[0][0])

    # -- migrations ------------------------------------------------------------------------------

    async def migrate(self) -> int:
        return await self.apply_migrations(load_migrations())

    async def apply_migrations(self, migrations: Sequence[Migration]) -> int:
        """Apply each migration newer than the schema, in version order, each in its own
        transaction (a failing one leaves the schema at the version before it)."""
        async with self._lock:
            await self._db.execute(_CREATE_SCHEMA_VERSION)
            current = await self._schema_version()
            for migration in sorted(migrations, key=lambda migration: migration.version):
                if migration.version <= current:
                    continue
                if migration.foreign_keys_off:
                    # Only possible outside a transaction; restored whatever happens below.
                    await self._db.execute("PRAGMA foreign_keys = OFF")
                try:
                    applied = await self._apply(migration)
                finally:
                    if migration.foreign_keys_off:
                        await self._db.execute("PRAGMA foreign_keys = ON")
                if applied:
                    log.info("applied migration %04d_%s", migration.version, migration.name)
            return await self._schema_version()

    async def _apply(self, migration: Migration) -> bool:
        """One migration in its own transaction; False if another process applied it first."""
        async with self._transaction():
            # Another process may have applied it while this one waited for the lock.
            if await self._schema_version() >= migration.version:
                return False
            for statement in migration.statements():
                await self._db.execute(statement)
            if migration.foreign_keys_off:
                broken = await self._fetch("PRAGMA foreign_key_check")
                if broken:
                    raise sqlite3.IntegrityError(
                        f"migration {migration.version:04d}_{migration.name} breaks"
                        f" {len(broken)} foreign keys, first in table {broken[0][0]}"
                    )
            await self._db.execute(
                "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, codec.encode_time(self._clock())),
            )
        return True

    async def applied_migrations(self) -> list[tuple[int, str]]:
        rows = await self._read("SELECT version, name FROM schema_version ORDER BY version")
        return [(int(row[0]), str(row[1])) for row in rows]

    async def _schema_version(self) -> int:
        rows = await self._fetch("SELECT coalesce(max(version), 0) FROM schema_version")
        return int(rows[0][0])

    # -- writing ---------------------------------------------------------------------------------

    async def save_batch(self, batch: Batch) -> list[Event]:
        # Everything is encoded before the transaction starts: a value that cannot be stored
        # fails here, with nothing written and no lock held.
        writes = _BatchWrites.encode(batch, codec.encode_time(self._clock()))
        hook = self._event_hook
        async with self._lock:
            try:
                new_events, new_ids = await self._in_connection_thread(
                    functools.partial(writes.write, commit=hook is None)
                )
                if hook is not None:
                    if new_events:
                        # Same transaction: the outbox's deliveries commit with their events, or
                        # neither.
                        await hook(new_events, new_ids)
                    await self._db.execute("COMMIT")
            except BaseException:
                # Queued behind the job even after a cancellation, so it undoes exactly this
                # transaction (and fails harmlessly if the job had committed).
                with contextlib.suppress(sqlite3.OperationalError):
                    await self._db.execute("ROLLBACK")
                raise
        return new_events

    async def _in_connection_thread(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run `work` with the sqlite3 connection on aiosqlite's thread, as one job.

        A save is one job from BEGIN to its last statement, so it runs on the other core without
        waiting for this thread between statements: with one await per statement, a save went on
        only when the event loop next ran, and the diff of the next batch (plain Python) rarely
        lets it. aiosqlite runs each of its calls this way but has no public method for a
        function of ours; `_execute` and `_conn` are what its own execute() uses (pyproject.toml
        keeps aiosqlite below 0.23; every storage test goes through here).
        """
        job = self._db._execute(work, self._db._conn)  # type: ignore[no-untyped-call]
        result: _T = await job
        return result

    async def set_meta(self, name: str, value: str) -> None:
        async with self._lock:
            await self._db.execute(
                "INSERT INTO meta (name, value) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (name, value),
            )

    # -- reading ---------------------------------------------------------------------------------

    async def get_meta(self, name: str) -> str | None:
        rows = await self._read("SELECT value FROM meta WHERE name = ?", (name,))
        return str(rows[0][0]) if rows else None

    async def load_chart_state(self, key: ChartKey) -> StateJson | None:
        rows = await self._read(
            f"SELECT state FROM chart_state WHERE {_KEY_MATCH}", codec.key_columns(key)
        )
        return codec.decode_state(rows[0][0]) if rows else None

    async def load_family_state(self, family: Family) -> StateJson | None:
        rows = await self._read(f"SELECT state FROM family_state WHERE {_FAMILY_MATCH}", family)
        return codec.decode_state(rows[0][0]) if rows else None

    async def latest_chart(self, key: ChartKey, on_or_before: date | None = None) -> Chart | None:
        params: list[Any] = list(codec.key_columns(key))
        bound = ""
        if on_or_before is not None:
            bound = " AND period <= ?"
            params.append(on_or_before.isoformat())
        rows = await self._read(
            f"SELECT {_CHART_COLUMNS} FROM charts WHERE {_KEY_MATCH}{bound}"
            " ORDER BY period DESC LIMIT 1",
            params,
        )
        return _chart_from(rows[0]) if rows else None

    async def has_chart(self, key: ChartKey, period: date) -> bool:
        rows = await self._read(
            f"SELECT 1 FROM charts WHERE {_KEY_MATCH} AND period = ?",
            (*codec.key_columns(key), period.isoformat()),
        )
        return bool(rows)

    async def chart_keys(self, source: str | None = None) -> list[ChartKey]:
        sql = f"SELECT DISTINCT {_KEY_ORDER} FROM charts"
        params: tuple[str, ...] = ()
        if source is not None:
            sql += " WHERE source = ?"
            params = (source,)
        rows = await self._read(sql, params)
        return sorted(codec.key_from_columns(*row) for row in rows)

    async def family_charts(self, family: Family, period: date) -> list[Chart]:
        rows = await self._read(
            f"SELECT {_CHART_COLUMNS} FROM charts WHERE {_FAMILY_MATCH} AND period = ?"
            f" ORDER BY {_KEY_ORDER}",
            (*family, period.isoformat()),
        )
        return [_chart_from(row) for row in rows]

    async def latest_period(self, family: Family) -> date | None:
        rows = await self._read(f"SELECT max(period) FROM charts WHERE {_FAMILY_MATCH}", family)
        newest = rows[0][0]
        return date.fromisoformat(newest) if newest is not None else None

    async def recent_rejections(self, limit: int = 20) -> list[StoredRejection]:
        rows = await self._read(
            "SELECT source, service, region, category, granularity, period, reason, rows,"
            " rejected_at FROM rejections ORDER BY rejected_at DESC, id DESC LIMIT ?",
            (codec.check_limit(limit),),
        )
        return [
            StoredRejection(
                key=codec.key_from_columns(*row[0:5]),
                period=date.fromisoformat(row[5]),
                reason=row[6],
                rows=row[7],
                rejected_at=codec.decode_time(row[8]),
            )
            for row in rows
        ]

    async def search_titles(self, text: str, limit: int = 25) -> list[TitleHit]:
        needle = codec.folded_title(text)
        rows = await self._read(
            "SELECT title_id, title, season FROM titles WHERE instr(title_norm, ?) > 0"
            " ORDER BY instr(title_norm, ?), title_norm, title, title_id, season LIMIT ?",
            (needle, needle, codec.check_limit(limit)),
        )
        return [TitleHit(row[0], row[1], row[2]) for row in rows]

    async def all_titles(self) -> list[TitleHit]:
        rows = await self._read(
            "SELECT title_id, title, season FROM titles"
            " ORDER BY title_norm, title, title_id, season"
        )
        return [TitleHit(row[0], row[1], row[2]) for row in rows]

    async def title_history(self, title_id: str) -> list[RankPoint]:
        # The token narrows the search to a few charts; json_each then reads their entries in
        # SQLite, without building Chart objects (a long-running hit is in thousands of charts).
        rows = await self._read(
            "SELECT c.source, c.service, c.region, c.category, c.granularity, c.period,"
            f" {_entry_field('rank')} AS rank"
            " FROM charts AS c, json_each(c.entries) AS e"
            " WHERE c.id IN (SELECT rowid FROM chart_titles WHERE chart_titles MATCH ?)"
            f" AND {_entry_field('title_id')} = ?"
            f" ORDER BY c.period, {_KEY_ORDER}, rank, e.key",
            (_title_query(title_id), title_id),
        )
        return [
            RankPoint(codec.key_from_columns(*row[0:5]), date.fromisoformat(row[5]), row[6])
            for row in rows
        ]

    async def recent_events(self, limit: int = 50, title_id: str | None = None) -> list[Event]:
        codec.check_limit(limit)
        found: list[Event] = []
        below = 2**63 - 1  # above every event number
        while len(found) < limit:
            # Newest groups first, a page at a time: a title filter may need to look far back
            # (there is no index by title: it would cost every stored event an insert).
            rows = await self._read(
                f"SELECT {GROUP_COLUMNS} FROM event_groups"
                " WHERE first_id < ? ORDER BY first_id DESC LIMIT 64",
                (below,),
            )
            if not rows:
                break
            for row in rows:
                events = group_events(row, title_id=title_id)
                found.extend(reversed(events[-(limit - len(found)) :]))
                if len(found) == limit:
                    return found
            below = int(rows[-1][0])
        return found

    # -- helpers ---------------------------------------------------------------------------------

    async def _read(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        async with self._lock:
            return await self._fetch(sql, params)

    async def _fetch(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        """Run a query on the connection; the caller holds the lock."""
        return list(await self._db.execute_fetchall(sql, params))

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[None]:
        # IMMEDIATE takes the write lock at BEGIN, so what is read inside the transaction (the next
        # chart id, which event keys exist, the schema version) stays true until COMMIT even when
        # another process writes to the same file.
        try:
            await self._db.execute("BEGIN IMMEDIATE")
            yield
            await self._db.execute("COMMIT")
        except BaseException:
            # Queued behind anything still running on the connection's thread (even after a
            # cancellation), so it undoes exactly this transaction; if BEGIN itself failed there
            # is nothing to roll back.
            with contextlib.suppress(sqlite3.OperationalError):
                await self._db.execute("ROLLBACK")
            raise


def _title_query(title_id: str) -> str:
    """An FTS5 query for the charts whose tokens include title_id's."""
    return f'"{sqlite_rows.title_token(title_id)}"'


@dataclass(frozen=True, slots=True)
class _BatchWrites:
    """A batch encoded for SqliteStorage.save_batch, and the statements that store it.

    Bulk rows are JSON texts read by _json_rows; chart ids and event numbers are offsets from a
    base read once the transaction holds the write lock (BEGIN IMMEDIATE: no other writer until
    COMMIT, so the base stays true). `write` runs on the connection's thread.
    """

    charts: Sequence[Chart]
    # [index, key columns…, period, rows, expected_size, extra, entries offset, entries length,
    # stored_at] per chart; the id is base + index
    chart_rows: list[list[Any]]
    chart_json: bytes  # chart_rows
    entries: list[bytes]  # the stored entries of each chart
    entries_joined: bytes
    tokens: bytes  # [index, search tokens] per chart, for chart_titles
    mentions: bytes  # [title_id, title, season, title_norm, entries] per title, for titles
    rejection_rows: list[tuple[Any, ...]]
    chart_states: bytes | None
    family_states: bytes | None
    events: list[Event]  # the batch's events, duplicates left out, in their order
    runs: list[sqlite_rows.EventRun]  # events, cut where the chart or period changes
    groups: bytes  # [run.start, count, key columns…, period, part, events offset, length]
    groups_events: bytes  # the events of every group, joined

    @classmethod
    def encode(cls, batch: Batch, now: str) -> _BatchWrites:
        charts = codec.last_per_period(batch.accepted)
        entries = [codec.encode_entries_utf8(chart.entries) for chart in charts]
        entries_at, entries_joined = sqlite_rows.texts_joined(entries)
        chart_rows = [
            [
                index,
                *codec.key_columns(chart.key),
                chart.period.isoformat(),
                chart.rows,
                chart.expected_size,
                codec.encode_extra(chart.extra),
                offset,
                len(text),
                now,
            ]
            for index, (chart, offset, text) in enumerate(
                zip(charts, entries_at, entries, strict=True)
            )
        ]
        events = codec.first_per_key(batch.events)
        runs = sqlite_rows.event_runs(events)
        groups_events = [run.encoded() for run in runs]
        groups_at, groups_joined = sqlite_rows.texts_joined(groups_events)
        return cls(
            charts=charts,
            chart_rows=chart_rows,
            chart_json=sqlite_rows.json_text(chart_rows),
            entries=entries,
            entries_joined=entries_joined,
            tokens=sqlite_rows.json_text(
                [[i, sqlite_rows.title_tokens(chart)] for i, chart in enumerate(charts)]
            ),
            mentions=sqlite_rows.json_text(
                [
                    [*title, codec.folded_title(title[1]), count]
                    for title, count in sqlite_rows.title_mentions(charts).items()
                ]
            ),
            rejection_rows=[
                (
                    *codec.key_columns(rejection.chart.key),
                    rejection.chart.period.isoformat(),
                    rejection.reason,
                    rejection.chart.rows,
                    now,
                )
                for rejection in batch.rejected
            ],
            chart_states=sqlite_rows.json_text(
                [
                    [*codec.key_columns(key), codec.encode_state(state), now]
                    for key, state in batch.chart_states.items()
                ]
            )
            if batch.chart_states
            else None,
            family_states=sqlite_rows.json_text(
                [
                    [*family, codec.encode_state(state), now]
                    for family, state in batch.family_states.items()
                ]
            )
            if batch.family_states
            else None,
            events=events,
            runs=runs,
            groups=sqlite_rows.json_text(
                [
                    [run.start, len(run.events), *run.key, run.period, 0, offset, len(text)]
                    for run, offset, text in zip(runs, groups_at, groups_events, strict=True)
                ]
            ),
            groups_events=groups_joined,
        )

    def write(self, conn: sqlite3.Connection, *, commit: bool) -> tuple[list[Event], list[int]]:
        """Begin, store everything; commit if told to. The new events, with their numbers."""
        conn.execute("BEGIN IMMEDIATE")
        if self.charts:
            self._store_charts(conn)
        if self.rejection_rows:
            conn.executemany(
                "INSERT INTO rejections (source, service, region, category, granularity,"
                " period, reason, rows, rejected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                self.rejection_rows,
            )
        if self.chart_states is not None:
            conn.execute(_UPSERT_CHART_STATES, (self.chart_states,))
        if self.family_states is not None:
            conn.execute(_UPSERT_FAMILY_STATES, (self.family_states,))
        stored = self._store_events(conn) if self.runs else ([], [])
        if commit:
            conn.execute("COMMIT")
        return stored

    def _store_charts(self, conn: sqlite3.Connection) -> None:
        base = int(conn.execute("SELECT coalesce(max(id), 0) + 1 FROM charts").fetchone()[0])
        # Most batches store new periods only: insert and count, and look for charts to replace
        # only when some insert met an existing key and period.
        inserted = conn.execute(
            _INSERT_CHART_ROWS + " ON CONFLICT DO NOTHING",
            (self.chart_json, base, self.entries_joined),
        )
        replaced: list[tuple[int, Chart]] = []
        if inserted.rowcount < len(self.charts):
            replaced = self._replace_charts(conn, base)
        conn.execute(_INSERT_CHART_TITLES, (self.tokens, base))
        conn.execute(_ADD_TITLE_MENTIONS, (self.mentions,))
        if replaced:
            gone = sqlite_rows.title_mentions([chart for _, chart in replaced])
            conn.executemany(
                "UPDATE titles SET entries = entries - ?"
                " WHERE title_id = ? AND title = ? AND season IS ?",
                [(count, *title) for title, count in gone.items()],
            )
            # The replaced charts held the last mention of these.
            conn.executemany(
                "DELETE FROM titles WHERE title_id = ? AND title = ? AND season IS ?"
                " AND entries <= 0",
                list(gone),
            )

    def _replace_charts(self, conn: sqlite3.Connection, base: int) -> list[tuple[int, Chart]]:
        """Delete the stored charts this batch replaces and insert their successors."""
        old = _stored_charts_of(conn, self.charts, before_id=base)
        old_by_period = {(chart.key, chart.period): (chart_id, chart) for chart_id, chart in old}
        conn.executemany("DELETE FROM charts WHERE id = ?", [(chart_id,) for chart_id, _ in old])
        # A contentless FTS5 table forgets a document only when given its tokens again.
        conn.executemany(
            "INSERT INTO chart_titles (chart_titles, rowid, tokens) VALUES ('delete', ?, ?)",
            [(chart_id, sqlite_rows.title_tokens(chart)) for chart_id, chart in old],
        )
        conn.executemany(
            _INSERT_CHART,
            [
                (base + row[0], *row[1:_ENTRIES_AT], entries.decode(), row[-1])
                for row, chart, entries in zip(
                    self.chart_rows, self.charts, self.entries, strict=True
                )
                if (chart.key, chart.period) in old_by_period
            ],
        )
        log.info("replaced %d stored charts with corrected ones", len(old))
        return old

    def _store_events(self, conn: sqlite3.Connection) -> tuple[list[Event], list[int]]:
        """Store each run as a new group and return the events that were new, with their numbers.

        A run whose chart and period already have a group (a chart diffed again by another
        process, family events found again as more regions arrive) keeps only the events with
        unknown keys.
        """
        row = conn.execute(
            "SELECT first_id + count FROM event_groups ORDER BY first_id DESC LIMIT 1"
        ).fetchone()
        base = int(row[0]) if row else 1
        inserted = conn.execute(
            _INSERT_EVENT_GROUP_ROWS + " ON CONFLICT DO NOTHING",
            (self.groups, base, self.groups_events),
        )
        if inserted.rowcount == len(self.runs):
            # Every run was new (always, in a replay): the batch's events in their order, each
            # numbered from base by its place (runs are numbered base + start).
            return self.events, list(range(base, base + len(self.events)))
        stored_runs = [(run, base + run.start) for run in self.runs]
        last = self.runs[-1]
        stored_runs = _store_known_runs(conn, stored_runs, base + last.start + len(last.events))
        numbered = sorted(
            (run.start + index, event, first + index)
            for run, first in stored_runs
            for index, event in enumerate(run.events)
        )
        return [event for _, event, _ in numbered], [number for _, _, number in numbered]


def _stored_charts_of(
    conn: sqlite3.Connection, charts: Sequence[Chart], before_id: int
) -> list[tuple[int, Chart]]:
    """The stored charts with the key and period of any of `charts`, older than before_id."""
    found: list[tuple[int, Chart]] = []
    per_query = _PARAMS_PER_QUERY // 6
    for start in range(0, len(charts), per_query):
        chunk = charts[start : start + per_query]
        wanted = ", ".join(["(?, ?, ?, ?, ?, ?)"] * len(chunk))
        params: list[Any] = [
            value
            for chart in chunk
            for value in (*codec.key_columns(chart.key), chart.period.isoformat())
        ]
        # A join on a VALUES list uses the unique index; a row-value IN (VALUES …) does not.
        rows = conn.execute(
            f"WITH wanted (source, service, region, category, granularity, period)"
            f" AS (VALUES {wanted})"
            f" SELECT {_CHART_COLUMNS} FROM wanted JOIN charts USING"
            " (source, service, region, category, granularity, period)"
            " WHERE id < ?",
            [*params, before_id],
        ).fetchall()
        found.extend((int(row[0]), _chart_from(row)) for row in rows)
    return found


def _store_known_runs(
    conn: sqlite3.Connection, runs: list[tuple[sqlite_rows.EventRun, int]], next_id: int
) -> list[tuple[sqlite_rows.EventRun, int]]:
    """After an insert that met existing groups: the runs stored, with their first number.

    A run whose group was not inserted is compared with every stored part of its chart and
    period; its events with unknown keys are stored as the next part, numbered from next_id.
    """
    assigned = [first_id for _, first_id in runs]
    present: set[int] = set()
    for start in range(0, len(assigned), _PARAMS_PER_QUERY):
        chunk = assigned[start : start + _PARAMS_PER_QUERY]
        found = conn.execute(
            f"SELECT first_id FROM event_groups WHERE first_id IN ({', '.join('?' * len(chunk))})",
            chunk,
        ).fetchall()
        present.update(int(row[0]) for row in found)
    stored: list[tuple[sqlite_rows.EventRun, int]] = []
    for run, first_id in runs:
        if first_id in present:
            stored.append((run, first_id))
            continue
        parts = conn.execute(
            f"SELECT part, events FROM event_groups WHERE {_KEY_MATCH} AND period = ?",
            (*run.key, run.period),
        ).fetchall()
        chart, period = run.events[0].chart, run.events[0].period
        known = {
            event.key for _, text in parts for event in codec.decode_events(chart, period, text)
        }
        unknown = [event for event in run.events if event.key not in known]
        if not unknown:
            continue
        rest = sqlite_rows.EventRun(run.key, run.period, run.start, unknown)
        part = max(int(row[0]) for row in parts) + 1
        conn.execute(
            _INSERT_EVENT_GROUP,
            (next_id, len(unknown), *rest.key, rest.period, part, rest.encoded().decode()),
        )
        stored.append((rest, next_id))
        next_id += len(unknown)
    return stored


def _chart_from(row: Any) -> Chart:
    """A Chart from a row of _CHART_COLUMNS."""
    return Chart(
        key=codec.key_from_columns(*row[1:6]),
        period=date.fromisoformat(row[6]),
        entries=codec.decode_entries(row[9]),
        expected_size=row[7],
        extra=codec.decode_extra(row[8]),
    )
