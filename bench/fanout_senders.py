"""How bench/fanout.py delivers: the all-in-one bot in its own process, or `--senders N` sender
processes; and the store of `--store URL`.

Each sender is a process of its own, as `top10bot run --role sender` runs: its own connection to
the store, REST-only notifiers (handlers/notifiers.py) pointed at the fakes, the production
Sender with the budget `[delivery] shared_budget = "auto"` gives it (PostgreSQL: shared through
the store; SQLite: each alone). It tells the parent when its notifiers are ready, sends until
told to stop, then reports its counters and peak memory.
"""

from __future__ import annotations

import asyncio
import dataclasses
import multiprocessing
import os
import resource
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

# A sender process finds work this often when nothing woke it (SQLite has no wake-up across
# processes; PostgreSQL's NOTIFY wakes it at once).
IDLE_POLL_SECONDS = 0.5


def serve_sender(conn: Connection, url: str, fakes: dict[str, Any], ceiling: int) -> None:
    """Child process: one sender, until the parent says stop."""
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    asyncio.run(_serve_sender(conn, url, fakes, ceiling))


async def _serve_sender(conn: Connection, url: str, fakes: dict[str, Any], ceiling: int) -> None:
    import discord.http

    from bot.delivery.sender import Sender
    from handlers.notifiers import open_notifiers
    from storage import open_backend, open_send_budget

    discord.http.Route.BASE = fakes["discord_api"]
    sections = {
        "telegram": {
            "token": fakes["telegram_token"],
            "base_url": fakes["telegram_base_url"],
            "base_file_url": fakes["telegram_base_file_url"],
        },
        "discord": {"token": fakes["discord_token"]},
    }
    config = delivery_config(ceiling, idle_poll_seconds=IDLE_POLL_SECONDS)
    storage = await open_backend(url)
    loop = asyncio.get_running_loop()
    try:
        async with open_notifiers(sections, {}) as notifiers:
            for notifier in notifiers:
                await notifier.wait_until_ready()
            budget = open_send_budget(storage, config.shared_budget)
            sender = Sender(storage.outbox, notifiers, storage.subscriptions, config, budget=budget)
            sending = asyncio.create_task(sender.run())
            conn.send({"ready": sender.claimant, "shared_budget": budget is not None})
            await loop.run_in_executor(None, conn.recv)  # "stop"
            sending.cancel()
            await asyncio.gather(sending, return_exceptions=True)
    finally:
        await storage.close()
    conn.send(
        {
            "stats": dataclasses.asdict(sender.stats),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    )


def delivery_config(ceiling: int, **settings: float) -> Any:
    """The [delivery] section of the bench's bot: both platforms' ceilings at `ceiling`/s."""
    from bot.delivery.config import DeliveryConfig

    return DeliveryConfig(
        telegram_per_second=float(ceiling), discord_per_second=float(ceiling), **settings
    )


Wake = Callable[[list[Any]], Awaitable[None]]


@asynccontextmanager
async def in_process_sender(
    storage: Any, ceiling: int, fakes: dict[str, Any], report: dict[str, Any]
) -> AsyncIterator[Wake]:
    """The all-in-one bot: chat adapters and the sender in this process, woken in memory."""
    import discord.gateway
    import discord.http
    import yarl

    from bot.commands import CommandService
    from bot.delivery.lifecycle import DestinationLifecycle
    from bot.delivery.sender import Sender
    from handlers.discord.adapter import DiscordAdapter, DiscordSettings
    from handlers.telegram.adapter import TelegramAdapter, TelegramSettings

    discord.http.Route.BASE = fakes["discord_api"]
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fakes["discord_gateway"])
    subscriptions = storage.subscriptions
    lifecycle = DestinationLifecycle(subscriptions, storage.outbox)
    service = CommandService(storage, subscriptions)
    telegram = TelegramAdapter(
        service,
        TelegramSettings(
            token=fakes["telegram_token"],
            base_url=fakes["telegram_base_url"],
            base_file_url=fakes["telegram_base_file_url"],
            # The delivery engine paces alerts; PTB's own limiter would cap them at 30/s.
            rate_limiter=False,
            poll_timeout=5.0,
        ),
        lifecycle,
    )
    discord_adapter = DiscordAdapter(
        service, DiscordSettings(token=fakes["discord_token"], sync_commands=False), lifecycle
    )
    adapters = [telegram, discord_adapter]
    running = [asyncio.create_task(adapter.run()) for adapter in adapters]
    notifiers = [adapter.notifier for adapter in adapters]
    sender = Sender(storage.outbox, notifiers, subscriptions, delivery_config(ceiling))
    for notifier in notifiers:
        await notifier.wait_until_ready()
    sending = asyncio.create_task(sender.run())
    try:
        yield sender.on_new_events
    finally:
        sending.cancel()
        for task in running:
            task.cancel()
        await asyncio.gather(sending, *running, return_exceptions=True)
        report["senders"] = [dataclasses.asdict(sender.stats)]


@asynccontextmanager
async def sender_processes(
    url: str, count: int, ceiling: int, fakes: dict[str, Any], report: dict[str, Any]
) -> AsyncIterator[Wake]:
    """`count` sender processes sharing the store; they learn of new rows from it."""
    context = multiprocessing.get_context("spawn")
    pipes: list[Connection] = []
    processes = []
    for _ in range(count):
        ours, theirs = context.Pipe()
        process = context.Process(
            target=serve_sender, args=(theirs, url, fakes, ceiling), daemon=True
        )
        process.start()
        pipes.append(ours)
        processes.append(process)
    loop = asyncio.get_running_loop()
    try:
        ready = [await loop.run_in_executor(None, pipe.recv) for pipe in pipes]
        report["shared_budget"] = all(answer["shared_budget"] for answer in ready)

        async def nothing(events: list[Any]) -> None:
            return None

        yield nothing
        for pipe in pipes:
            pipe.send("stop")
        report["senders"] = [await loop.run_in_executor(None, pipe.recv) for pipe in pipes]
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()


@asynccontextmanager
async def bench_store(store: str | None, folder: Path) -> AsyncIterator[str]:
    """The URL of an empty store for one run: a SQLite file (`store` a sqlite:// URL; default a
    temporary file), or a schema of its own in the PostgreSQL database `store` names, dropped
    afterwards."""
    if store is None:
        yield f"sqlite:///{folder / 'fanout.db'}"
        return
    if not store.startswith(("postgresql://", "postgres://")):
        yield store
        return
    import asyncpg  # type: ignore[import-untyped]

    schema = f"fanout_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(store)
    try:
        await admin.execute(f"CREATE SCHEMA {schema}")
        parts = urlsplit(store)
        query = "&".join(filter(None, [parts.query, f"search_path={schema}"]))
        yield urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
    finally:
        await admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await admin.close()
