"""The outbox's counts at a year of deliveries: counts() (every row by status) against backlog()
(pending, failed and dead rows from partial indexes), on SQLite.

    .venv/bin/python bench/outbox_counts.py --rows 5000000 [--runs 5] [--rebuild]

Builds (or reuses) a SQLite store in the cache folder printed at the start: opened with
storage.open_backend and migrated (the real schema and indexes), then --rows delivery rows
bulk-inserted with SQL, 100,000 destinations per event (the events rows first: the foreign
key). The newest --open rows (default 12 %: 600,000 at 5M, one week of a 100k-subscription bot)
are open, one in 20 of them failed; --dead rows (default 0.1 %) spread over the history are
dead; the rest sent. A store is reused when a meta row says it holds this build.

Each count runs once to warm the cache, then --runs times through the store's outbox. Then, for
each, a chat command's read (get_meta) is started while the count runs: how long it waits is what
every command felt at each /metrics scrape (SQLite reads share one connection and its lock).
Prints a few lines, then ONE JSON line. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import closing
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storage import SqliteBackend, open_backend

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "top10bot-bench"
BUILT_MARK = "bench:outbox_counts:built"
DESTINATIONS = 100_000
FAILED_EVERY = 20  # one open row in 20 has failed once and waits for its retry
CHUNK = 500_000
START = 1_767_225_600  # 2026-01-01 00:00 UTC; each event a week after the one before
WEEK = 7 * 24 * 3600

# Rows :low + 1 … :high; the open ones from :first_open on; a dead one every :dead_every.
_INSERT = """
WITH RECURSIVE n(i) AS (SELECT :low + 1 UNION ALL SELECT i + 1 FROM n WHERE i < :high),
r AS (
    SELECT i, (i - 1) / :destinations + 1 AS event_id,
           (i - 1) % :destinations + 1 AS destination_id,
           CASE WHEN i >= :first_open
                THEN (CASE WHEN i % :failed_every = 0 THEN 'failed' ELSE 'pending' END)
                WHEN i % :dead_every = 0 THEN 'dead' ELSE 'sent' END AS status,
           strftime('%Y-%m-%dT%H:%M:%S', :start + ((i - 1) / :destinations) * :week, 'unixepoch')
               || '.000000+00:00' AS at
    FROM n
)
INSERT INTO deliveries (id, event_id, destination_id, platform, status, due_at, group_id,
                        attempts, last_error, created_at, updated_at)
SELECT i, event_id, destination_id, CASE WHEN destination_id % 3 = 0 THEN 'discord'
       ELSE 'telegram' END, status, at, CASE WHEN status = 'pending' THEN NULL ELSE i END,
       CASE WHEN status = 'pending' THEN 0 ELSE 1 END,
       CASE WHEN status = 'dead' THEN 'Forbidden: bot was blocked by the user' ELSE '' END,
       at, at
FROM r
"""
_EVENTS = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
INSERT INTO events (id, key, type, source, service, region, category, granularity, period,
                    title_id, data)
SELECT i, 'entered:netflix:netflix:KR:Films:weekly:' || i || ':bench-' || i, 'entered',
       'netflix', 'netflix', 'KR', 'Films', 'weekly', i, 'bench-' || i, '{}'
FROM n
"""


