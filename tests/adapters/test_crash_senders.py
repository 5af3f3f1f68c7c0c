"""Two sender processes (`top10bot run --role sender`) share one PostgreSQL store and fan a burst
out to 10,000 chats, half on Telegram, half on Discord. One is SIGKILLed in the middle and
restarted: nothing is lost, Telegram repeats at most the one message in flight, Discord nothing
(the nonce), and together they never cross a ceiling (the budget is shared through the store)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bot.ports import Batch, DeliveryCounts
from bot.roles import Role
from bot.subscriptions import Destination
from storage.postgres import PostgresBackend
from tests.adapters.sender_rig import burst, subscribe_many
from tests.adapters.test_crash_sender import bot_config, start_crash_bot
from tests.fakes import FakeDiscord, FakeTelegram
from tests.integration.postgres_server import fresh_postgres_url

TELEGRAM_CHATS = list(range(100_001, 105_001))
FIRST_GUILD = 710_000_000_000_000_000
DISCORD_CHANNELS = list(range(810_000_000_000_000_000, 810_000_000_000_005_000))
CHANNELS_PER_GUILD = 50
EVENTS = 2
# Kill one sender once this share of the chats has its message.
KILL_AT = 0.4
PATIENCE = 240.0  # bounds on waits of tens of seconds: they only stop a hang


def add_guilds(fake: FakeDiscord) -> None:
    for start in range(0, len(DISCORD_CHANNELS), CHANNELS_PER_GUILD):
        guild = FIRST_GUILD + start
        fake.add_guild(guild, f"Guild {start}")
        for channel in DISCORD_CHANNELS[start : start + CHANNELS_PER_GUILD]:
            fake.add_channel(guild, channel, f"alerts-{channel}")


async def counts_of(url: str) -> DeliveryCounts:
    backend = await PostgresBackend.open(url)
    try:
        return await backend.outbox.counts()
    finally:
        await backend.close()


@pytest.mark.slow
@pytest.mark.timeout(PATIENCE * 2)  # about two minutes on a loaded machine
async def test_two_senders_one_killed_mid_fan_out_lose_nothing_and_stay_under_the_ceilings(
    tmp_path: Path, make_fake_telegram: Any, make_fake_discord: Any
) -> None:
    telegram: FakeTelegram = await make_fake_telegram(time_scale=0.1)
    discord_fake: FakeDiscord = await make_fake_discord(time_scale=0.1)
    add_guilds(discord_fake)
    url = await fresh_postgres_url()
    store = await PostgresBackend.open(url)
    try:
        await store.migrate()
        await subscribe_many(
            store,
            [Destination("telegram", str(chat)) for chat in TELEGRAM_CHATS]
            + [Destination("discord", str(channel)) for channel in DISCORD_CHANNELS],
        )
    finally:
        await store.close()
    config = tmp_path / "sender.toml"
    # Each sender is told the (scaled) ceilings of the whole platform; they share them
    # ([delivery] shared_budget, "auto" on PostgreSQL). A three-second lease brings a killed
    # sender's claims back quickly, yet outlasts a loaded machine's pauses. 30 % headroom: the
    # fakes run in this test's event loop, and a pause of it lets requests pile up and be
    # counted in one of their 0.1 s windows (once in a full-suite run, 10 % saw one 429).
    config.write_text(
        bot_config(url, telegram, lease_seconds=3.0, idle_poll_seconds=1.0, headroom=0.3),
        encoding="utf-8",
    )
    environ = {**os.environ, "TELEGRAM_TOKEN": telegram.token, "DISCORD_TOKEN": discord_fake.token}
    total = len(TELEGRAM_CHATS) + len(DISCORD_CHANNELS)

    def messages() -> int:
        return len(telegram.sent) + len(discord_fake.messages)

    async def start_sender(name: str) -> asyncio.subprocess.Process:
        log = tmp_path / f"{name}.log"
        return await start_crash_bot(config, discord_fake, environ, log, Role.SENDER)

    senders = {name: await start_sender(name) for name in ("a", "b")}
    try:
        # The poller's transaction: the events and their 20,000 deliveries, and the NOTIFY
        # that wakes the senders.
        poller = await PostgresBackend.open(url)
        try:
            await poller.save_batch(Batch(events=burst(EVENTS)), queue_deliveries=True)
        finally:
            await poller.close()
        await telegram.wait_until(lambda: messages() >= total * KILL_AT, PATIENCE)
        senders["a"].send_signal(signal.SIGKILL)
        killed_at = time.time()
        await senders["a"].wait()
        at_kill = messages()
        senders["a"] = await start_sender("a-again")
        await telegram.wait_until(lambda: messages() >= total, PATIENCE)
        async with asyncio.timeout(PATIENCE):
            while (counts := await counts_of(url)).pending or counts.failed:  # noqa: ASYNC110
                await asyncio.sleep(0.2)
    finally:
        for process in senders.values():
            if process.returncode is None:
                process.send_signal(signal.SIGKILL)
                await process.wait()

    assert 0 < at_kill < total  # the kill happened in the middle of the fan-out
    # Nothing lost: every chat and channel has its message, every delivery is recorded as sent.
    per_chat = Counter(m.chat_id for m in telegram.sent)
    per_channel = Counter(m.channel_id for m in discord_fake.messages)
    assert set(per_chat) == set(TELEGRAM_CHATS)
    assert set(per_channel) == set(DISCORD_CHANNELS)
    assert (counts.sent, counts.dead) == (EVENTS * total, 0)
    # Telegram has no idempotency key: at most the one message in flight repeats per kill.
    repeated = {chat: n for chat, n in per_chat.items() if n > 1}
    assert sum(n - 1 for n in repeated.values()) <= 1, (
        repeated,
        [(m.chat_id, m.timestamp) for m in telegram.sent if m.chat_id in repeated],
        killed_at,
    )
    # Discord: a repeat carries the same nonce and Discord returns the first message instead.
    assert set(per_channel.values()) == {1}
    # Two senders, each told the whole ceiling, shared it: not one flood-control answer.
    refused = [r for r in discord_fake.requests if r.status == 429]
    assert (telegram.rate_limited, discord_fake.rate_limited) == (0, 0), refused
