"""Matching benchmark: one Tuesday burst of real chart events queued to N subscriptions.

    .venv/bin/python bench/match.py --subscriptions 100000 --events 2500 [--store URL]

The events are real: Netflix's per-country and global weekly files (--data, default
../shared/data/netflix) are replayed by `top10bot replay` up to the last week of the
per-country file, and that week's events are the burst (new #1s, entries, exits, streaks across
94 countries and the global lists; a seeded sample of --events of them, or earlier weeks added
when more are asked). The subscriptions are synthetic, in a mix meant to look like a public bot's
(see SUBSCRIPTION_MIX): mostly a show, or a country's chart; some a show in one country, a
country with the details, event types only; a few whole categories or services. Shows are picked
in proportion to their events before the burst (people follow what charts), countries in
proportion to a Zipf law (a few big markets hold most chats). Chats hold 1–3 subscriptions.

What is timed is the production path: `save_batch(Batch(events=burst), queue_deliveries=True)`
on a store holding the subscriptions (storing the events included). Meanwhile a ticker task
sleeps 1 ms at a time and records how late it wakes (the event loop's stall, as any coroutine
feels it), and a probe reads the store every 10 ms (`has_chart`) and records its latency (what a
command waits, locks included).

--store: a SQLite file (the default, in a temporary folder) or a PostgreSQL server URL, on which
a database of our own is created for the run and dropped after it.

The last line is one JSON object: match_and_queue_s, deliveries, max_loop_stall_ms, and
max_probe_ms (the slowest probe read), subscriptions, events. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gc
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.events import Event, EventType
from bot.models import WORLD, normalise_title
from bot.ports import Backend, Batch
from bot.subscriptions import SubscriptionSpec
from storage import codec, open_backend

HERE = Path(__file__).resolve().parent
# Beside the checkout (../shared), or the machine's copy when run from a worktree.
DEFAULT_DATA = next(
    (
        path
        for path in (
            HERE.parent.parent / "shared" / "data" / "netflix",
            Path("/work/shared/data/netflix"),
        )
        if path.is_dir()
    ),
    HERE.parent.parent / "shared" / "data" / "netflix",
)
NOW = "2022-03-01T15:00:00.000000+00:00"

# Share of subscriptions of each kind (the rest: a show alone).
SUBSCRIPTION_MIX = {
    "region": 0.34,  # /subscribe KR (half of them with a category: /subscribe KR TV)
    "show_region": 0.06,  # /subscribe Squid Game KR
    "region_details": 0.04,  # /subscribe KR details
    "types": 0.04,  # /subscribe records; /subscribe KR new1; /subscribe Squid Game streaks
    "chat_defaults": 0.02,  # a region, in a chat whose /settings name default event types
    "wildcard": 0.005,  # /subscribe TV, /subscribe netflix: every chart of a kind
}
CATEGORIES = {"KR": ("TV", "Films"), WORLD: ("TV (English)", "TV (Non-English)", "Films")}


@dataclass(frozen=True)
class Row:
    destination: int
    spec: SubscriptionSpec


def read_events(path: Path) -> list[Event]:
    with path.open(encoding="utf-8") as handle:
        return [Event.from_json(json.loads(line)) for line in handle if line.strip()]


def replay_events(data: Path, work: Path) -> tuple[list[Event], date]:
    """Every event of the real files up to the last week of the per-country file."""
    countries, world = data / "all-weeks-countries.tsv", data / "all-weeks-global.tsv"
    with countries.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        last_week = max(date.fromisoformat(row["week"]) for row in reader)
    out = work / "events.jsonl"
    with out.open("wb") as handle:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "bot",
                "replay",
                str(countries),
                str(world),
                "--to",
                last_week.isoformat(),
                "--format",
                "jsonl",
                "--db",
                str(work / "replay.db"),
            ],
            check=True,
            stdout=handle,
            cwd=HERE.parent,
        )
    return read_events(out), last_week


def pick_burst(events: list[Event], last_week: date, count: int, rng: random.Random) -> list[Event]:
    """The last week's events (a seeded sample of `count`), earlier weeks added if more
    are asked."""
    by_week: dict[date, list[Event]] = {}
    for event in events:
        by_week.setdefault(event.period, []).append(event)
    chosen: list[Event] = []
    for week in sorted((w for w in by_week if w <= last_week), reverse=True):
        wanted = count - len(chosen)
        if wanted <= 0:
            break
        pool = by_week[week]
        chosen.extend(pool if len(pool) <= wanted else rng.sample(pool, wanted))
    return chosen


def make_subscriptions(
    history: Sequence[Event], burst: Sequence[Event], count: int, rng: random.Random
) -> tuple[list[Row], dict[int, frozenset[EventType]]]:
    """`count` subscriptions in SUBSCRIPTION_MIX, over chats holding 1–3 each; and the default
    event types of the chats that set some."""
    shows = Counter(normalise_title(event.title) for event in history)
    show_names, show_weights = list(shows), list(shows.values())
    regions = sorted({e.chart.region for e in burst if len(e.chart.region) == 2} | {WORLD})
    rng.shuffle(regions)
    region_weights = [1 / (rank + 1) for rank in range(len(regions))]

    def show() -> str:
        return rng.choices(show_names, show_weights)[0]

    def region() -> str:
        return rng.choices(regions, region_weights)[0]

    def category(for_region: str) -> str | None:
        if rng.random() < 0.5:
            return None
        return rng.choice(CATEGORIES[WORLD if for_region == WORLD else "KR"])

    typed = (
        lambda: SubscriptionSpec(event_types=frozenset({EventType.RECORD_BROKEN})),
        lambda: SubscriptionSpec(
            region=region(), event_types=frozenset({EventType.NEW_NUMBER_ONE})
        ),
        lambda: SubscriptionSpec(
            show=show(),
            event_types=frozenset({EventType.NUMBER_ONE_STREAK, EventType.TOP10_STREAK}),
        ),
        lambda: SubscriptionSpec(event_types=frozenset({EventType.COUNTRIES_AT_NUMBER_ONE})),
    )
    makers = {
        "region": lambda: SubscriptionSpec(region=(r := region()), category=category(r)),
        "show_region": lambda: SubscriptionSpec(show=show(), region=region()),
        "region_details": lambda: SubscriptionSpec(region=region(), details=True),
        "types": lambda: rng.choice(typed)(),
        "chat_defaults": lambda: SubscriptionSpec(region=region()),
        "wildcard": lambda: rng.choice(
            (SubscriptionSpec(category="TV"), SubscriptionSpec(service="netflix"))
        ),
    }
    kinds = [*SUBSCRIPTION_MIX, "show"]
    weights = [*SUBSCRIPTION_MIX.values(), 1 - sum(SUBSCRIPTION_MIX.values())]
    rows: list[Row] = []
    chat_types: dict[int, frozenset[EventType]] = {}
    destination = 0
    while len(rows) < count:
        destination += 1
        for _ in range(min(rng.choice((1, 1, 1, 1, 1, 1, 2, 2, 3)), count - len(rows))):
            kind = rng.choices(kinds, weights)[0]
            spec = makers[kind]() if kind != "show" else SubscriptionSpec(show=show())
            if kind == "chat_defaults":
                chat_types[destination] = frozenset(
                    {EventType.NEW_NUMBER_ONE, EventType.RECORD_BROKEN}
                )
            rows.append(Row(destination, spec))
    return rows, chat_types


def dialect(sql: str, postgres: bool) -> str:
    """`?` placeholders as PostgreSQL's `$n` when needed."""
    if not postgres:
        return sql
    parts = sql.split("?")
    return "".join(f"{part}${n}" for n, part in enumerate(parts[:-1], 1)) + parts[-1]


