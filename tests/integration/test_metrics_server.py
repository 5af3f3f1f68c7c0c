"""/healthz and /metrics over real HTTP: healthy, a closed store, a stalled event loop, and
`top10bot run` serving them from `[metrics] listen`."""

from __future__ import annotations

import asyncio
import io
import socket
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import run_bot
from bot.config import Config, ConfigError, StorageConfig, load_config
from bot.metrics import MetricsConfig
from bot.ports import Backend, Batch
from bot.subscriptions import Destination, SubscriptionSpec
from handlers.metrics import MetricsServer, PrometheusMetrics
from handlers.metrics.server import TICK_SECONDS
from storage import open_backend
from tests.chat_fixtures import load_chat_history
from tests.integration.postgres_server import fresh_postgres_url
from tests.integration.test_outbox_store import ENTERED, NEW_ONE
from tests.metrics_scrape import get, parse, sample

HEALTH_TIMEOUT = 0.5


async def serve(storage: Backend) -> MetricsServer:
    server = MetricsServer(
        "127.0.0.1:0", PrometheusMetrics(), storage, storage.outbox, health_timeout=HEALTH_TIMEOUT
    )
    await server.start()
    return server


@pytest.fixture(params=["sqlite", "postgresql"])
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bot.db'}"
    return await fresh_postgres_url()


async def test_healthz_is_200_while_the_loop_and_the_store_answer_and_503_once_closed(
    store_url: str,
) -> None:
    storage = await open_backend(store_url)
    server = await serve(storage)
    try:
        healthy = await asyncio.to_thread(get, server.port, "/healthz")
        up = parse((await asyncio.to_thread(get, server.port, "/metrics"))[1])
        await storage.close()
        closed = await asyncio.to_thread(get, server.port, "/healthz")
        # The backlog was read less than BACKLOG_MAX_AGE ago: a fresh server reads it again.
        await server.stop()
        server = await serve(storage)
        down = parse((await asyncio.to_thread(get, server.port, "/metrics"))[1])
        unknown = await asyncio.to_thread(get, server.port, "/nothing")
    finally:
        await server.stop()
        await storage.close()

    assert healthy == (200, "ok\n")
    assert sample(up, "top10bot_store_up") == 1
    assert sample(up, "top10bot_deliveries", status="pending") == 0
    status, reason = closed
    assert status == 503 and reason.startswith("store unreachable: ")
    assert sample(down, "top10bot_store_up") == 0
    assert unknown[0] == 404


async def test_the_deliveries_gauge_is_the_stores_backlog(store_url: str) -> None:
    """Pending, failed and dead rows as the store holds them (every process's); no gauge of
    the sent ones, whose count would scan the whole history at every scrape."""
    storage = await open_backend(store_url)
    try:
        for chat in ("1", "2", "3", "4"):
            await storage.subscriptions.add_subscription(
                Destination("telegram", chat), SubscriptionSpec(service="netflix", details=True)
            )
        await storage.save_batch(Batch(events=[NEW_ONE, ENTERED]), queue_deliveries=True)
        now = datetime.now(UTC)
        groups = await storage.outbox.claim("telegram", now, timedelta(seconds=30), 3)
        sent, failed, dead = ([d.id for d in group.deliveries] for group in groups)
        await storage.outbox.mark_sent(sent, now)
        await storage.outbox.mark_failed(failed, now, now + timedelta(minutes=5), "HTTP 502")
        await storage.outbox.mark_dead(dead, now, "Forbidden: bot was blocked by the user")
        server = await serve(storage)
        try:
            samples = parse((await asyncio.to_thread(get, server.port, "/metrics"))[1])
        finally:
            await server.stop()
    finally:
        await storage.close()

    gauge = {
        status: sample(samples, "top10bot_deliveries", status=status)
        for status in ("pending", "failed", "sent", "dead")
    }
    assert gauge == {"pending": 2, "failed": 2, "sent": None, "dead": 2}


