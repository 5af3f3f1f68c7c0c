"""Fan-out benchmark: one burst of chart events to N subscribed chats, through the real
python-telegram-bot and discord.py, against the fake servers enforcing R messages/s.

    .venv/bin/python bench/fanout.py --chats 10000 --ceiling 250
    .venv/bin/python bench/fanout.py --store postgresql://postgres@127.0.0.1/test --senders 2

What runs is the production path: a weekly chart goes through the Pipeline (gate → store → diff);
its events and one delivery row per subscribed chat are committed in one transaction; the Sender
claims, paces and sends them through the chat adapters' notifiers. By default one process does
it all, as a single-host bot runs. `--senders N`: this process only polls (stores the chart and
queues the deliveries), and N sender processes share the store (bench/fanout_senders.py: each
with its own connection and notifiers, as `top10bot run --role sender`; on PostgreSQL they are
woken by NOTIFY and share the pacing budget). `--store URL`: a sqlite:// URL or path (default a
temporary file), or a postgresql:// database, in which the run gets a schema of its own. Half of the
chats are Telegram private chats, half Discord channels (in guilds of 20 channels); each gets one
digest message carrying every event of the burst.

The fakes run in a separate process (so the bot's memory and CPU are its own), each enforcing an
overall ceiling of R messages/s (Telegram: sliding one-second window, plus 1/s per chat; Discord:
fixed one-second window, plus 5 per 5 s per channel) and counting their 429 answers.

Printed: a few lines of detail, then, as the LAST line, one JSON object:
- achieved_over_ceiling: the slower platform's send rate (messages between its first and last
  message) divided by R;
- rate_limited: 429 answers of both fakes;
- lost: chats without their message; duplicates: messages beyond one per chat;
- first_send_latency_s: from the moment the chart is accepted (the transaction storing it, its
  events and their deliveries commits) to the first message a fake received; the time from the
  chart entering the pipeline (matching and queueing N×events rows included) is printed above;
- peak_rss_mb: peak resident memory of the bot's largest process (this one, or a sender process;
  the fakes' processes excluded).
Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# PTB reports flood control with timedelta values (as the test suite opts in).
os.environ.setdefault("PTB_TIMEDELTA", "true")

CHANNELS_PER_GUILD = 20
FIRST_CHANNEL_ID = 800_000_000_000_000_000
FIRST_GUILD_ID = 700_000_000_000_000_000
GUILD_OWNER = 4242
CHART_KEY = ("netflix", "netflix", "WORLD", "TV (English)", "weekly")


@dataclass(frozen=True)
class World:
    telegram_chats: list[int]
    discord_channels: list[int]
    ceiling: int

    @classmethod
    def of(cls, chats: int, ceiling: int) -> World:
        telegram = chats - chats // 2
        return cls(
            telegram_chats=list(range(1, telegram + 1)),
            discord_channels=[FIRST_CHANNEL_ID + i for i in range(chats // 2)],
            ceiling=ceiling,
        )


# -- the fakes' process -------------------------------------------------------------------------


def serve_fake(conn: Connection, world: World, platform: str) -> None:
    """Child process: one fake, until the parent asks for its report and says stop. One process
    per platform, so that neither fake's work (or garbage collection) delays the other's answers.
    """
    asyncio.run(_serve_fake(conn, world, platform))


async def _serve_fake(conn: Connection, world: World, platform: str) -> None:
    from tests.fakes.discord_server import FakeDiscord
    from tests.fakes.telegram_server import FakeTelegram

    fake: Any
    if platform == "telegram":
        fake = FakeTelegram(overall_per_s=world.ceiling, per_chat_per_s=1, per_group_per_min=20)
    else:
        fake = FakeDiscord(overall_per_s=world.ceiling, per_channel=(5, 5.0))
        for start in range(0, len(world.discord_channels), CHANNELS_PER_GUILD):
            guild_id = FIRST_GUILD_ID + start
            fake.add_guild(guild_id, f"Guild {start}", owner_id=GUILD_OWNER)
            for channel_id in world.discord_channels[start : start + CHANNELS_PER_GUILD]:
                fake.add_channel(guild_id, channel_id, f"alerts-{channel_id}")
    # The fake is the measuring instrument: its garbage collector must not pause it mid-run
    # (it keeps every request it answers, hundreds of MB at 100,000 chats, and a full collection
    # over that stalls its answers for a moment, which a serial sender sees as lost time).
    gc.freeze()
    gc.disable()
    await fake.start()
    loop = asyncio.get_running_loop()
    try:
        if platform == "telegram":
            conn.send(
                {
                    "telegram_token": fake.token,
                    "telegram_base_url": fake.base_url,
                    "telegram_base_file_url": fake.base_file_url,
                }
            )
        else:
            conn.send(
                {
                    "discord_token": fake.token,
                    "discord_api": fake.api_base,
                    "discord_gateway": fake.gateway_url,
                }
            )
        while True:
            command = await loop.run_in_executor(None, conn.recv)
            if command == "report":
                conn.send(_report(world, platform, fake))
            elif command == "stop":
                break
    finally:
        await fake.stop()


def _report(world: World, platform: str, fake: Any) -> dict[str, Any]:
    if platform == "telegram":
        times = [m.timestamp for m in fake.sent]
        targets = [m.chat_id for m in fake.sent]
        expected = world.telegram_chats
    else:
        times = [m.timestamp for m in fake.messages]
        targets = [m.channel_id for m in fake.messages]
        expected = world.discord_channels
    return {
        platform: _platform_report(targets, times, expected),
        f"{platform}_rate_limited": fake.rate_limited,
        f"{platform}_fake_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _platform_report(targets: list[int], times: list[float], expected: list[int]) -> dict[str, Any]:
    reached = set(targets)
    start = min(times, default=0.0)
    per_second: dict[int, int] = {}
    for moment in times:
        per_second[int(moment - start)] = per_second.get(int(moment - start), 0) + 1
    return {
        "per_second": [per_second.get(i, 0) for i in range(max(per_second, default=-1) + 1)],
        "messages": len(targets),
        "reached": len(reached & set(expected)),
        "lost": len(set(expected) - reached),
        "duplicates": len(targets) - len(reached),
        "first": min(times, default=None),
        "last": max(times, default=None),
    }


# -- the bot's side -----------------------------------------------------------------------------


def last_sunday(today: date) -> date:
    return today - timedelta(days=(today.weekday() + 1) % 7)


def charts(period: date) -> tuple[Any, Any]:
    """A baseline week and the week after it: a new #1, the old one slipping, a climb, one title
    in and one out — one burst of events."""
    from bot.models import Chart, ChartKey, Entry, make_title_id

    key = ChartKey(*CHART_KEY)  # type: ignore[arg-type]

    def chart(week: date, titles: list[str]) -> Chart:
        entries = tuple(
            Entry(rank=rank, title_id=make_title_id(title, None), title=title)
            for rank, title in enumerate(titles, start=1)
        )
        return Chart(key, week, entries)

    before = [f"Show {letter}" for letter in "ABCDEFGHIJ"]
    after = [
        "Show B",
        "Show A",
        "Show C",
        "Show D",
        "Show I",
        "Show E",
        "Show F",
        "Show G",
        "Show H",
        "Show K",
    ]
    return chart(period - timedelta(weeks=1), before), chart(period, after)


async def subscribe_all(storage: Any, world: World) -> None:
    """Bulk-insert the destinations and one subscription each (the set-up is not measured)."""
    from bot.events import EventType
    from bot.subscriptions import Destination, SubscriptionSpec
    from tests.adapters.sender_rig import subscribe_many

    # What most fans ask for: the headline changes of one chart (3 of the burst's events).
    spec = SubscriptionSpec(
        service="netflix",
        region="WORLD",
        event_types=frozenset({EventType.NEW_NUMBER_ONE, EventType.ENTERED, EventType.LEFT}),
    )
    destinations = [Destination("telegram", str(chat)) for chat in world.telegram_chats] + [
        Destination("discord", str(channel)) for channel in world.discord_channels
    ]
    await subscribe_many(storage, destinations, spec)


async def run(
    world: World, url: str, senders: int, fakes: dict[str, Any], pipes: list[Connection]
) -> dict[str, Any]:
    from bench.fanout_senders import in_process_sender, sender_processes
    from bot.diff import DiffConfig
    from bot.pipeline import Pipeline
    from storage import open_backend

    storage = await open_backend(url)
    await subscribe_all(storage, world)
    baseline, burst = charts(last_sunday(datetime.now(UTC).date()))
    # The baseline week is history: it queues nothing.
    await Pipeline(storage, DiffConfig(), queue_deliveries=False).process([baseline])

    report: dict[str, Any] = {}
    accepted: list[float] = []
    delivering = (
        sender_processes(url, senders, world.ceiling, fakes, report)
        if senders
        else in_process_sender(storage, world.ceiling, fakes, report)
    )
    async with delivering as wake:

        async def on_new_events(events: list[Any]) -> None:
            accepted.append(time.time())  # save_batch has committed: the chart is accepted
            await wake(events)

        pipeline = Pipeline(storage, DiffConfig(), queue_deliveries=True, sink=on_new_events)
        entered = time.time()
        stats = await pipeline.process([burst])
        stored = time.time()
        expected = await outbox_total(storage)
        # Watched through the open-rows index: counting 300,000 rows twice a second would hold
        # the store's lock long enough to slow the sender being measured.
        while await open_rows(storage):  # noqa: ASYNC110 - a database, no event to wait on
            await asyncio.sleep(0.5)
        done = time.time()
        counts = await storage.outbox.counts()
        for pipe in pipes:
            pipe.send("report")
            report.update(pipe.recv())
    await storage.close()
    report.update(
        events=stats.events,
        deliveries=expected,
        outbox=counts,
        entered=entered,
        accepted=accepted[0] if accepted else stored,
        stored_s=stored - entered,
        done=done,
    )
    return report


async def open_rows(storage: Any) -> bool:
    """Whether any delivery is still pending or failed (a lookup in a partial index)."""
    rows = await storage.database.read(
        "SELECT 1 FROM deliveries WHERE status IN ('pending', 'failed') LIMIT 1"
    )
    return bool(rows)


async def outbox_total(storage: Any) -> int:
    rows = await storage.database.read("SELECT count(*) FROM deliveries")
    return int(rows[0][0])


def summarise(world: World, report: dict[str, Any]) -> dict[str, Any]:
    rates = {}
    for platform in ("telegram", "discord"):
        part = report[platform]
        if part["messages"] > 1 and part["last"] > part["first"]:
            rates[platform] = (part["messages"] - 1) / (part["last"] - part["first"])
    firsts = [report[p]["first"] for p in ("telegram", "discord") if report[p]["first"]]
    first = min(firsts) if firsts else report["done"]
    return {
        "achieved_over_ceiling": round(min(rates.values()) / world.ceiling, 4) if rates else 0.0,
        "rate_limited": report["telegram_rate_limited"] + report["discord_rate_limited"],
        "lost": report["telegram"]["lost"] + report["discord"]["lost"],
        "duplicates": report["telegram"]["duplicates"] + report["discord"]["duplicates"],
        "first_send_latency_s": round(first - report["accepted"], 4),
        "peak_rss_mb": round(
            max(
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                *(sender.get("peak_rss_mb", 0.0) for sender in report["senders"]),
            ),
            1,
        ),
        "_rates": rates,
        "_first": first,
    }


async def measure(
    world: World,
    store: str | None,
    folder: Path,
    senders: int,
    fakes: dict[str, Any],
    pipes: list[Connection],
) -> dict[str, Any]:
    from bench.fanout_senders import bench_store

    async with bench_store(store, folder) as url:
        return await run(world, url, senders, fakes, pipes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=10_000, help="subscribed chats (half each)")
    parser.add_argument("--ceiling", type=int, default=250, help="messages/s each fake allows")
    parser.add_argument(
        "--store",
        help="sqlite:// URL or path, or a postgresql:// database (default: a temporary"
        " SQLite file)",
    )
    parser.add_argument("--db", type=Path, help="SQLite file (the same as --store PATH)")
    parser.add_argument(
        "--senders",
        type=int,
        default=0,
        help="sender processes sharing the store (default 0: one process does everything)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    world = World.of(args.chats, args.ceiling)

    context = multiprocessing.get_context("spawn")
    fakes: dict[str, Any] = {}
    pipes: list[Connection] = []
    processes = []
    for platform in ("telegram", "discord"):
        ours, theirs = context.Pipe()
        process = context.Process(target=serve_fake, args=(theirs, world, platform), daemon=True)
        process.start()
        pipes.append(ours)
        processes.append(process)
    try:
        for pipe in pipes:
            fakes.update(pipe.recv())
        with tempfile.TemporaryDirectory(prefix="top10bot-fanout-") as tmp:
            store = args.store or (str(args.db) if args.db else None)
            if store is not None and "://" not in store:
                store = f"sqlite:///{Path(store).resolve()}"
            report = asyncio.run(measure(world, store, Path(tmp), args.senders, fakes, pipes))
        for pipe in pipes:
            pipe.send("stop")
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()

    result = summarise(world, report)
    rates = result.pop("_rates")
    first = result.pop("_first")
    senders = (
        f"{args.senders} sender processes (budget shared: {report['shared_budget']})"
        if args.senders
        else "one process"
    )
    print(
        f"chats {args.chats} (telegram {len(world.telegram_chats)}, discord"
        f" {len(world.discord_channels)}), ceiling {args.ceiling}/s per platform,"
        f" {report['events']} events → {report['deliveries']} deliveries; {senders}"
    )
    print(
        f"chart in → accepted (gate, diff, events + deliveries committed): "
        f"{report['accepted'] - report['entered']:.3f} s; chart in → first message "
        f"{first - report['entered']:.3f} s; "
        f"all sent after {report['done'] - report['entered']:.1f} s"
    )
    for platform, rate in rates.items():
        part = report[platform]
        print(
            f"{platform}: {part['messages']} messages to {part['reached']} chats at {rate:.1f}/s"
            f" ({rate / args.ceiling:.3f} of the ceiling); lost {part['lost']},"
            f" duplicates {part['duplicates']}"
        )
    print(
        f"429s: telegram {report['telegram_rate_limited']}, discord"
        f" {report['discord_rate_limited']}; outbox {report['outbox']}"
    )
    for number, sender in enumerate(report["senders"], start=1):
        print(f"sender {number}: {sender}")
    print(
        f"fakes' processes peak RSS: telegram {report['telegram_fake_peak_rss_mb']:.1f} MB,"
        f" discord {report['discord_fake_peak_rss_mb']:.1f} MB (not counted below)"
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
