"""Freshness benchmark: how long after Netflix publishes a week does a subscribed chat hear of it?

    .venv/bin/python bench/freshness.py --interval 5 --publications 5

What runs is the real `top10bot run` (the app's `run_bot`, in this process): Telegram on, the
console off, polling the Netflix files from a local mirror (tests/fakes/source_server.py, with
ETag / Last-Modified and 304s like Netflix's CDN) inside a publication window that covers the
whole run, every `--interval` seconds. Telegram is the fake Bot API (tests/fakes/telegram_server.py)
that the real python-telegram-bot talks to; one private chat subscribes with `/subscribe world`.

The history is the global file of tests/fixtures/poll (12 real weeks): the older weeks are
imported before the bot starts (no subscriber yet, so no alert), then each newer week is
published, one at a time, at a random moment (uniform over one poll interval after the previous
alert, so the moment falls anywhere between two polls). Latency: from the moment the mirror
serves the new file to the first message the fake receives after it. `--interval` shortens the
window's poll interval (the default is the shipped 60 s).

Printed: one line per publication, then, as the LAST line, one JSON object:
`{"publications": n, "interval_s": …, "p50_s": …, "p95_s": …, "missed": …, "duplicates": …}`
- missed: publications with no alert within interval + 60 s;
- duplicates: alert messages whose text repeats an earlier one (a week announced twice; a long
  digest split into parts is not a repeat, its parts differ).
Target: p95 ≤ interval + 15 s, 0 missed, 0 duplicates. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("PTB_TIMEDELTA", "true")

from bot.app import run_bot
from bot.config import Config, load_config
from bot.poll_command import poll_once_command
from bot.sources import netflix
from handlers.http import open_http_client
from storage import open_backend
from tests.fakes.source_server import FIXTURES, SourceServer, config_toml
from tests.fakes.telegram_server import FakeTelegram, TelegramSent

GLOBAL_FILE = FIXTURES / "poll" / "all-weeks-global.tsv"
CHAT_ID = 424242  # a private chat: the user id is the chat id
# Seconds after a publication without any alert before it counts as missed (beyond the interval).
MISSED_AFTER_S = 60.0


def weeks_of(text: str) -> tuple[str, list[str]]:
    """The header line and the real weeks of the file, oldest first."""
    header, *rows = text.split("\n")
    return header, sorted({row.split("\t", 1)[0] for row in rows if row})


def file_up_to(text: str, last_week: str) -> str:
    """The file as Netflix served it once `last_week` was its newest week (newest rows first)."""
    header, *rows = text.split("\n")
    return "\n".join([header, *(row for row in rows if row and row[:10] <= last_week)])


def write_config(path: Path, mirror: SourceServer, telegram: FakeTelegram, interval: int) -> Config:
    path.write_text(
        config_toml(
            {
                "storage": {"url": f"sqlite:///{path.parent / 'bot.db'}"},
                "console": {"enabled": False},
                # The fixture weeks are from 2026: alerts, not a catch-up summary.
                "alerts": {"catchup_max_age": "5000w"},
                "sources.netflix": {
                    "base_url": mirror.netflix_base,
                    "files": ["global"],
                    # A window open all the time: the run is inside it wherever the clock is.
                    "publication_window": ["* 00:00-24:00"],
                    "window_interval": f"{interval}s",
                    "schedule": [],
                    "timeout": 10.0,
                    "retries": 1,
                    "retry_wait": 0.1,
                    "retry_wait_max": 0.2,
                },
                "telegram": {
                    "base_url": telegram.base_url,
                    "base_file_url": telegram.base_file_url,
                    "poll_timeout": 1.0,
                },
            }
        ),
        encoding="utf-8",
    )
    return load_config(path)


async def import_history(config: Config) -> None:
    """`top10bot poll --once` before anyone subscribed: the history, and no alert."""
    storage = await open_backend(config.storage.url)
    try:
        async with open_http_client() as http:
            await poll_once_command(config, storage, http, out=io.StringIO(), err=io.StringIO())
    finally:
        await storage.close()


@asynccontextmanager
async def running_bot(config: Config, telegram: FakeTelegram) -> AsyncIterator[asyncio.Task[int]]:
    environ = {"TELEGRAM_TOKEN": telegram.token}
    task = asyncio.create_task(run_bot(config, environ=environ), name="top10bot run")
    try:
        yield task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def alerts_to(telegram: FakeTelegram, after: int) -> Iterator[TelegramSent]:
    for message in telegram.sent[after:]:
        if message.chat_id == CHAT_ID:
            yield message


def alerted_after(telegram: FakeTelegram, seen: int) -> Callable[[], bool]:
    return lambda: any(True for _ in alerts_to(telegram, seen))


async def bench(interval: int, publications: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    text = GLOBAL_FILE.read_text(encoding="utf-8")
    _, weeks = weeks_of(text)
    publications = min(publications, len(weeks) - 1)
    history, new_weeks = weeks[: len(weeks) - publications], weeks[len(weeks) - publications :]
    telegram = FakeTelegram()
    await telegram.start()
    try:
        async with SourceServer() as mirror:
            mirror.put_netflix(netflix.GLOBAL_FILE, file_up_to(text, history[-1]))
            with tempfile.TemporaryDirectory(prefix="top10bot-freshness-") as tmp:
                config = write_config(Path(tmp) / "config.toml", mirror, telegram, interval)
                await import_history(config)
                async with running_bot(config, telegram) as bot:
                    telegram.inject_message(CHAT_ID, "/subscribe world", CHAT_ID)
                    await telegram.wait_until(alerted_after(telegram, 0), max_wait_s=60)
                    print(f"subscribed; publishing {len(new_weeks)} weeks, every {interval}s polls")
                    return await publish_all(rng, mirror, telegram, bot, text, new_weeks, interval)
    finally:
        await telegram.stop()


async def publish_all(
    rng: random.Random,
    mirror: SourceServer,
    telegram: FakeTelegram,
    bot: asyncio.Task[int],
    text: str,
    new_weeks: list[str],
    interval: int,
) -> dict[str, Any]:
    latencies: list[float] = []
    missed = 0
    for week in new_weeks:
        await asyncio.sleep(rng.uniform(0, interval))
        seen = len(telegram.sent)
        mirror.put_netflix(netflix.GLOBAL_FILE, file_up_to(text, week))
        published = time.time()
        try:
            await telegram.wait_until(
                alerted_after(telegram, seen), max_wait_s=interval + MISSED_AFTER_S
            )
        except TimeoutError:
            missed += 1
            print(f"{week}: missed")
            continue
        if bot.done():
            raise RuntimeError(f"top10bot run ended: {bot.result()}")
        first = next(alerts_to(telegram, seen))
        latencies.append(first.timestamp - published)
        print(f"{week}: first alert after {latencies[-1]:.2f} s")
    # Give a repeated send time to show up before counting.
    await asyncio.sleep(min(interval, 10))
    texts = [message.text or "" for message in alerts_to(telegram, 0)][1:]  # after the reply
    duplicates = len(texts) - len(set(texts))
    return {
        "publications": len(new_weeks),
        "interval_s": interval,
        "p50_s": round(statistics.median(latencies), 2) if latencies else None,
        "p95_s": round(percentile(latencies, 0.95), 2) if latencies else None,
        "missed": missed,
        "duplicates": duplicates,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--interval", type=int, default=60, help="window poll interval, s")
    parser.add_argument("--publications", type=int, default=5, help="new weeks (at most 11)")
    parser.add_argument("--seed", type=int, default=None, help="for the publication moments")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    print(f"seed {seed}")
    result = asyncio.run(bench(args.interval, args.publications, seed))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