async def test_a_stalled_event_loop_makes_healthz_503_and_shows_in_the_lag_gauge(
    tmp_path: Path,
) -> None:
    """The loop is blocked (a synchronous wait, as a CPU-bound step would block it) until a
    thread has asked /healthz and /metrics: both are answered while it is blocked."""
    storage = await open_backend(f"sqlite:///{tmp_path / 'bot.db'}")
    server = await serve(storage)
    answers: list[tuple[int, str]] = []
    asked = threading.Event()

    def ask() -> None:
        answers.append(get(server.port, "/healthz"))
        answers.append(get(server.port, "/metrics"))
        asked.set()

    try:
        before = await asyncio.to_thread(get, server.port, "/healthz")
        await asyncio.sleep(2 * TICK_SECONDS)  # the ticker has ticked
        threading.Thread(target=ask).start()
        asked.wait(timeout=60)  # blocks the event loop, on purpose
        after = await asyncio.to_thread(get, server.port, "/healthz")
    finally:
        await server.stop()
        await storage.close()

    assert before == (200, "ok\n")
    health, scrape = answers
    assert health == (503, f"event loop did not answer within {HEALTH_TIMEOUT:g} s\n")
    lag = sample(parse(scrape[1]), "top10bot_event_loop_lag_current_seconds")
    # /healthz waited HEALTH_TIMEOUT for the loop, all of it after the loop's last tick.
    assert lag is not None and lag >= HEALTH_TIMEOUT - TICK_SECONDS
    assert after == (200, "ok\n")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_run_serves_metrics_of_the_commands_it_answers(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    storage = await open_backend(url)
    try:
        await load_chat_history(storage)
    finally:
        await storage.close()
    port = free_port()
    scraped: list[tuple[int, str]] = []

    async def session() -> AsyncIterator[str]:
        yield "/top10 KR\n"
        yield "/top10 world\n"
        # Asked when the console wants its next line: both commands have been answered.
        scraped.append(await asyncio.to_thread(get, port, "/metrics"))
        scraped.append(await asyncio.to_thread(get, port, "/healthz"))

    config = Config(
        storage=StorageConfig(url=url), sections={"metrics": {"listen": f"127.0.0.1:{port}"}}
    )
    code = await run_bot(config, lines=session(), out=io.StringIO(), environ={})

    assert code == 0
    (status, body), health = scraped
    assert status == 200 and health == (200, "ok\n")
    samples = parse(body)
    assert sample(samples, "top10bot_command_seconds_count", command="top10") == 2
    with pytest.raises(OSError):  # the server stopped with the bot
        get(port, "/healthz", timeout=5)


async def test_run_exits_2_when_the_metrics_address_is_taken(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = Config(
            storage=StorageConfig(url=f"sqlite:///{tmp_path / 'bot.db'}"),
            sections={"metrics": {"listen": f"127.0.0.1:{port}"}},
        )
        code = await run_bot(config, lines=session_of("/help"), out=io.StringIO(), environ={})
    assert code == 2
    assert capsys.readouterr().err.startswith(f"error: [metrics] listen 127.0.0.1:{port}: ")


async def session_of(*lines: str) -> AsyncIterator[str]:
    for line in lines:
        yield line + "\n"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"listen": "9108"}, '[metrics] listen must be "host:port"'),
        ({"listen": "localhost:http"}, '[metrics] listen must be "host:port"'),
        ({"listen": 9108}, "[metrics] listen must be a string"),
        ({"health_timeout": 0}, "[metrics] health_timeout must be a number of seconds above 0"),
    ],
)
def test_bad_metrics_settings_are_named(table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        MetricsConfig.from_table(table)


def test_metrics_are_off_without_listen_and_take_ipv6(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[metrics]\nlisten = "[::1]:9108"\nhealth_timeout = 2\n', encoding="utf-8")
    assert MetricsConfig.from_table({}) == MetricsConfig(listen=None)
    loaded = MetricsConfig.from_table(load_config(path, environ={}).sections["metrics"])
    assert loaded == MetricsConfig(listen="[::1]:9108", health_timeout=2.0)