async def store_subscriptions(
    store: Any, rows: list[Row], chat_types: dict[int, frozenset[EventType]], postgres: bool
) -> None:
    """Bulk rows, as the subscription store writes them (explicit ids: nothing else inserts)."""
    last = max(row.destination for row in rows)
    async with store.database.transaction() as tx:
        await tx.executemany(
            dialect(
                "INSERT INTO destinations (id, platform, chat_id, thread_id, changed_at,"
                " event_types) VALUES (?, ?, ?, '', ?, ?)",
                postgres,
            ),
            [
                (
                    number,
                    "telegram" if number % 2 else "discord",
                    str(1_000_000 + number),
                    NOW,
                    codec.encode_types(chat_types.get(number, frozenset())),
                )
                for number in range(1, last + 1)
            ],
        )
        await tx.executemany(
            dialect(
                "INSERT INTO subscriptions (destination_id, identity, show, show_title, service,"
                " region, category, event_types, details, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                postgres,
            ),
            [
                (
                    row.destination,
                    row.spec.identity(),
                    row.spec.show,
                    row.spec.show,
                    row.spec.service,
                    row.spec.region,
                    row.spec.category,
                    codec.encode_types(row.spec.event_types),
                    int(row.spec.details),
                    NOW,
                )
                for row in rows
            ],
        )


