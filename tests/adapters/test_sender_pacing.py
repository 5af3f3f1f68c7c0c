"""The sender against fakes that enforce the (scaled-down) ceilings: everything arrives, once,
one digest per chat, without a single 429; command replies get through during a fan-out."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from bot.commands import CommandService
from bot.delivery.sender import Sender
from handlers.discord.adapter import DiscordAdapter, DiscordSettings
from handlers.telegram.adapter import TelegramAdapter, TelegramSettings
from handlers.telegram.notifier import telegram_text_length as utf16_length
from tests.adapters.sender_rig import (
    GUILD_ID,
    add_channels,
    burst,
    discord_client,
    discord_sender,
    fast_config,
    open_rig,
    running,
    telegram_bot,
    telegram_sender,
)
from tests.fakes import FakeDiscord, FakeTelegram, run_client

# Telegram's ceilings at ten times the speed: 30 per 0.1 s overall, 1 per 0.1 s per chat,
# 20 per 6 s per group. The sender is configured 30 % under them: at ten times the speed a
# loaded 2-core machine's scheduling jitter alone can put two sends into one window (at 20 %
# under, a sender that is no longer late drew one 429 at load ~3: ~14 ms of margin; now ~21).
TELEGRAM_SCALE = 0.1
HEADROOM = 0.7
TELEGRAM_SCALED = {
    "telegram_per_second": HEADROOM * 30 / TELEGRAM_SCALE,
    "telegram_per_chat_per_second": HEADROOM * 1 / TELEGRAM_SCALE,
    "telegram_per_group_per_minute": HEADROOM * 20 / TELEGRAM_SCALE,
    "telegram_reply_reserve_per_second": 2 / TELEGRAM_SCALE,
}


async def test_telegram_fan_out_stays_under_every_ceiling(
    tmp_path: Path, make_fake_telegram: Any
) -> None:
    fake: FakeTelegram = await make_fake_telegram(time_scale=TELEGRAM_SCALE)
    private = list(range(1001, 1061))
    groups = [-2001, -2002]
    async with open_rig(tmp_path) as rig, telegram_bot(fake) as bot:
        await rig.subscribe("telegram", private + groups)
        # Many events: the groups' digests need several messages, paced at 20 per (scaled) min.
        await rig.publish(burst(40, title_prefix="A rather long title for a show number"))
        config = fast_config(**TELEGRAM_SCALED)
        sender = Sender(rig.outbox, [telegram_sender(bot)], rig.subscriptions, config)
        async with running(sender):
            counts = await rig.settled(60)
    assert fake.rate_limited == 0
    assert counts.sent == 40 * len(private + groups) and counts.dead == 0
    per_chat = Counter(message.chat_id for message in fake.sent)
    # One digest per chat; 40 events of ~150 characters need two messages of 4096.
    assert set(per_chat) == set(private + groups)
    assert set(per_chat.values()) == {2}
    for message in fake.sent:
        assert message.text is not None and utf16_length(message.text) <= 4096
        assert message.text.startswith("40 chart updates (")


async def test_discord_fan_out_stays_under_every_ceiling(
    tmp_path: Path, make_fake_discord: Any
) -> None:
    # Discord's ceilings at ten times the speed: 50 per 0.1 s overall, 5 per 0.5 s per channel.
    fake: FakeDiscord = await make_fake_discord(time_scale=0.1)
    channels = list(range(500_001, 500_081))
    add_channels(fake, channels)
    async with open_rig(tmp_path) as rig, discord_client(fake) as client:
        await rig.subscribe("discord", channels)
        await rig.publish(burst(30, title_prefix="Quite a long title for the show numbered"))
        config = fast_config(
            discord_per_second=400, discord_per_channel=5, discord_channel_seconds=0.5
        )
        sender = Sender(rig.outbox, [discord_sender(client)], rig.subscriptions, config)
        async with running(sender):
            counts = await rig.settled(60)
    assert fake.rate_limited == 0 and fake.invalid_requests == 0
    assert counts.sent == 30 * len(channels)
    per_channel = Counter(message.channel_id for message in fake.messages)
    # 30 lines of ~120 characters do not fit in 2000: two or three messages per channel.
    assert set(per_channel) == set(channels)
    assert len(set(per_channel.values())) == 1 and min(per_channel.values()) >= 2
    for message in fake.messages:
        assert len(message.content) <= 2000
        assert isinstance(message.nonce, str) and len(message.nonce) <= 25
    assert len({m.nonce for m in fake.messages}) == len(fake.messages)


async def test_telegram_command_replies_are_not_starved_by_a_fan_out(
    tmp_path: Path, make_fake_telegram: Any
) -> None:
    fake: FakeTelegram = await make_fake_telegram(time_scale=TELEGRAM_SCALE)
    chats = list(range(3001, 3301))
    async with open_rig(tmp_path) as rig:
        service = CommandService(rig.storage, rig.subscriptions)
        adapter = TelegramAdapter(
            service,
            TelegramSettings(
                token=fake.token,
                base_url=fake.base_url,
                base_file_url=fake.base_file_url,
                rate_limiter=False,
                poll_timeout=0.2,
            ),
            rig.lifecycle,
        )
        await adapter.start()
        try:
            await rig.subscribe("telegram", chats)
            await rig.publish(burst(2))
            config = fast_config(**TELEGRAM_SCALED)
            sender = Sender(rig.outbox, [adapter.notifier], rig.subscriptions, config)
            async with running(sender):
                await fake.wait_until(lambda: len(fake.sent) >= 20, 20)
                fake.inject_message(4242, "/help", from_user=4242, chat_type="private")
                await fake.wait_until(lambda: any(m.chat_id == 4242 for m in fake.sent), 20)
                alerts_before_reply = sum(1 for m in fake.sent if m.chat_id != 4242)
                await rig.settled(60)
        finally:
            await adapter.stop()
    # The reply went out while most of the fan-out was still waiting for its turn.
    assert alerts_before_reply < len(chats) // 2
    assert fake.rate_limited == 0
    assert sum(1 for m in fake.sent if m.chat_id != 4242) == len(chats)


async def test_discord_command_replies_are_not_starved_by_a_fan_out(
    tmp_path: Path, make_fake_discord: Any
) -> None:
    fake: FakeDiscord = await make_fake_discord(time_scale=0.1)
    channels = list(range(600_001, 600_301))
    add_channels(fake, channels)
    async with open_rig(tmp_path) as rig:
        service = CommandService(rig.storage, rig.subscriptions)
        adapter = DiscordAdapter(
            service, DiscordSettings(token=fake.token, sync_commands=True), rig.lifecycle
        )
        async with run_client(adapter.client, fake.token):
            await rig.subscribe("discord", channels)
            await rig.publish(burst(2))
            config = fast_config(discord_per_second=400, discord_channel_seconds=0.5)
            sender = Sender(rig.outbox, [adapter.notifier], rig.subscriptions, config)
            async with running(sender):
                await fake.wait_until(lambda: len(fake.messages) >= 20, 20)
                interaction = await fake.send_interaction(
                    "help", channel_id=channels[0], user_id=77, guild_id=GUILD_ID
                )
                await fake.wait_for_response(interaction, 1, 20)
                alerts_before_reply = len(fake.messages)
                await rig.settled(60)
    assert alerts_before_reply < len(channels) // 2
    assert fake.rate_limited == 0
    assert len(fake.messages) == len(channels)
