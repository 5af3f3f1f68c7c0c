"""Command latency at years of history: /top10, /title (typos included), /records, /status.

    .venv/bin/python bench/commands.py --rows 5000000 [--store URL] [--runs 300] [--rebuild]

Builds (or reuses) a store of at least --rows ranked rows of daily charts — synthetic FlixPatrol
history (bench/synthetic_history.py: 90 countries + worldwide × 3 services × 2 lists, Korean and
English titles, hits that hold #1 for weeks) stored through the real Pipeline (gate, diff engine,
save_batch: the schema, engine states and events are the real ones; no deliveries are queued).
The default store is a SQLite file in the cache folder printed at the start; a
postgresql://…/NAME URL is a database the bench creates when missing and keeps for the next run
(`--drop` drops it afterwards). A store is reused only when it holds a finished build of the
same rows and seed (a meta row says so); anything else in it is built again.

Then each command runs --runs times through the real CommandService (the path every adapter
takes), in a shuffled order, one at a time, while a ticker task measures the event loop's lag and
the title index falls due for its refresh every --refresh-every seconds (the service's clock is
moved past the cache time, so a refresh runs while the commands do). /title queries are stored
titles typed exactly, in lower case, with a typo (two letters swapped, one dropped or doubled)
and half-typed. `--pictures` turns on /title's picture (on in the default config; drawn by
matplotlib in a worker thread, cached per show and latest period).

Prints a few lines, then ONE JSON line: per command p50/p95/p99 in ms (`title_typo` is the
typo subset of `title`), `max_loop_stall_ms`, `idle_loop_stall_ms` (the same ticker for 10 s
before the commands, with nothing to do: what other processes on the machine cost the loop), the
build time if the store was built, and the load average. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic_history import COUNTRIES, ROWS_PER_DAY, daily_charts, days_for

from bot.app import build_pictures
from bot.commands import Caller, CommandService
from bot.diff import DiffConfig
from bot.pictures.config import PicturesConfig
from bot.pipeline import Pipeline
from bot.ports import Backend
from bot.subscriptions import Destination
from storage import open_backend

LAST_DAY = date(2026, 12, 5)
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "top10bot-bench"
BUILT_MARK = "bench:commands:built"
TICK_S = 0.005
IDLE_S = 10.0


def build_mark(rows: int, seed: int) -> str:
    return f"rows={rows} seed={seed} last={LAST_DAY.isoformat()}"


# ---------------------------------------------------------------- the store


async def _admin(url: str, sql: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    parts = urlsplit(url)
    connection = await asyncpg.connect(urlunsplit((*parts[:2], "/postgres", "", "")))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def _pg_name(url: str) -> str:
    name = urlsplit(url).path.lstrip("/")
    if not name.replace("_", "").isalnum():
        raise SystemExit(f"use a plain database name in --store, not {name!r}")
    return name


async def _pg_exists(url: str) -> bool:
    import asyncpg

    try:
        connection = await asyncpg.connect(url)
    except asyncpg.InvalidCatalogNameError:
        return False
    await connection.close()
    return True


def _remove_sqlite_files(path: str) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(path + suffix).unlink(missing_ok=True)


def _sqlite_mb(url: str) -> float | None:
    if not url.startswith("sqlite:///"):
        return None
    return round(Path(url.removeprefix("sqlite:///")).stat().st_size / 1e6, 1)


async def open_store(url: str, rows: int, seed: int, rebuild: bool) -> tuple[Backend, bool]:
    """The store at `url` (True: it holds a finished build of these rows)."""
    postgres = url.startswith(("postgresql://", "postgres://"))
    if postgres and not await _pg_exists(url):
        await _admin(url, f"CREATE DATABASE {_pg_name(url)}")
    backend = await open_backend(url)
    finished = await backend.get_meta(BUILT_MARK) == build_mark(rows, seed)
    if finished and not rebuild:
        return backend, True
    if await backend.chart_keys():
        # Half a build, another size or --rebuild: start from an empty store.
        await backend.close()
        if postgres:
            await _admin(url, f"DROP DATABASE {_pg_name(url)} WITH (FORCE)")
            await _admin(url, f"CREATE DATABASE {_pg_name(url)}")
        else:
            _remove_sqlite_files(url.removeprefix("sqlite:///"))
        backend = await open_backend(url)
    return backend, False


async def build(backend: Backend, rows: int, seed: int) -> float:
    """Store `rows` (or a few more: whole days) through the Pipeline; the seconds it took."""
    days = days_for(rows)
    print(f"building {days} days x {ROWS_PER_DAY} rows = {days * ROWS_PER_DAY:,} rows", flush=True)
    pipeline = Pipeline(backend, DiffConfig(), queue_deliveries=False)
    started = time.perf_counter()
    first = LAST_DAY - timedelta(days=days - 1)
    charts = daily_charts(days, LAST_DAY, seed)
    step = 30
    for start in range(0, days, step):
        # One month per process() call: the generator is consumed lazily, period by period.
        count = min(step, days - start) * ROWS_PER_DAY // 10
        month = [next(charts) for _ in range(count)]
        stats = await pipeline.process(month)
        if stats.rejected:
            print(f"  {stats.rejected} charts rejected: {stats.rejections[:3]}", flush=True)
        done = first + timedelta(days=start + step - 1)
        elapsed = time.perf_counter() - started
        print(f"  up to {min(done, LAST_DAY)}: {elapsed:.0f} s", flush=True)
    await backend.set_meta(BUILT_MARK, build_mark(rows, seed))
    return time.perf_counter() - started


# ---------------------------------------------------------------- the commands


def _typo(name: str, rng: random.Random) -> str:
    letters = list(name)
    where = rng.randrange(1, max(2, len(letters) - 1))
    kind = rng.choice(("swap", "drop", "double"))
    if kind == "swap" and where < len(letters) - 1:
        letters[where], letters[where + 1] = letters[where + 1], letters[where]
    elif kind == "drop":
        del letters[where]
    else:
        letters.insert(where, letters[where - 1])
    return "".join(letters)


async def command_plan(backend: Backend, runs: int, seed: int) -> list[tuple[str, str, str]]:
    """(command, text, label) for every run, shuffled: label is the figure it counts in."""
    rng = random.Random(seed)
    names = sorted({hit.title for hit in await backend.all_titles()})
    regions = [*COUNTRIES[:20], "world", "south korea", "germany", "japan"]
    extras = ["", "", " tv", " movies", " disney", " amazon prime movies"]
    plan = [("top10", rng.choice(regions) + rng.choice(extras), "top10") for _ in range(runs)]
    for index in range(runs):
        name = rng.choice(names)
        form = index % 4
        if form == 0:
            plan.append(("title", name, "title"))
        elif form == 1:
            plan.append(("title", name.lower(), "title"))
        elif form == 2:
            plan.append(("title", _typo(name, rng), "title_typo"))
        else:
            plan.append(("title", name[: max(3, len(name) * 2 // 3)], "title"))
    plan += [("records", rng.choice(("", "tv shows", "movies")), "records") for _ in range(runs)]
    plan += [("status", "", "status") for _ in range(runs)]
    rng.shuffle(plan)
    return plan


class LoopLag:
    """The longest the event loop was late for a short sleep, while running."""

    def __init__(self) -> None:
        self.max_ms = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(TICK_S)
            late = (time.perf_counter() - before - TICK_S) * 1000
            self.max_ms = max(self.max_ms, late)

    def __enter__(self) -> LoopLag:
        self._task = asyncio.get_running_loop().create_task(self._tick())
        return self

    def __exit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()


class SteppedClock:
    """time.monotonic, moved forward by `step` every `every` real seconds: the title cache falls
    due for its refresh while the commands run."""

    def __init__(self, step: float, every: float) -> None:
        self._start = time.monotonic()
        self._step = step
        self._every = every

    def __call__(self) -> float:
        real = time.monotonic() - self._start
        return real + self._step * int(real / self._every) if self._every > 0 else real


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    cut = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else []

    def pick(p: int) -> float:
        return round(cut[p - 1] if cut else ordered[0], 2)

    return {"n": len(ordered), "p50_ms": pick(50), "p95_ms": pick(95), "p99_ms": pick(99)}


async def run_commands(
    backend: Backend,
    plan: list[tuple[str, str, str]],
    monotonic: Callable[[], float],
    pictures: bool = False,
) -> tuple[dict[str, list[float]], float, float, int]:
    service = CommandService(
        backend,
        backend.subscriptions,
        clock=lambda: datetime.combine(LAST_DAY + timedelta(days=1), datetime.min.time(), UTC),
        monotonic=monotonic,
        pictures=build_pictures(backend, PicturesConfig.from_table({})) if pictures else None,
    )
    caller = Caller("console", "bench", Destination("console", "bench"), rate_limited=False)
    # The first /title loads the title index: the cost of a start-up, not of a command.
    await service.execute_text("title", "warm-up", caller)
    # What the machine alone costs the loop (other processes taking the CPU), for comparison.
    with LoopLag() as idle:
        await asyncio.sleep(IDLE_S)
    timings: dict[str, list[float]] = {}
    failed = 0
    with LoopLag() as lag:
        for name, text, label in plan:
            started = time.perf_counter()
            reply = await service.execute_text(name, text, caller)
            timings.setdefault(label, []).append((time.perf_counter() - started) * 1000)
            if reply.title == "Something went wrong":
                failed += 1
            if label == "title_typo":
                timings.setdefault("title", []).append(timings[label][-1])
            await asyncio.sleep(0)
    return timings, lag.max_ms, idle.max_ms, failed


# ---------------------------------------------------------------- main


def default_store(rows: int) -> str:
    CACHE.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{CACHE / f'commands-{rows}.sqlite'}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--store", help="sqlite:///path or postgresql://…/NAME (default: cache)")
    parser.add_argument("--runs", type=int, default=300, help="runs of each command")
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--refresh-every", type=float, default=2.0, metavar="SECONDS")
    parser.add_argument("--rebuild", action="store_true", help="build even if cached")
    parser.add_argument("--drop", action="store_true", help="drop a PostgreSQL store afterwards")
    parser.add_argument(
        "--pictures", action="store_true", help="/title draws its picture (the default config)"
    )
    args = parser.parse_args()
    url = args.store or default_store(args.rows)
    print(f"store: {url}", flush=True)
    backend, built = await open_store(url, args.rows, args.seed, args.rebuild)
    build_s = None
    try:
        if not built:
            build_s = await build(backend, args.rows, args.seed)
            print(f"built in {build_s:.0f} s", flush=True)
        plan = await command_plan(backend, args.runs, args.seed)
        clock = SteppedClock(step=1_000.0, every=args.refresh_every)
        timings, stall_ms, idle_ms, failed = await run_commands(backend, plan, clock, args.pictures)
    finally:
        await backend.close()
        if args.drop and url.startswith("postgres"):
            await _admin(url, f"DROP DATABASE {_pg_name(url)} WITH (FORCE)")
    print(f"store size: {_sqlite_mb(url)} MB", flush=True)
    result: dict[str, object] = {
        "rows": days_for(args.rows) * ROWS_PER_DAY,
        "backend": url.split(":", 1)[0],
        "runs": args.runs,
        "pictures": args.pictures,
        **{label: percentiles(samples) for label, samples in sorted(timings.items())},
        "failed": failed,
        "max_loop_stall_ms": round(stall_ms, 1),
        "idle_loop_stall_ms": round(idle_ms, 1),
        "build_s": round(build_s, 1) if build_s is not None else None,
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
