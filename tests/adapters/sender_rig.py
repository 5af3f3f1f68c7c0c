"""Shared set-up of the delivery-engine tests: a real SQLite store with subscriptions and the
outbox, bursts of events, the sender running in the background, and the real PTB / discord.py
clients pointed at the fakes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import discord
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.commands import CommandService
from bot.delivery.config import DeliveryConfig
from bot.delivery.lanes import SenderStats
from bot.delivery.lifecycle import DestinationLifecycle
from bot.delivery.sender import Sender
from bot.events import Event, EventType
from bot.models import WORLD, ChartKey
from bot.ports import (
    Backend,
    Batch,
    DeliveryCounts,
    Notifier,
    Outbox,
    Storage,
    SubscriptionStore,
)
from bot.subscriptions import ChatSettings, Destination, SubscriptionSpec
from handlers.discord.adapter import DiscordAdapter
from handlers.discord.notifier import DiscordNotifier
from handlers.discord.settings import DiscordSettings
from handlers.telegram.notifier import TelegramNotifier
from storage import codec
from storage.postgres import PostgresBackend
from storage.sqlite import SqliteBackend
from storage.sqlite.outbox import SqliteOutbox
from storage.sqlite.subscriptions import SqliteSubscriptionStore
from tests.fakes import FakeDiscord, FakeTelegram, run_client

CHART = ChartKey("netflix", "netflix", WORLD, "TV (English)", "weekly")
NETFLIX_WORLD = SubscriptionSpec(service="netflix", region=WORLD, details=True)
GUILD_ID = 700_000_000_000_000_001
GUILD_OWNER = 42


def burst(count: int = 3, *, title_prefix: str = "Show", chart: ChartKey = CHART) -> list[Event]:
    """`count` events of one chart and period (today, so no catch-up rule drops them)."""
    today = datetime.now(UTC).date()
    kinds = [EventType.NEW_NUMBER_ONE, EventType.ENTERED, EventType.CLIMBED, EventType.LEFT]
    return [
        Event(
            kinds[i % len(kinds)],
            chart,
            today,
            f"{title_prefix.lower()}-{i}",
            f"{title_prefix} {i}",
            None,
            rank=1 + i % 10,
            previous_rank=5 + i % 5,
        )
        for i in range(count)
    ]


@dataclass
class Rig:
    storage: SqliteBackend
    subscriptions: SqliteSubscriptionStore
    outbox: SqliteOutbox

    async def subscribe(
        self,
        platform: str,
        chat_ids: Iterable[int | str],
        spec: SubscriptionSpec = NETFLIX_WORLD,
        settings: ChatSettings | None = None,
    ) -> list[Destination]:
        destinations = []
        for chat_id in chat_ids:
            destination = Destination.from_address(platform, str(chat_id))
            await self.subscriptions.add_subscription(destination, spec)
            if settings is not None:
                await self.subscriptions.save_settings(destination, settings)
            destinations.append(destination)
        return destinations

    @property
    def lifecycle(self) -> DestinationLifecycle:
        """What the adapters call when a chat is gone or moved (the sender builds the same)."""
        return DestinationLifecycle(self.subscriptions, self.outbox)

    async def publish(self, events: Sequence[Event]) -> list[Event]:
        """Store events as the pipeline does: deliveries are queued in the same transaction."""
        saved = await self.storage.save_batch(Batch(events=list(events)), queue_deliveries=True)
        return saved.events

    async def counts(self) -> DeliveryCounts:
        return await self.outbox.counts()

    async def wait_for_counts(
        self, check: Callable[[DeliveryCounts], bool], max_wait_s: float = 20.0
    ) -> DeliveryCounts:
        """Poll the outbox until `check` holds (a bound against hangs, not a timing assertion)."""
        async with asyncio.timeout(max_wait_s):
            # The outbox is a database another task writes to: there is no event to wait on.
            while not check(counts := await self.counts()):  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        return counts

    async def settled(self, max_wait_s: float = 20.0) -> DeliveryCounts:
        """Wait until nothing is pending or scheduled for a retry."""
        return await self.wait_for_counts(lambda c: c.pending == 0 and c.failed == 0, max_wait_s)


async def deliver(
    storage: Storage,
    outbox: Outbox,
    subscriptions: SubscriptionStore,
    notifier: Notifier,
    events: Sequence[Event],
) -> SenderStats:
    """Store events as a live poll does (their deliveries are queued with them), then send what
    is due through `notifier` until nothing is left, as `top10bot deliveries send` does. Every
    event is listed (no catch-up summary), whatever its age."""
    await storage.save_batch(Batch(events=list(events)), queue_deliveries=True)
    sender = Sender(outbox, [notifier], subscriptions, fast_config(), catchup_max_age=None)
    await sender.run(until_idle=True)
    return sender.stats


@asynccontextmanager
async def open_rig(path: Path) -> AsyncIterator[Rig]:
    storage = await SqliteBackend.open(path / "bot.db")
    await storage.migrate()
    try:
        yield Rig(storage, storage.subscriptions, storage.outbox)
    finally:
        await storage.close()


def fast_config(**overrides: float | int | str) -> DeliveryConfig:
    """Short waits so tests settle quickly; ceilings are set per test to match the fakes.

    The fakes run ten times faster than the platforms, so their windows are ten times shorter
    (`ceiling_window_seconds`) and the sender's margin below each ceiling (`headroom`) must
    absorb the same network and event-loop jitter in a tenth of the time: 10 % here instead of
    the default 2 %.
    """
    values: dict[str, float | int | str] = {
        "headroom": 0.1,
        "ceiling_window_seconds": 0.1,
        "idle_poll_seconds": 0.05,
        "retry_base_seconds": 0.05,
        "retry_max_seconds": 0.2,
        "uncertain_retry_seconds": 0.05,
        "lease_seconds": 5.0,
        "send_timeout_seconds": 5.0,
    }
    values.update(overrides)
    return DeliveryConfig.from_table(values)


@asynccontextmanager
async def running(sender: Sender) -> AsyncIterator[Sender]:
    task = asyncio.create_task(sender.run())
    try:
        yield sender
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@asynccontextmanager
async def telegram_bot(fake: FakeTelegram, *, read_timeout: float = 5.0) -> AsyncIterator[Bot]:
    bot = Bot(
        fake.token,
        base_url=fake.base_url,
        base_file_url=fake.base_file_url,
        request=HTTPXRequest(connection_pool_size=16, read_timeout=read_timeout),
    )
    await bot.initialize()
    try:
        yield bot
    finally:
        await bot.shutdown()


@asynccontextmanager
async def discord_client(fake: FakeDiscord) -> AsyncIterator[discord.Client]:
    """A discord.py client logged in and connected to the (patched-in) fake gateway."""
    client = discord.Client(intents=discord.Intents.none(), guild_ready_timeout=0.05)
    async with run_client(client, fake.token):
        yield client


@asynccontextmanager
async def discord_adapter_running(
    fake: FakeDiscord, service: CommandService, lifecycle: DestinationLifecycle
) -> AsyncIterator[DiscordAdapter]:
    """The real Discord adapter, connected to the fake and ready; stopped on the way out."""
    settings = DiscordSettings(token=fake.token, guild_ready_timeout=0.05)
    adapter = DiscordAdapter(service, settings, lifecycle)
    task = asyncio.create_task(adapter.run())
    try:
        await asyncio.wait_for(adapter.wait_until_ready(), 10)
        yield adapter
    finally:
        await adapter.stop()
        await asyncio.wait_for(task, 10)


def add_channels(fake: FakeDiscord, channel_ids: Iterable[int]) -> None:
    if GUILD_ID not in fake.guilds:
        fake.add_guild(GUILD_ID, "Chart fans", owner_id=GUILD_OWNER)
    for channel_id in channel_ids:
        fake.add_channel(GUILD_ID, channel_id, f"alerts-{channel_id}")


def telegram_sender(bot: Bot) -> TelegramNotifier:
    return TelegramNotifier(bot)


def discord_sender(client: discord.Client) -> DiscordNotifier:
    return DiscordNotifier(client)


async def subscribe_many(
    backend: Backend, destinations: Sequence[Destination], spec: SubscriptionSpec = NETFLIX_WORLD
) -> None:
    """Bulk-insert destinations with one subscription each into a SQLite or PostgreSQL store
    (tens of thousands of chats: one add_subscription each would take minutes)."""
    now = codec.encode_time(datetime.now(UTC))
    rows = [(d.platform, d.chat_id, d.thread_id or "", now) for d in destinations]
    subscription = (
        spec.identity(),
        spec.service,
        spec.region,
        codec.encode_types(spec.event_types),
        int(spec.details),
        now,
    )
    add_destination = (
        "INSERT INTO destinations (platform, chat_id, thread_id, changed_at) VALUES (?, ?, ?, ?)"
    )
    add_subscriptions = (
        "INSERT INTO subscriptions (destination_id, identity, service, region, event_types,"
        " details, created_at) SELECT id, ?, ?, ?, ?, ?, ? FROM destinations"
        " WHERE id NOT IN (SELECT destination_id FROM subscriptions)"
    )
    if isinstance(backend, PostgresBackend):
        async with backend.database.transaction() as pg:
            await pg.executemany(numbered(add_destination), rows)
            await pg.execute(numbered(add_subscriptions), *subscription)
    elif isinstance(backend, SqliteBackend):
        async with backend.database.transaction() as lite:
            await lite.executemany(add_destination, rows)
            await lite.execute(add_subscriptions, subscription)
    else:
        raise TypeError(f"no bulk insert into {type(backend).__name__}")


def numbered(sql: str) -> str:
    """SQLite's ? placeholders as PostgreSQL's $1, $2, …"""
    parts = sql.split("?")
    return "".join(f"{part}${i}" for i, part in enumerate(parts[:-1], start=1)) + parts[-1]
