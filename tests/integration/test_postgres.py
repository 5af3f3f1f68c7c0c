"""The PostgreSQL backend beyond the contract suites: opening it by URL, replaying to the same
bytes as SQLite, and `top10bot db copy` between SQLite and PostgreSQL with nothing lost.

The contract suites (storage, outbox, subscriptions) run on PostgreSQL through
tests/integration/backends.py; see tests/integration/postgres_server.py for the server.
"""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.__main__ import main
from bot.events import Event, EventType
from bot.models import ChartKey
from bot.ports import Backend, Batch, StorageRefused
from bot.subscriptions import Destination, SubscriptionSpec
from storage import CopyRefused, SqliteBackend, copy_database, open_backend
from storage.copy import TABLES
from storage.schema import latest_version
from tests.integration.postgres_server import fresh_postgres_url

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
GLOBAL = FIXTURES / "netflix" / "all-weeks-global.tsv"
COUNTRIES_TV = FIXTURES / "golden" / "countries-tv-2021-09-19_10-17.tsv"
LEGACY = FIXTURES / "migration" / "legacy-v5.sqlite"

Columns = dict[str, list[str]]
KEY = ChartKey("netflix", "netflix", "global", "tv", "weekly")


async def _table_rows(backend: Backend, columns: Columns) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every copied table, in one column order (SELECT * would follow each
    schema's own) and one row order, for either SQL backend."""
    database: Any = getattr(backend, "database")  # noqa: B009 - both SQL backends have one
    rows: dict[str, list[tuple[Any, ...]]] = {}
    for table, names in columns.items():
        found = await database.read(f"SELECT {', '.join(names)} FROM {table}")
        rows[table] = sorted((tuple(row) for row in found), key=repr)
    return rows


async def _sqlite_rows(path: Path) -> tuple[Columns, dict[str, list[tuple[Any, ...]]]]:
    """The columns of each copied table as this SQLite file lists them, and its rows."""
    backend = await SqliteBackend.open(path)
    try:
        columns: Columns = {}
        for table in TABLES:
            listed = await backend.database.read(f"PRAGMA table_info({table.name})")
            columns[table.name] = [str(row[1]) for row in listed]
        return columns, await _table_rows(backend, columns)
    finally:
        await backend.close()


async def _postgres_rows(url: str, columns: Columns) -> dict[str, list[tuple[Any, ...]]]:
    backend = await open_backend(url)
    try:
        return await _table_rows(backend, columns)
    finally:
        await backend.close()


def _event(title_id: str) -> Event:
    return Event(
        EventType.NEW_NUMBER_ONE, KEY, date(2030, 1, 5), title_id, f"Title {title_id}", None, 1
    )


async def _migrated_legacy_copy(folder: Path) -> str:
    """The legacy fixture (schema 5) copied to `folder` and migrated, as `db copy` opens it, with
    one event marked as still being queued (a burst whose queueing was interrupted) and a live
    message, so that every table holds rows."""
    legacy = folder / "legacy.db"
    shutil.copy(LEGACY, legacy)
    url = f"sqlite:///{legacy}"
    backend = await open_backend(url)
    try:
        assert isinstance(backend, SqliteBackend)
        await backend.database.execute(
            "INSERT INTO unqueued_events (event_id) SELECT max(id) FROM events"
        )
        # A live message (schema 9), posted, so that every column of its table travels.
        key = (await backend.chart_keys())[0]
        now = datetime(2030, 1, 6, tzinfo=UTC)
        _, live = await backend.live.start_live(Destination("telegram", "100"), key, now, limit=5)
        assert live is not None
        await backend.live.live_shown(live.id, "42", date(2030, 1, 5), now)
    finally:
        await backend.close()
    return url


async def test_open_backend_takes_postgresql_and_postgres_urls() -> None:
    url = await fresh_postgres_url()
    for spelling in (url, url.replace("postgresql://", "postgres://", 1)):
        backend = await open_backend(spelling)
        try:
            assert type(backend).__name__ == "PostgresBackend"
            assert await backend.migrate() == latest_version("sqlite")
        finally:
            await backend.close()


async def test_an_unreachable_server_is_refused_without_echoing_the_password() -> None:
    with pytest.raises(StorageRefused, match="cannot open PostgreSQL database 'top10'") as refused:
        await open_backend("postgresql://bot:secret@127.0.0.1:1/top10")
    assert "secret" not in str(refused.value)


def test_replay_prints_the_same_bytes_on_postgresql_as_on_sqlite(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    files = [str(GLOBAL), str(COUNTRIES_TV), "--format", "jsonl"]
    outputs = []
    for db in (str(tmp_path / "replay.db"), asyncio.run(fresh_postgres_url())):
        assert main(["replay", *files, "--db", db]) == 0
        outputs.append(capsys.readouterr().out.encode())
    assert outputs[0] == outputs[1]
    assert outputs[0].count(b"\n") > 1000


async def test_db_copy_moves_a_migrated_legacy_deployment_to_postgresql_and_back(
    tmp_path: Path,
) -> None:
    source_url = await _migrated_legacy_copy(tmp_path)
    postgres_url = await fresh_postgres_url()

    copied = await copy_database(source_url, postgres_url)

    columns, original = await _sqlite_rows(tmp_path / "legacy.db")
    assert copied == {table: len(rows) for table, rows in original.items()}
    assert min(copied.values()) > 0  # the fixture has rows in every table
    assert await _postgres_rows(postgres_url, columns) == original

    back = tmp_path / "back.db"
    await copy_database(postgres_url, f"sqlite:///{back}")
    assert (await _sqlite_rows(back))[1] == original


async def test_after_a_copy_new_rows_get_new_ids(tmp_path: Path) -> None:
    postgres_url = await fresh_postgres_url()
    await copy_database(await _migrated_legacy_copy(tmp_path), postgres_url)
    postgres = await open_backend(postgres_url)
    try:
        newest_before = (await postgres.recent_events(1))[0]
        saved = await postgres.save_batch(Batch(events=[_event("t-new")]), queue_deliveries=True)
        assert saved.events == [_event("t-new")]
        assert await postgres.recent_events(2) == [_event("t-new"), newest_before]
        _, added = await postgres.subscriptions.add_subscription(
            Destination("telegram", "-100777"), SubscriptionSpec(show="t-new")
        )
        assert added
    finally:
        await postgres.close()


async def test_db_copy_refuses_a_target_that_holds_data(tmp_path: Path) -> None:
    source_url = await _migrated_legacy_copy(tmp_path)
    postgres_url = await fresh_postgres_url()
    await copy_database(source_url, postgres_url)
    columns, _ = await _sqlite_rows(tmp_path / "legacy.db")
    before = await _postgres_rows(postgres_url, columns)

    with pytest.raises(CopyRefused, match="not empty"):
        await copy_database(source_url, postgres_url)
    with pytest.raises(CopyRefused, match="same database"):
        await copy_database(source_url, source_url)
    assert await _postgres_rows(postgres_url, columns) == before


def test_db_copy_command_takes_a_sqlite_path_and_a_url(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    asyncio.run(_migrated_legacy_copy(tmp_path))
    postgres_url = asyncio.run(fresh_postgres_url())

    assert main(["db", "copy", str(tmp_path / "legacy.db"), postgres_url]) == 0
    out = capsys.readouterr().out
    assert "events: 1942 rows\n" in out
    assert "deliveries: 95 rows\n" in out

    assert main(["db", "copy", str(tmp_path / "legacy.db"), postgres_url]) == 2
    assert "error: the target is not empty" in capsys.readouterr().err


async def test_two_processes_sharing_the_outbox_never_claim_the_same_row() -> None:
    url = await fresh_postgres_url()
    first, second = await open_backend(url), await open_backend(url)
    try:
        for chat in range(300):
            await first.subscriptions.add_subscription(
                Destination("telegram", str(chat)), SubscriptionSpec(service="netflix")
            )
        saved = await first.save_batch(Batch(events=[_event("t-1")]), queue_deliveries=True)
        assert saved.queued == 300
        now = datetime(2030, 1, 6, tzinfo=UTC)
        claimed: list[int] = []
        while True:
            # Both claim at once, through their own connections, as two senders would.
            batches = await asyncio.gather(
                *(
                    backend.outbox.claim("telegram", now, timedelta(minutes=5), 7)
                    for backend in (first, second, first, second)
                )
            )
            ids = [d.id for groups in batches for group in groups for d in group.deliveries]
            if not ids:
                break
            claimed.extend(ids)
        assert len(claimed) == 300
        assert len(set(claimed)) == 300
    finally:
        await first.close()
        await second.close()
