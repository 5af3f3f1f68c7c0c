"""Flood-control answers are counted where they arrive, per platform: also those that
python-telegram-bot's rate limiter and discord.py wait out and retry without raising."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import discord

from bot.commands import CommandService
from handlers.discord.notifier import rate_limit_trace
from handlers.metrics import PrometheusMetrics
from handlers.telegram.adapter import TelegramAdapter
from handlers.telegram.settings import TelegramSettings
from tests.adapters.sender_rig import GUILD_ID, add_channels, open_rig
from tests.fakes import FakeDiscord, FakeTelegram, run_client

USER_ID = 4242


def rate_limited(metrics: PrometheusMetrics, platform: str) -> float | None:
    return metrics.registry.get_sample_value("top10bot_rate_limited_total", {"platform": platform})


async def test_a_telegram_429_that_ptb_waits_out_and_retries_is_counted(
    tmp_path: Path, make_fake_telegram: Any
) -> None:
    # One message per chat per 2 s: the second send is refused; PTB waits and sends it again.
    only_per_chat = {"overall_per_s": None, "per_group_per_min": None}
    fake: FakeTelegram = await make_fake_telegram(per_chat_per_s=1, time_scale=2.0, **only_per_chat)
    metrics = PrometheusMetrics()
    async with open_rig(tmp_path) as rig:
        settings = TelegramSettings(
            token=fake.token,
            base_url=fake.base_url,
            base_file_url=fake.base_file_url,
            poll_timeout=0.2,
            flood_retries=1,
        )
        service = CommandService(rig.storage, rig.subscriptions)
        adapter = TelegramAdapter(service, settings, rig.lifecycle, metrics)
        await adapter.start()
        try:
            for text in ("first", "second"):
                await adapter.notifier.send(str(USER_ID), text)  # raises if PTB gave up
        finally:
            await adapter.stop()

    assert [m.text for m in fake.sent if m.chat_id == USER_ID] == ["first", "second"]
    assert fake.rate_limited == 1
    assert rate_limited(metrics, "telegram") == fake.rate_limited


async def test_a_discord_429_that_discord_py_retries_is_counted(
    make_fake_discord: Any,
) -> None:
    fake: FakeDiscord = await make_fake_discord()
    channel_ids = [800_000_000_000_000_001, 800_000_000_000_000_002]
    add_channels(fake, channel_ids)
    metrics = PrometheusMetrics()
    client = discord.Client(
        intents=discord.Intents.none(),
        guild_ready_timeout=0.05,
        http_trace=rate_limit_trace(metrics),
    )
    async with run_client(client, fake.token):
        fake.overall_per_s = 1
        fake.time_scale = 0.5  # a "second" of the global window lasts 0.5 s
        # Two channels are two discord.py buckets, so both sends go out at once.
        channels = [client.get_partial_messageable(c, guild_id=GUILD_ID) for c in channel_ids]
        await asyncio.gather(*(c.send(f"alert {i}") for i, c in enumerate(channels)))

    assert sorted(m.content for m in fake.messages) == ["alert 0", "alert 1"]
    assert fake.rate_limited == 1
    assert rate_limited(metrics, "discord") == fake.rate_limited