class Watch:
    """The ticker (event-loop stall) and the probe (a store read's latency) while work runs."""

    def __init__(self, store: Backend, probe_key: Any, probe_period: date) -> None:
        self.stalls: list[float] = []
        self.probes: list[float] = []
        self._store, self._key, self._period = store, probe_key, probe_period
        self._tasks: list[asyncio.Task[None]] = []

    async def _tick(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(0.001)
            self.stalls.append(time.perf_counter() - start - 0.001)

    async def _probe(self) -> None:
        while True:
            start = time.perf_counter()
            await self._store.has_chart(self._key, self._period)
            self.probes.append(time.perf_counter() - start)
            await asyncio.sleep(0.01)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._tick()), asyncio.create_task(self._probe())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def postgres_database(server: str) -> tuple[str, str]:
    """A new database on the server: its URL and name."""
    import asyncpg  # type: ignore[import-untyped]

    name = f"top10bot_bench_match_{uuid.uuid4().hex[:10]}"
    connection = await asyncpg.connect(server)
    try:
        await connection.execute(f"CREATE DATABASE {name}")
    finally:
        await connection.close()
    parts = urlsplit(server)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", "")), name


async def drop_postgres_database(server: str, name: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(server)
    try:
        await connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await connection.close()


def prepare(
    args: argparse.Namespace, work: Path
) -> tuple[list[Event], date, list[Row], dict[int, frozenset[EventType]]]:
    """The burst, its week, the subscriptions and the chats' default types. The replayed
    history is dropped on return: a bot does not hold it, and its garbage collector would."""
    rng = random.Random(args.seed)
    events, last_week = replay_events(args.data, work)
    burst = pick_burst(events, last_week, args.events, rng)
    history = [event for event in events if event.period < last_week]
    rows, chat_types = make_subscriptions(history, burst, args.subscriptions, rng)
    return burst, last_week, rows, chat_types


async def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    burst, last_week, rows, chat_types = prepare(args, work)
    postgres = args.store is not None and args.store.startswith("postgres")
    made = None
    if postgres:
        url, made = await postgres_database(args.store)
    else:
        url = args.store or f"sqlite:///{work / 'match.db'}"
    try:
        store = await open_backend(url)
        try:
            await store.migrate()
            await store_subscriptions(store, rows, chat_types, postgres)
            subscriptions, chats = len(rows), max(row.destination for row in rows)
            print(
                f"{subscriptions} subscriptions of {chats} chats,"
                f" {len(burst)} events of the week ending {last_week}",
                file=sys.stderr,
            )
            del rows
            gc.collect()
            watch = Watch(store, burst[0].chart, last_week)
            watch.start()
            await asyncio.sleep(0.05)
            start = time.perf_counter()
            saved = await store.save_batch(Batch(events=burst), queue_deliveries=True)
            elapsed = time.perf_counter() - start
            await asyncio.sleep(0.05)
            await watch.stop()
            pending = (await store.outbox.counts()).pending
        finally:
            await store.close()
    finally:
        if made is not None:
            await drop_postgres_database(args.store, made)
    print(
        f"queued {saved.queued} deliveries ({pending} pending) in {elapsed:.2f} s;"
        f" loop stall median {statistics.median(watch.stalls) * 1000:.2f} ms,"
        f" probe median {statistics.median(watch.probes) * 1000:.2f} ms",
        file=sys.stderr,
    )
    return {
        "match_and_queue_s": round(elapsed, 3),
        "deliveries": saved.queued,
        "max_loop_stall_ms": round(max(watch.stalls) * 1000, 1),
        "max_probe_ms": round(max(watch.probes) * 1000, 1),
        "subscriptions": subscriptions,
        "events": len(burst),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=2_500)
    parser.add_argument("--store", help="sqlite:///FILE or a postgresql:// server URL")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seed", type=int, default=19)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="top10bot-bench-match-") as tmp:
        result = asyncio.run(run(args, Path(tmp)))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
