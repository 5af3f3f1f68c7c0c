"""`/metrics` and `/healthz` over HTTP, served by aiohttp on a thread and event loop of its own.

Why not the bot's loop: a loop that is stalled (a long synchronous step, a blocking call) cannot
say so. Served from its own thread, `/healthz` answers 503 "event loop did not answer" instead
of hanging, and `/metrics` still shows how long the loop has been stalled. What must run on the
bot's loop (the store's connections live there) is sent to it with run_coroutine_threadsafe and
waited for with a timeout.

- `/healthz`: 200 "ok" when the bot's loop runs a probe within `health_timeout` and the store
  answers a trivial query within `health_timeout` more; 503 with the reason otherwise.
- `/metrics`: the registry, with the outbox's backlog (pending, failed, dead: Outbox.backlog,
  index-only counts) read from the store (all processes share it) at most every
  BACKLOG_MAX_AGE seconds.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, Final, TypeVar

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bot.metrics import split_listen
from bot.ports import DeliveryBacklog, Outbox, Storage
from handlers.metrics.prometheus import PrometheusMetrics

log = logging.getLogger(__name__)

T = TypeVar("T")

# Scrapes come every 15-60 s; a dashboard refreshing often must not turn into a query storm.
BACKLOG_MAX_AGE: Final = 5.0
# How often the ticker task measures the loop's lag.
TICK_SECONDS: Final = 0.25
# The meta key /healthz reads: any key will do, the query is what is tested.
HEALTH_META_KEY: Final = "healthz"


class LoopLag:
    """A ticker task on the bot's loop: how late each timer fires is the loop's lag."""

    def __init__(self, metrics: PrometheusMetrics, interval: float = TICK_SECONDS) -> None:
        self._metrics = metrics
        self._interval = interval
        self._last_tick = time.monotonic()
        self._last_lag = 0.0

    async def run(self) -> None:
        while True:
            self._last_tick = before = time.monotonic()
            await asyncio.sleep(self._interval)
            self._last_lag = max(0.0, time.monotonic() - before - self._interval)
            self._metrics.loop_lag(self._last_lag)

    def current(self) -> float:
        """The last tick's lag, or, while the loop is stalled, how long the tick is overdue."""
        overdue = time.monotonic() - self._last_tick - self._interval
        return max(self._last_lag, overdue)


class MetricsServer:
    """Start it on the bot's loop (`await start()`), stop it there (`await stop()`)."""

    def __init__(
        self,
        listen: str,
        metrics: PrometheusMetrics,
        storage: Storage,
        outbox: Outbox,
        *,
        health_timeout: float,
    ) -> None:
        self._host, self._port = split_listen(listen)
        self._metrics = metrics
        self._storage = storage
        self._outbox = outbox
        self._timeout = health_timeout
        self._lag = LoopLag(metrics)
        self._bot_loop: asyncio.AbstractEventLoop | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # the server's own
        self._thread: threading.Thread | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._backlog_at = float("-inf")
        self._backlog_lock: asyncio.Lock | None = None
        self.port = 0  # the port bound (listen may ask for 0: any free one)

    async def start(self) -> None:
        """Listen (raises OSError when the address cannot be bound) and start the ticker."""
        self._bot_loop = asyncio.get_running_loop()
        ready: concurrent.futures.Future[int] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=self._serve, args=(ready,), name="metrics-http", daemon=True
        )
        self._thread.start()
        self.port = await asyncio.wrap_future(ready)
        self._metrics.watch_loop_lag(self._lag.current)
        self._ticker = asyncio.create_task(self._lag.run(), name="metrics-loop-lag")
        log.info("metrics: serving /metrics and /healthz on %s:%d", self._host, self.port)

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            await asyncio.to_thread(thread.join)

    # -- the server's thread -------------------------------------------------------------------

    def _serve(self, ready: concurrent.futures.Future[int]) -> None:
        loop = self._loop = asyncio.new_event_loop()
        app = web.Application()
        app.router.add_get("/metrics", self._scrape)
        app.router.add_get("/healthz", self._healthz)
        # A scrape in progress at shutdown is not waited for long.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        try:
            loop.run_until_complete(runner.setup())
            self._backlog_lock = asyncio.Lock()
            site = web.TCPSite(runner, self._host, self._port)
            loop.run_until_complete(site.start())
            ready.set_result(_bound_port(runner, self._port))
            loop.run_forever()
        except BaseException as exc:
            if not ready.done():  # start() is waiting: it raises what went wrong
                ready.set_exception(exc)
                return
            raise
        finally:
            loop.run_until_complete(runner.cleanup())
            loop.close()

    async def _on_bot_loop(self, make: Callable[[], Coroutine[Any, Any, T]], within: float) -> T:
        """Run a coroutine on the bot's loop; TimeoutError when it has not finished in time."""
        assert self._bot_loop is not None
        future = asyncio.run_coroutine_threadsafe(make(), self._bot_loop)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), within)
        finally:
            future.cancel()

    async def _healthz(self, request: web.Request) -> web.Response:
        problem = await self.health_problem()
        if problem is None:
            return web.Response(text="ok\n")
        return web.Response(status=503, text=problem + "\n")

    async def health_problem(self) -> str | None:
        """None when healthy; else what is wrong, in one line."""
        assert self._bot_loop is not None
        started = threading.Event()

        async def probe() -> None:
            started.set()
            async with asyncio.timeout(self._timeout):
                await self._storage.get_meta(HEALTH_META_KEY)

        future = asyncio.run_coroutine_threadsafe(probe(), self._bot_loop)
        answer = asyncio.wrap_future(future)
        try:
            # The loop has `timeout` to start the probe, then the store `timeout` to answer it
            # (the probe's own timeout; the margin covers a loop that stalls meanwhile).
            done, _ = await asyncio.wait({answer}, timeout=self._timeout)
            if not done and not started.is_set():
                return f"event loop did not answer within {self._timeout:g} s"
            await asyncio.wait_for(answer, self._timeout + 1.0)
        except TimeoutError:
            return f"store did not answer within {self._timeout:g} s"
        except Exception as exc:
            return f"store unreachable: {type(exc).__name__}: {exc}"
        finally:
            future.cancel()
        return None

    async def _scrape(self, request: web.Request) -> web.Response:
        await self._refresh_backlog()
        return web.Response(
            body=self._metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def _refresh_backlog(self) -> None:
        """The outbox's backlog from the store, at most every BACKLOG_MAX_AGE seconds."""
        assert self._backlog_lock is not None
        async with self._backlog_lock:
            if time.monotonic() - self._backlog_at < BACKLOG_MAX_AGE:
                return
            backlog: DeliveryBacklog | None
            try:
                backlog = await self._on_bot_loop(self._backlog, 2 * self._timeout)
            except TimeoutError:
                return  # a stalled loop: the lag gauges say so; keep the last figures
            except Exception:
                log.warning("metrics: reading the outbox backlog failed", exc_info=True)
                backlog = None
            self._metrics.store_backlog(backlog)
            self._backlog_at = time.monotonic()

    async def _backlog(self) -> DeliveryBacklog:
        async with asyncio.timeout(self._timeout):
            return await self._outbox.backlog()


def _bound_port(runner: web.AppRunner, asked: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return asked
