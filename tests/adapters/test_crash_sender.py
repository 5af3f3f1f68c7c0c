"""SIGKILL the bot process in the middle of a fan-out, several times, and restart it: no delivery
is lost, Telegram repeats at most one message per kill, Discord none (the nonce)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.adapters.sender_rig import add_channels, burst, open_rig
from tests.fakes import FakeDiscord, FakeTelegram

REPO_ROOT = Path(__file__).resolve().parents[2]
TELEGRAM_CHATS = list(range(10_001, 10_301))
DISCORD_CHANNELS = list(range(20_001, 20_301))
# Kill when this share of the chats has its alert: early, middle, late.
KILL_POINTS = (0.1, 0.3, 0.5, 0.7, 0.85)


def bot_config(
    url: str,
    telegram: FakeTelegram,
    *,
    lease_seconds: float = 1.0,
    idle_poll_seconds: float = 0.1,
    headroom: float = 0.1,
) -> str:
    # The fakes run ten times faster than the platforms (time_scale=0.1): the sender is told
    # the scaled ceilings. A short lease brings a killed process's claims back quickly.
    return f"""
[storage]
url = "{url}"

[console]
enabled = false

[telegram]
base_url = "{telegram.base_url}"
base_file_url = "{telegram.base_file_url}"
rate_limiter = false
poll_timeout = 0.5

[discord]
sync_commands = false

[delivery]
telegram_per_second = 300
telegram_per_chat_per_second = 10
telegram_per_group_per_minute = 200
telegram_reply_reserve_per_second = 20
discord_per_second = 400
discord_channel_seconds = 0.5
headroom = {headroom}
ceiling_window_seconds = 0.1
lease_seconds = {lease_seconds}
idle_poll_seconds = {idle_poll_seconds}
retry_base_seconds = 0.1
retry_max_seconds = 0.5
"""


async def start_crash_bot(
    config: Path,
    discord_fake: FakeDiscord,
    environ: dict[str, str],
    log_path: Path,
    *role: str,
) -> asyncio.subprocess.Process:
    """`tests.adapters.crash_bot` in a process of its own (`role`: `run --role`'s, default all
    without polling); its output goes to `log_path` (read it when a test fails)."""
    with log_path.open("wb") as log:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.adapters.crash_bot",
            str(config),
            discord_fake.api_base,
            discord_fake.gateway_url,
            *role,
            cwd=REPO_ROOT,
            env=environ,
            stdout=log,
            stderr=log,
        )


@pytest.mark.slow
async def test_sigkill_mid_fan_out_loses_nothing_and_repeats_little(
    tmp_path: Path, make_fake_telegram: Any, make_fake_discord: Any
) -> None:
    telegram: FakeTelegram = await make_fake_telegram(time_scale=0.1)
    discord_fake: FakeDiscord = await make_fake_discord(time_scale=0.1)
    add_channels(discord_fake, DISCORD_CHANNELS)
    async with open_rig(tmp_path) as rig:
        await rig.subscribe("telegram", TELEGRAM_CHATS)
        await rig.subscribe("discord", DISCORD_CHANNELS)
        await rig.publish(burst(2))
    config = tmp_path / "bot.toml"
    config.write_text(bot_config(f"sqlite:///{tmp_path / 'bot.db'}", telegram), encoding="utf-8")
    environ = {
        **os.environ,
        "TELEGRAM_TOKEN": telegram.token,
        "DISCORD_TOKEN": discord_fake.token,
    }
    total = len(TELEGRAM_CHATS) + len(DISCORD_CHANNELS)

    def reached() -> int:
        """Chats that have their alert (at least once)."""
        return len({m.chat_id for m in telegram.sent}) + len(
            {m.channel_id for m in discord_fake.messages}
        )

    async def start_bot(run: int) -> asyncio.subprocess.Process:
        return await start_crash_bot(config, discord_fake, environ, tmp_path / f"bot-{run}.log")

    reached_at_kill: list[int] = []
    for run, share in enumerate(KILL_POINTS):
        bot = await start_bot(run)
        target = int(total * share)
        await telegram.wait_until(lambda target=target: reached() >= target, 60)  # type: ignore[misc]
        bot.send_signal(signal.SIGKILL)
        await bot.wait()
        reached_at_kill.append(reached())

    bot = await start_bot(len(KILL_POINTS))
    try:
        await telegram.wait_until(lambda: reached() == total, 60)
        async with open_rig(tmp_path) as rig:
            counts = await rig.settled(60)
    finally:
        bot.send_signal(signal.SIGKILL)
        await bot.wait()

    kills = len(KILL_POINTS)
    # Every kill happened in the middle of the fan-out.
    assert all(0 < seen < total for seen in reached_at_kill), reached_at_kill
    # Nothing lost: every chat and channel has its alert, every delivery is recorded as sent.
    per_chat = Counter(m.chat_id for m in telegram.sent)
    per_channel = Counter(m.channel_id for m in discord_fake.messages)
    assert set(per_chat) == set(TELEGRAM_CHATS)
    assert set(per_channel) == set(DISCORD_CHANNELS)
    assert counts.sent == 2 * total and counts.dead == 0
    # Telegram has no idempotency key: at most the one message in flight per kill repeats.
    telegram_duplicates = sum(n - 1 for n in per_chat.values())
    assert telegram_duplicates <= kills
    # Discord: a repeat carries the same nonce and Discord returns the first message instead.
    assert set(per_channel.values()) == {1}
