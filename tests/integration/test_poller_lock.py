"""The store's poller lock (bot/poll_leader.PollerLock) on SQLite (a file lock beside the database)
and PostgreSQL (a session advisory lock), and the poll-while-leading loop on top of it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest

from bot.__main__ import main
from bot.poll_leader import PollerLock, poll_while_leading
from bot.sources import netflix
from storage import poller_lock, shared_between_processes
from storage.memory.poller_lock import ProcessPollerLock
from storage.postgres.poller_lock import AdvisoryPollerLock, lock_key
from storage.sqlite.poller_lock import FilePollerLock
from tests.fakes.source_server import SourceServer, config_toml
from tests.integration.postgres_server import fresh_postgres_url

LockPair = tuple[PollerLock, PollerLock]


@pytest.fixture(params=["sqlite", "postgresql"])
async def two_locks(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[LockPair]:
    """Two processes' locks on one store (two instances: two connections, two descriptors)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'bot.db'}"
    else:
        url = await fresh_postgres_url()
    first, second = poller_lock(url), poller_lock(url)
    try:
        yield first, second
    finally:
        await first.release()
        await second.release()


async def test_one_holder_at_a_time_and_the_next_takes_it_once_released(
    two_locks: LockPair,
) -> None:
    first, second = two_locks
    assert await first.try_acquire()
    assert await first.try_acquire()  # already ours
    assert not await second.try_acquire()
    assert await first.still_held() and not await second.still_held()
    await first.release()
    assert not await first.still_held()
    assert await second.try_acquire()
    assert not await first.try_acquire()


def test_each_url_gets_the_lock_of_its_store(tmp_path: Path) -> None:
    assert isinstance(poller_lock("postgresql://u@h/db"), AdvisoryPollerLock)
    sqlite = poller_lock(f"sqlite:///{tmp_path / 'bot.db'}")
    assert isinstance(sqlite, FilePollerLock)
    assert sqlite.path == tmp_path / "bot.db.poller-lock"
    for private in ("memory://", "sqlite://:memory:"):
        assert isinstance(poller_lock(private), ProcessPollerLock)
        assert not shared_between_processes(private)
    assert shared_between_processes("postgres://u@h/db")


async def test_postgres_lock_is_lost_with_its_connection_and_free_for_another() -> None:
    url = await fresh_postgres_url()
    first, second = poller_lock(url), poller_lock(url)
    try:
        assert await first.try_acquire()
        admin = await asyncpg.connect(url)
        try:  # the holder's session dies (a crash, a network cut): the server frees the lock
            ended = await admin.fetch(
                "SELECT pg_terminate_backend(pid, 10000) FROM pg_locks WHERE locktype = 'advisory'"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                " AND objid::bigint = $1",
                lock_key(url.rpartition("search_path=")[2]) % 2**32,  # the key's low 32 bits
            )
        finally:
            await admin.close()
        assert [row[0] for row in ended] == [True]
        try:
            held = await first.still_held()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            held = False  # poll_while_leading counts an error as a lost lock
        assert not held
        assert await second.try_acquire()
    finally:
        await first.release()
        await second.release()


async def test_postgres_schemas_in_one_database_have_a_poller_each() -> None:
    first, second = poller_lock(await fresh_postgres_url()), poller_lock(await fresh_postgres_url())
    try:
        assert await first.try_acquire() and await second.try_acquire()
        assert first.description != second.description
    finally:
        await first.release()
        await second.release()


async def test_a_lock_file_made_again_is_not_ours_any_more(tmp_path: Path) -> None:
    lock = FilePollerLock(tmp_path / "bot.db")
    assert await lock.try_acquire()
    assert lock.path.read_text().strip().isdigit()  # the holder's pid, for the operator
    lock.path.unlink()
    assert not await lock.still_held()
    other = FilePollerLock(tmp_path / "bot.db")
    assert await other.try_acquire()
    await lock.release()
    await other.release()


class Changes(logging.Handler):
    """Set whenever a poller starts or stops, or the leader loop logs: what tests wait on."""

    def __init__(self) -> None:
        super().__init__()
        self.event = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.event.set()

    async def until(self, condition: Callable[[], bool]) -> None:
        """Until the condition holds (pytest-timeout ends a test that waits for ever)."""
        while not condition():
            self.event.clear()
            await self.event.wait()


