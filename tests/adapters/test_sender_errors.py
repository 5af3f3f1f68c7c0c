"""Each failure class of docs/platforms.md, produced by the fakes, and what the sender does."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import discord

from bot.delivery.sender import Sender
from bot.subscriptions import ChatSettings, Destination
from tests.adapters.sender_rig import (
    NETFLIX_WORLD,
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

TELEGRAM_FAST = {
    "telegram_per_second": 300.0,
    "telegram_per_chat_per_second": 10.0,
    "telegram_per_group_per_minute": 200.0,
    "telegram_reply_reserve_per_second": 20.0,
}


async def test_telegram_flood_control_pauses_and_loses_nothing(
    tmp_path: Path, make_fake_telegram: Any
) -> None:
    # The fake allows 30 messages per 0.5 s; the sender believes in ten times more.
    fake: FakeTelegram = await make_fake_telegram(time_scale=0.5, per_chat_per_s=None)
    chats = list(range(1, 121))
    async with open_rig(tmp_path) as rig, telegram_bot(fake) as bot:
        await rig.subscribe("telegram", chats)
        await rig.publish(burst(1))
        config = fast_config(**{**TELEGRAM_FAST, "telegram_per_second": 600.0})
        sender = Sender(rig.outbox, [telegram_sender(bot)], rig.subscriptions, config)
        async with running(sender):
            counts = await rig.settled(60)
    assert fake.rate_limited > 0
    assert sender.stats.rate_limited == fake.rate_limited
    assert counts.sent == len(chats) and counts.dead == 0 and counts.failed == 0
    assert Counter(m.chat_id for m in fake.sent) == dict.fromkeys(chats, 1)


async def test_blocked_and_kicked_chats_are_deactivated_with_subscriptions_kept(
    tmp_path: Path, make_fake_telegram: Any
) -> None:
    fake: FakeTelegram = await make_fake_telegram(time_scale=0.1)
    fake.add_chat(-3001, "group")
    fake.block_chat(1002)  # the user blocked the bot
    fake.block_chat(-3001)  # the bot was kicked from the group
    async with open_rig(tmp_path) as rig, telegram_bot(fake) as bot:
        await rig.subscribe("telegram", [1001, 1002, 1003, -3001])
        await rig.publish(burst(2))
        sender = Sender(
            rig.outbox, [telegram_sender(bot)], rig.subscriptions, fast_config(**TELEGRAM_FAST)
        )
        async with running(sender):
            counts = await rig.settled()
        blocked = Destination("telegram", "1002")
        kicked = Destination("telegram", "-3001")
        blocked_state = await rig.subscriptions.destination_state(blocked)
        kicked_state = await rig.subscriptions.destination_state(kicked)
        kept = await rig.subscriptions.subscriptions_of(blocked)
        dead = await rig.outbox.dead_letters()
    assert blocked_state is not None and not blocked_state.active
    assert "blocked by the user" in blocked_state.reason
    assert kicked_state is not None and not kicked_state.active
    assert "kicked" in kicked_state.reason
    assert [s.spec for s in kept] == [NETFLIX_WORLD]
    assert counts.sent == 4 and counts.dead == 4
    assert {d.destination for d in dead} == {blocked, kicked}
    assert all(d.reason.startswith("destination inactive: Forbidden") for d in dead)
    assert {m.chat_id for m in fake.sent} == {1001, 1003}
    assert sender.stats.deactivated == 2


async def test_a_migrated_group_is_followed_and_the_alert_sent_again(
    tmp_path: Path, make_fake_telegram: Any
) -> None:
    fake: FakeTelegram = await make_fake_telegram(time_scale=0.1)
    fake.add_chat(-4001, "group")
    fake.migrate_chat(-4001, -1_000_000_004_001)
    async with open_rig(tmp_path) as rig, telegram_bot(fake) as bot:
        await rig.subscribe("telegram", [-4001])
        await rig.publish(burst(3))
        sender = Sender(
            rig.outbox, [telegram_sender(bot)], rig.subscriptions, fast_config(**TELEGRAM_FAST)
        )
        async with running(sender):
            counts = await rig.settled()
        moved = await rig.subscriptions.subscriptions_of(Destination("telegram", "-1000000004001"))
        left = await rig.subscriptions.subscriptions_of(Destination("telegram", "-4001"))
    assert [s.spec for s in moved] == [NETFLIX_WORLD] and left == []
    assert counts.sent == 3 and counts.dead == 0
    [message] = fake.sent
    assert message.chat_id == -1_000_000_004_001
    assert message.text is not None and message.text.startswith("3 chart updates")
    assert sender.stats.moved == 1


async def test_server_errors_are_retried_with_backoff(
    tmp_path: Path, make_fake_telegram: Any
) -> None:
    fake: FakeTelegram = await make_fake_telegram(time_scale=0.1)
    fake.fail_next("sendMessage", 500, n=2)
    fake.fail_next("sendMessage", 502, n=1)
    async with open_rig(tmp_path) as rig, telegram_bot(fake) as bot:
        await rig.subscribe("telegram", [1001])
        await rig.publish(burst(2))
        sender = Sender(
            rig.outbox, [telegram_sender(bot)], rig.subscriptions, fast_config(**TELEGRAM_FAST)
        )
        async with running(sender):
            counts = await rig.settled()
    assert counts.sent == 2 and counts.dead == 0
    assert len(fake.sent) == 1
    assert sender.stats.retries_scheduled == 3
    statuses = [r.status for r in fake.requests if r.method == "sendMessage"]
    assert statuses == [500, 500, 502, 200]


async def test_a_lasting_server_error_ends_as_a_dead_letter_with_its_reason(
    tmp_path: Path, make_fake_telegram: Any
) -> None:
    fake: FakeTelegram = await make_fake_telegram(time_scale=0.1)
    fake.fail_next("sendMessage", 500, n=10)
    async with open_rig(tmp_path) as rig, telegram_bot(fake) as bot:
        await rig.subscribe("telegram", [1001])
        await rig.publish(burst(1))
        config = fast_config(**TELEGRAM_FAST, max_attempts=3)
        sender = Sender(rig.outbox, [telegram_sender(bot)], rig.subscriptions, config)
        async with running(sender):
            counts = await rig.settled()
            [dead] = await rig.outbox.dead_letters()
            assert await rig.outbox.requeue_dead(datetime.now(UTC)) == 1
            # Re-queued, it fails on: the fake still has 7 failures in store.
            counts_after = await rig.settled()
    assert counts.dead == 1 and counts.sent == 0
    assert dead.reason.startswith("gave up after 3 attempts")
    assert "Internal Server Error" in dead.reason
    assert dead.attempts == 2  # two failures recorded before the third gave up
    assert counts_after.dead == 1
    assert [r.status for r in fake.requests if r.method == "sendMessage"] == [500] * 6


async def test_telegram_timeout_after_sending_is_retried_once_and_counted(
    tmp_path: Path, make_fake_telegram: Any
) -> None:
    fake: FakeTelegram = await make_fake_telegram(time_scale=0.1)
    fake.delay_next("sendMessage", 2.0)  # delivered, but the answer comes too late
    async with open_rig(tmp_path) as rig, telegram_bot(fake, read_timeout=0.3) as bot:
        await rig.subscribe("telegram", [1001])
        await rig.publish(burst(2))
        sender = Sender(
            rig.outbox, [telegram_sender(bot)], rig.subscriptions, fast_config(**TELEGRAM_FAST)
        )
        async with running(sender):
            counts = await rig.settled()
    # Telegram has no idempotency key: the retry is a duplicate, which beats a loss.
    assert [m.ambiguous for m in fake.sent] == [True, False]
    assert fake.sent[0].text == fake.sent[1].text
    assert counts.sent == 2 and counts.uncertain == 2  # both deliveries of that message
    assert sender.stats.uncertain == 1


async def test_a_second_timeout_after_sending_is_not_retried_again(
    tmp_path: Path, make_fake_telegram: Any
) -> None:
    fake: FakeTelegram = await make_fake_telegram(time_scale=0.1)
    fake.delay_next("sendMessage", 2.0, n=2)
    async with open_rig(tmp_path) as rig, telegram_bot(fake, read_timeout=0.3) as bot:
        await rig.subscribe("telegram", [1001])
        await rig.publish(burst(1))
        sender = Sender(
            rig.outbox, [telegram_sender(bot)], rig.subscriptions, fast_config(**TELEGRAM_FAST)
        )
        async with running(sender):
            counts = await rig.settled()
            [dead] = await rig.outbox.dead_letters()
    assert len(fake.sent) == 2 and counts.dead == 1
    assert dead.reason.startswith("timed out twice after sending")
    assert sender.stats.uncertain == 2


async def test_discord_timeout_after_sending_is_deduplicated_by_the_nonce(
    tmp_path: Path, make_fake_discord: Any
) -> None:
    fake: FakeDiscord = await make_fake_discord(time_scale=0.1)
    add_channels(fake, [800_001, 800_002])
    fake.delay_next("/channels/800001/messages", 2.0, method="POST")
    async with open_rig(tmp_path) as rig, discord_client(fake) as client:
        await rig.subscribe("discord", [800_001, 800_002])
        await rig.publish(burst(2))
        config = fast_config(send_timeout_seconds=0.3, discord_per_second=400)
        sender = Sender(rig.outbox, [discord_sender(client)], rig.subscriptions, config)
        async with running(sender):
            counts = await rig.settled()
    assert counts.sent == 4 and counts.uncertain == 2
    assert sender.stats.uncertain == 1
    # The retry carried the same nonce: Discord answered with the message it already had.
    assert fake.deduplicated == 1
    assert Counter(m.channel_id for m in fake.messages) == {800_001: 1, 800_002: 1}


async def test_discord_lost_channels_are_deactivated_and_the_owner_told(
    tmp_path: Path, make_fake_discord: Any
) -> None:
    fake: FakeDiscord = await make_fake_discord(time_scale=0.1)
    add_channels(fake, [900_001, 900_002, 900_003])
    async with open_rig(tmp_path) as rig:
        # A guilds-intent client caches the channels, so the owner of the server is known.
        intents = discord.Intents.none()
        intents.guilds = True
        client = discord.Client(intents=intents, guild_ready_timeout=0.05)
        async with run_client(client, fake.token):
            fake.revoke_access(900_002, 50001)
            await rig.subscribe("discord", [900_001, 900_002])
            await rig.publish(burst(1))
            sender = Sender(rig.outbox, [discord_sender(client)], rig.subscriptions, fast_config())
            async with running(sender):
                await rig.settled()
                fake.delete_channel(900_001, notify_gateway=False)
                await rig.subscribe("discord", [900_003])
                await rig.publish(burst(1, title_prefix="Later"))
                counts = await rig.settled()
        states = {
            channel: await rig.subscriptions.destination_state(Destination("discord", str(channel)))
            for channel in (900_001, 900_002, 900_003)
        }
        kept = await rig.subscriptions.subscriptions_of(Destination("discord", "900002"))
    assert states[900_002] is not None and states[900_002].reason == "missing access"
    assert states[900_001] is not None and states[900_001].reason == "unknown channel"
    assert states[900_003] is not None and states[900_003].active
    assert all(not states[c].active for c in (900_001, 900_002))  # type: ignore[union-attr]
    assert [s.spec for s in kept] == [NETFLIX_WORLD]
    assert counts.sent == 2 and counts.dead == 2
    owner_dms = [m for m in fake.messages if m.channel_id not in (900_001, 900_002, 900_003)]
    assert len(owner_dms) == 2
    assert all("can no longer post alerts" in m.content for m in owner_dms)
    dm_channel_ids = {m.channel_id for m in owner_dms}
    assert len(dm_channel_ids) == 1  # the same owner, one DM channel
    assert sender.stats.deactivated == 2


async def test_quiet_hours_hold_alerts_until_they_end_then_send_one_digest(
    tmp_path: Path, make_fake_telegram: Any
) -> None:
    fake: FakeTelegram = await make_fake_telegram(time_scale=0.1)
    shift = [timedelta(0)]

    def clock() -> datetime:
        return datetime.now(UTC) + shift[0]

    # Quiet from an hour ago to an hour from now, in Tokyo's local time.
    tokyo = ZoneInfo("Asia/Tokyo")
    local = datetime.now(tokyo)
    night = ChatSettings(
        timezone="Asia/Tokyo",
        quiet_start=(local - timedelta(hours=1)).time().replace(second=0, microsecond=0),
        quiet_end=(local + timedelta(hours=1)).time().replace(second=0, microsecond=0),
    )
    async with open_rig(tmp_path) as rig, telegram_bot(fake) as bot:
        await rig.subscribe("telegram", [1001], settings=night)
        await rig.subscribe("telegram", [1002])  # no quiet hours
        sender = Sender(
            rig.outbox,
            [telegram_sender(bot)],
            rig.subscriptions,
            fast_config(**TELEGRAM_FAST),
            clock=clock,
        )
        async with running(sender):
            await rig.publish(burst(1, title_prefix="Evening"))
            await rig.wait_for_counts(lambda c: c.sent == 1)
            await rig.publish(burst(2, title_prefix="Night"))
            await rig.wait_for_counts(lambda c: c.sent == 3)
            held = await rig.counts()
            sent_during_quiet = [m.chat_id for m in fake.sent]
            shift[0] = timedelta(hours=1, minutes=1)
            counts = await rig.settled()
    assert held.pending == 3 and sent_during_quiet == [1002, 1002]
    assert counts.sent == 6
    [digest] = [m for m in fake.sent if m.chat_id == 1001]
    assert digest.text is not None and digest.text.startswith("3 chart updates")
    assert sender.stats.held_for_quiet_hours >= 1