def build_mark(rows: int, open_rows: int, dead: int) -> str:
    return f"rows={rows} open={open_rows} dead={dead} destinations={DESTINATIONS}"


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _insert_rows(path: Path, rows: int, open_rows: int, dead: int) -> None:
    """The events, then the deliveries in chunks (plain sqlite3: a bulk load, not the bot's
    path; the schema and every index are the migrated store's). No ANALYZE: the bot never
    runs it, so its planner works without statistics."""
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.execute("PRAGMA synchronous = OFF")
        db.execute("PRAGMA cache_size = -400000")
        db.execute("BEGIN")
        db.execute(_EVENTS, ((rows + DESTINATIONS - 1) // DESTINATIONS,))
        db.execute("COMMIT")
        shape = {
            "first_open": rows - open_rows + 1,
            "dead_every": max(1, (rows - open_rows) // dead) if dead else rows + 1,
            "destinations": DESTINATIONS,
            "failed_every": FAILED_EVERY,
            "start": START,
            "week": WEEK,
        }
        started = time.perf_counter()
        for low in range(0, rows, CHUNK):
            db.execute("BEGIN")
            high = min(rows, low + CHUNK)
            db.execute(_INSERT, {"low": low, "high": high, **shape})
            db.execute("COMMIT")
            print(f"  {high:,} rows: {time.perf_counter() - started:.0f} s", flush=True)


async def open_store(path: Path, rows: int, open_rows: int, dead: int, rebuild: bool) -> float:
    """Make sure `path` holds this build; the seconds a build took (0 when reused)."""
    mark = build_mark(rows, open_rows, dead)
    backend = await open_backend(f"sqlite:///{path}")
    try:
        await backend.migrate()
        if await backend.get_meta(BUILT_MARK) == mark and not rebuild:
            return 0.0
    finally:
        await backend.close()
    _remove(path)
    started = time.perf_counter()
    backend = await SqliteBackend.open(path)
    await backend.migrate()
    await backend.close()
    print(f"building {rows:,} deliveries ({open_rows:,} open, {dead:,} dead)", flush=True)
    await asyncio.to_thread(_insert_rows, path, rows, open_rows, dead)
    backend = await SqliteBackend.open(path)
    try:
        await backend.set_meta(BUILT_MARK, mark)
    finally:
        await backend.close()
    return time.perf_counter() - started


async def timed(call: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await call()
    return (time.perf_counter() - started) * 1000


async def command_wait(backend: SqliteBackend, count: Callable[[], Awaitable[object]]) -> float:
    """How long a command's read started just after `count` takes (it queues behind it)."""
    task = asyncio.ensure_future(count())
    await asyncio.sleep(0.001)  # the count holds the connection now
    waited = await timed(lambda: backend.get_meta("bench:command"))
    await task
    return waited


async def measure(path: Path, runs: int) -> dict[str, object]:
    backend = await SqliteBackend.open(path)
    try:
        outbox = backend.outbox
        counts, backlog = await outbox.counts(), await outbox.backlog()  # warm the page cache
        agree = (backlog.pending, backlog.failed, backlog.dead) == (
            counts.pending,
            counts.failed,
            counts.dead,
        )
        print(f"counts():  {counts}\nbacklog(): {backlog}", flush=True)
        samples: dict[str, list[float]] = {"counts": [], "backlog": []}
        for _ in range(runs):
            samples["counts"].append(await timed(outbox.counts))
            samples["backlog"].append(await timed(outbox.backlog))
        waits = {
            "counts": await command_wait(backend, outbox.counts),
            "backlog": await command_wait(backend, outbox.backlog),
        }
    finally:
        await backend.close()
    result: dict[str, object] = {}
    for name, values in samples.items():
        result[f"{name}_ms_p50"] = round(statistics.median(values), 1)
        result[f"{name}_ms_max"] = round(max(values), 1)
        result[f"command_wait_behind_{name}_ms"] = round(waits[name], 1)
    result["agree"] = agree
    result["open"], result["dead"] = counts.pending + counts.failed, counts.dead
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--open", type=int, help="open rows (default: 12 %% of --rows)")
    parser.add_argument("--dead", type=int, help="dead rows (default: 0.1 %% of --rows)")
    parser.add_argument("--runs", type=int, default=5, help="timed calls of each count")
    parser.add_argument("--rebuild", action="store_true", help="build even if cached")
    args = parser.parse_args()
    open_rows = args.open if args.open is not None else args.rows * 12 // 100
    dead = args.dead if args.dead is not None else args.rows // 1000
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"outbox-counts-{args.rows}.sqlite"
    print(f"store: {path}", flush=True)
    build_s = await open_store(path, args.rows, min(open_rows, args.rows), dead, args.rebuild)
    if build_s:
        print(f"built in {build_s:.0f} s", flush=True)
    figures = await measure(path, args.runs)
    print(f"store size: {path.stat().st_size / 1e6:.1f} MB", flush=True)
    result = {
        "rows": args.rows,
        "backend": "sqlite",
        "runs": args.runs,
        **figures,
        "build_s": round(build_s, 1) if build_s else None,
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