@pytest.fixture
def changes() -> Iterator[Changes]:
    handler = Changes()
    logger = logging.getLogger("bot.poll_leader")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


class RecordingPolling:
    """What poll_while_leading starts: records its start and stop."""

    def __init__(self, name: str, log: list[str], changes: Changes) -> None:
        self.name, self.log, self.changes = name, log, changes

    async def start(self) -> RecordingPolling:
        self.log.append(f"{self.name} started")
        self.changes.event.set()
        return self

    async def stop(self) -> None:
        self.log.append(f"{self.name} stopped")
        self.changes.event.set()


def leader(lock: PollerLock, polling: RecordingPolling) -> asyncio.Task[None]:
    start: Callable[[], Awaitable[RecordingPolling]] = polling.start
    return asyncio.create_task(poll_while_leading(lock, start, retry_seconds=0.01))


async def test_the_standby_polls_once_the_active_poller_is_gone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, changes: Changes
) -> None:
    caplog.set_level(logging.INFO, logger="bot.poll_leader")
    log: list[str] = []
    a_lock, b_lock = FilePollerLock(tmp_path / "bot.db"), FilePollerLock(tmp_path / "bot.db")
    a = leader(a_lock, RecordingPolling("a", log, changes))
    await changes.until(lambda: log == ["a started"])
    b = leader(b_lock, RecordingPolling("b", log, changes))
    await changes.until(lambda: "standing by" in caplog.text)
    assert log == ["a started"]

    a.cancel()  # the active poller goes (its lock with it)
    await asyncio.gather(a, return_exceptions=True)
    await changes.until(lambda: "b started" in log)
    assert log == ["a started", "a stopped", "b started"]
    assert "took over" in caplog.text

    b_lock.path.unlink()  # b's lock is not b's any more: b stops polling and stands by
    await changes.until(lambda: "lost the lock" in caplog.text)
    assert log[3] == "b stopped"
    b.cancel()
    await asyncio.gather(b, return_exceptions=True)
    # Then b stood by, found the lock free (nobody else polls) and may have polled again.
    assert log[:4] == ["a started", "a stopped", "b started", "b stopped"]
    assert log[-1] == "b stopped" and log.count("b started") == log.count("b stopped")


async def test_a_poller_that_cannot_start_gives_the_lock_up_and_tries_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    attempts = 0
    failed_twice = asyncio.Event()
    lock = FilePollerLock(tmp_path / "bot.db")

    async def start() -> None:
        nonlocal attempts
        attempts += 1
        other = FilePollerLock(tmp_path / "bot.db")
        held_by_another = not await other.try_acquire()
        await other.release()
        assert held_by_another  # the lock is held while starting
        if attempts == 2:
            failed_twice.set()
        raise OSError("the HTTP session could not be made")

    task = asyncio.create_task(poll_while_leading(lock, start, retry_seconds=0.01))
    await failed_twice.wait()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert "polling failed; standing by" in caplog.text
    assert not await lock.still_held()


async def test_poll_once_does_nothing_while_another_process_polls(
    tmp_path: Path, server: SourceServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.put_netflix(netflix.GLOBAL_FILE, "unused")
    config = tmp_path / "config.toml"
    db = tmp_path / "bot.db"
    tables: dict[str, dict[str, object]] = {
        "storage": {"url": f"sqlite:///{db}"},
        "sources.netflix": {"base_url": server.netflix_base, "files": ["global"]},
    }
    config.write_text(config_toml(tables), encoding="utf-8")  # type: ignore[arg-type]
    running_poller = FilePollerLock(db)
    assert await running_poller.try_acquire()
    try:
        code = await asyncio.to_thread(main, ["--config", str(config), "poll", "--once"])
    finally:
        await running_poller.release()
    assert code == 1
    assert capsys.readouterr().err.strip() == (
        f"poll: another process is polling this database (file lock {db}.poller-lock); nothing done"
    )
    assert server.hits == []
