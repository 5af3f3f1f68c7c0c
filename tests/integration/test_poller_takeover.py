"""Two `top10bot run --role poller` processes on one PostgreSQL database: one polls, the other
stands by; SIGKILL the active one in the middle of a poll and the standby takes over, finishes
the work, and no event or delivery exists twice — the same rows as one uninterrupted poll.

Real processes (`python -m bot`), a real PostgreSQL (its session advisory lock), the real
Netflix files served by the local source server, which holds the countries file's first request
open: the first poller has stored the global file and is fetching the countries when it dies.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest

from bot.models import WORLD
from bot.poll_report import last_poll_key
from bot.sources import netflix
from bot.subscriptions import Destination, SubscriptionSpec
from storage import open_backend
from tests.fakes.source_server import (
    FAST_FETCH,
    FIXTURES,
    NETFLIX_PREFIX,
    Reply,
    SourceServer,
    config_toml,
)
from tests.integration.postgres_server import fresh_postgres_url

pytestmark = pytest.mark.timeout(300)

GLOBAL = (FIXTURES / "poll" / "all-weeks-global.tsv").read_text(encoding="utf-8")
COUNTRIES = (FIXTURES / "poll" / "all-weeks-countries.tsv").read_text(encoding="utf-8")
GLOBAL_PATH = NETFLIX_PREFIX + netflix.GLOBAL_FILE
COUNTRIES_PATH = NETFLIX_PREFIX + netflix.COUNTRIES_FILE
# Bounds on waits that should take seconds, generous for a loaded machine: they only stop a hang.
PATIENCE = 120.0

DeliveryRows = list[tuple[str, str]]  # (event key, chat id), one per delivery row


async def subscribe_two_chats(url: str) -> None:
    backend = await open_backend(url)
    try:
        subscriptions = backend.subscriptions
        await subscriptions.add_subscription(
            Destination("telegram", "5001"), SubscriptionSpec(service="netflix", region=WORLD)
        )
        await subscriptions.add_subscription(
            Destination("telegram", "5002"), SubscriptionSpec(region="KR", details=True)
        )
    finally:
        await backend.close()


def write_config(folder: Path, url: str, server: SourceServer) -> Path:
    path = folder / f"poller-{len(list(folder.glob('*.toml')))}.toml"
    fetch = {**FAST_FETCH, "timeout": 300.0}  # the held request must not time out and retry
    tables: dict[str, dict[str, object]] = {
        "storage": {"url": url, "poller_takeover_seconds": 0.5},
        "sources.netflix": {
            "base_url": server.netflix_base,
            "files": ["global", "countries"],
            # Only the start-up poll (the catch-up): no schedule, no publication window.
            "schedule": [],
            "publication_window": [],
            **fetch,
        },
    }
    path.write_text(config_toml(tables), encoding="utf-8")  # type: ignore[arg-type]
    return path


def child_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("TELEGRAM_TOKEN", "DISCORD_TOKEN")}


@asynccontextmanager
async def poller(config: Path, log: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    with log.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "-v",
            "--config",
            str(config),
            "run",
            "--role",
            "poller",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=stderr,
            env=child_environment(),
        )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


async def eventually(what: str, check: Callable[[], object], *logs: Path) -> None:
    """Until `check()` is true (awaiting it when it is a coroutine); a hang fails with the logs."""
    deadline = time.monotonic() + PATIENCE
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            shown = "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for log in logs)
            pytest.fail(f"never happened: {what}\n{shown}")
        await asyncio.sleep(0.1)


def logged(log: Path, text: str) -> Callable[[], bool]:
    return lambda: text in log.read_text(encoding="utf-8", errors="replace")


async def stored(url: str) -> tuple[list[str], DeliveryRows, int]:
    """Every event key, every delivery row (event key, chat), and the accepted charts."""
    connection = await asyncpg.connect(url)
    try:
        events = [row[0] for row in await connection.fetch("SELECT key FROM events")]
        deliveries = [
            (row[0], row[1])
            for row in await connection.fetch(
                "SELECT e.key, t.chat_id FROM deliveries d JOIN events e ON e.id = d.event_id"
                " JOIN destinations t ON t.id = d.destination_id"
            )
        ]
        charts = await connection.fetchval("SELECT count(*) FROM charts")
        return events, deliveries, int(charts)
    finally:
        await connection.close()


async def poll_finished(url: str) -> bool:
    connection = await asyncpg.connect(url)
    try:
        return bool(
            await connection.fetchval(
                "SELECT count(*) FROM meta WHERE name = $1 AND value <> ''",
                last_poll_key("netflix"),
            )
        )
    finally:
        await connection.close()


async def test_a_standby_poller_takes_over_from_a_killed_one_and_nothing_is_stored_twice(
    tmp_path: Path,
) -> None:
    reference_url, shared_url = await fresh_postgres_url(), await fresh_postgres_url()
    for url in (reference_url, shared_url):
        await subscribe_two_chats(url)
    async with SourceServer() as server:
        server.put_netflix(netflix.GLOBAL_FILE, GLOBAL)
        server.put_netflix(netflix.COUNTRIES_FILE, COUNTRIES)

        # What one poller that nobody kills stores and queues.
        reference_log = tmp_path / "reference.log"
        async with poller(write_config(tmp_path, reference_url, server), reference_log):
            await eventually("the reference poll", lambda: poll_finished(reference_url))
        expected_events, expected_deliveries, expected_charts = await stored(reference_url)
        assert expected_deliveries and len(expected_events) > 100

        hold = asyncio.Event()
        server.script(COUNTRIES_PATH, Reply(gate=hold))
        first_requests = len(server.hits)
        config = write_config(tmp_path, shared_url, server)
        log_a, log_b = tmp_path / "a.log", tmp_path / "b.log"
        try:
            async with poller(config, log_a) as a:
                await eventually("a polls", logged(log_a, "this process is the active poller"))
                async with poller(config, log_b):
                    await eventually("b stands by", logged(log_b, "standing by"), log_a, log_b)
                    await server.wait_for(COUNTRIES_PATH, count=2)  # a: held in mid-poll
                    _, _, charts_when_killed = await stored(shared_url)
                    a.send_signal(signal.SIGKILL)
                    await a.wait()
                    await eventually("b takes over", logged(log_b, "took over"), log_a, log_b)
                    await eventually("b's poll", lambda: poll_finished(shared_url), log_b)
                    events, deliveries, charts = await stored(shared_url)
        finally:
            hold.set()  # the held request answers (to nobody), so the server can close

    # The kill came mid-poll: the global file's charts were committed, the countries' were not.
    assert 0 < charts_when_killed < expected_charts
    assert charts == expected_charts
    assert sorted(events) == sorted(expected_events)
    assert len(set(events)) == len(events)
    assert sorted(deliveries) == sorted(expected_deliveries)
    assert len(set(deliveries)) == len(deliveries)
    # b did not download what a had stored: a 304 for the global file, the countries file again.
    hits = server.hits[first_requests:]
    assert [h.status for h in hits if h.path == GLOBAL_PATH] == [200, 304]
    assert [h.status for h in hits if h.path == COUNTRIES_PATH] == [200, 200]
    assert "lost the lock" not in log_b.read_text()
