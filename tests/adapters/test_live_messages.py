"""/live against the fake Telegram and Discord servers, with the real python-telegram-bot and
discord.py: the Top 10 message is posted once, edited in place (not sent again) when a new week
is accepted, posted again after someone deleted it, and still edited by a new instance of the
bot on the same SQLite store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.commands import Caller, CommandRateLimiter, CommandService
from bot.delivery.lifecycle import DestinationLifecycle
from bot.delivery.sender import Sender
from bot.models import Chart
from bot.ports import MessageGone, Notifier
from bot.subscriptions import Destination
from handlers.discord.notifier import DiscordNotifier
from handlers.telegram.adapter import TelegramAdapter, TelegramSettings
from handlers.telegram.notifier import TelegramNotifier
from storage.sqlite import SqliteBackend
from tests.adapters.sender_rig import (
    add_channels,
    discord_client,
    fast_config,
    running,
    telegram_bot,
)
from tests.fakes import FakeDiscord, FakeTelegram
from tests.live_weeks import LIVE_FOOTER, accept, number_one, store_history, week

GROUP_ID = -4_000_000_001
ADMIN_ID = 4242
CHANNEL_ID = 800_000_000_000_000_001
# The fakes' ceilings run 20 times faster than the platforms: so does the sender's pacing.
SCALE = 0.05
CONFIG = fast_config(
    telegram_per_chat_per_second=1 / SCALE,
    telegram_per_group_per_minute=20 / SCALE,
    discord_channel_seconds=5.0 * SCALE,
)


@dataclass
class Bot:
    """One instance of the bot on the store: commands, and a sender that also keeps the live
    messages (as bot.app wires them)."""

    storage: SqliteBackend
    service: CommandService
    sender: Sender

    async def accept(self, chart: Chart) -> None:
        """A new week arrives as a live poll stores it, and wakes the sender."""
        await accept(self.storage, chart, sink=self.sender.on_new_events)


MakeNotifier = Callable[[CommandService, SqliteBackend], AbstractAsyncContextManager[Notifier]]


@asynccontextmanager
async def bot_on(db: Path, make_notifier: MakeNotifier) -> AsyncIterator[Bot]:
    storage = await SqliteBackend.open(db)
    await storage.migrate()
    try:
        service = CommandService(
            storage,
            storage.subscriptions,
            rate_limiter=CommandRateLimiter(burst=100, per_seconds=1),
            live=storage.live,
        )
        async with make_notifier(service, storage) as notifier:
            sender = Sender(
                storage.outbox,
                [notifier],
                storage.subscriptions,
                CONFIG,
                live=storage.live,
                charts=storage,
            )
            service.on_live_change = sender.wake
            async with running(sender):
                yield Bot(storage, service, sender)
    finally:
        await storage.close()


async def history(db: Path) -> None:
    storage = await SqliteBackend.open(db)
    await storage.migrate()
    try:
        await store_history(storage, week(0))
    finally:
        await storage.close()


async def stored_message_id(bot: Bot, destination: Destination, expected: str) -> None:
    """Wait until the store holds the live message's new id (a bound against hangs only)."""
    async with asyncio.timeout(10):
        # The store is written by the sender's task: there is no event to wait on.
        while [m.message_id for m in await bot.storage.live.live_of(destination)] != [  # noqa: ASYNC110
            expected
        ]:
            await asyncio.sleep(0.02)


def is_live(text: str | None) -> bool:
    return text is not None and LIVE_FOOTER in text


@dataclass
class Platform:
    """What the scenario needs from one fake platform."""

    destination: Destination
    make_notifier: MakeNotifier
    start_live: Callable[[Bot], Awaitable[None]]  # an admin types /live world there
    posts: Callable[[], list[tuple[str, str]]]  # live Top 10 messages posted: (id, text)
    edits: Callable[[], list[tuple[str, str]]]  # edits of them: (message id, text)
    delete: Callable[[str], None]  # someone deletes a message
    wait_until: Callable[[Callable[[], bool]], Awaitable[None]]


async def live_scenario(db: Path, platform: Platform) -> None:
    await history(db)
    async with bot_on(db, platform.make_notifier) as bot:
        await platform.start_live(bot)
        await platform.wait_until(lambda: len(platform.posts()) == 1)
        [(first_id, first_text)] = platform.posts()
        assert number_one(first_text) == "Show A"

        await bot.accept(week(1))
        await platform.wait_until(lambda: len(platform.edits()) == 1)
        assert platform.edits()[0][0] == first_id
        assert number_one(platform.edits()[0][1]) == "Show B"
        assert len(platform.posts()) == 1  # edited, not sent again

        platform.delete(first_id)
        await bot.accept(week(2))
        await platform.wait_until(lambda: len(platform.posts()) == 2)
        second_id, second_text = platform.posts()[1]
        assert second_id != first_id and number_one(second_text) == "Show C"
        assert len(platform.edits()) == 1  # the edit of the deleted message changed nothing
        # Recorded before this instance stops (else the next one would post it once more).
        await stored_message_id(bot, platform.destination, second_id)

    # A new instance of the bot (a restart) on the same store edits the re-posted message.
    async with bot_on(db, platform.make_notifier) as bot:
        await bot.accept(week(3))
        await platform.wait_until(lambda: len(platform.edits()) == 2)
        assert platform.edits()[1][0] == second_id
        assert number_one(platform.edits()[1][1]) == "Show D"
        assert len(platform.posts()) == 2


async def test_telegram_live_top10_is_edited_reposted_and_kept_across_a_restart(
    tmp_path: Path, make_fake_telegram: Callable[..., Any]
) -> None:
    fake: FakeTelegram = await make_fake_telegram(time_scale=SCALE)
    fake.set_admins(GROUP_ID, [ADMIN_ID], owner_id=ADMIN_ID)

    @asynccontextmanager
    async def adapter(service: CommandService, storage: SqliteBackend) -> AsyncIterator[Notifier]:
        settings = TelegramSettings(
            token=fake.token,
            base_url=fake.base_url,
            base_file_url=fake.base_file_url,
            poll_timeout=1,
        )
        lifecycle = DestinationLifecycle(storage.subscriptions, storage.outbox)
        telegram = TelegramAdapter(service, settings, lifecycle)
        await telegram.start()
        try:
            yield telegram.notifier
        finally:
            await telegram.stop()

    async def type_live(bot: Bot) -> None:
        before = len(fake.sent)
        fake.inject_message(GROUP_ID, "/live world", from_user=ADMIN_ID)
        reply = (await fake.wait_for_sent(before + 1))[before]
        assert reply.plain_text is not None
        assert reply.plain_text.startswith("Live Top 10 in this group: Netflix · Worldwide")

    await live_scenario(
        tmp_path / "bot.db",
        Platform(
            destination=Destination("telegram", str(GROUP_ID)),
            make_notifier=adapter,
            start_live=type_live,
            posts=lambda: [
                (str(m.message_id), m.text or "")
                for m in fake.sent
                if m.chat_id == GROUP_ID and is_live(m.text)
            ],
            edits=lambda: [(str(e.message_id), e.text) for e in fake.edits],
            delete=lambda message_id: fake.delete_message(GROUP_ID, int(message_id)),
            wait_until=fake.wait_until,
        ),
    )
    # The edit of the deleted message was refused as on Telegram, then the Top 10 posted anew.
    refused = [r for r in fake.requests if r.method == "editMessageText" and r.status == 400]
    assert len(refused) == 1


async def test_discord_live_top10_is_edited_reposted_and_kept_across_a_restart(
    tmp_path: Path, make_fake_discord: Callable[..., Any]
) -> None:
    fake: FakeDiscord = await make_fake_discord(per_channel=(5, 5.0 * SCALE))
    add_channels(fake, [CHANNEL_ID])
    channel = Destination("discord", str(CHANNEL_ID))

    @asynccontextmanager
    async def client(service: CommandService, storage: SqliteBackend) -> AsyncIterator[Notifier]:
        async with discord_client(fake) as connected:
            yield DiscordNotifier(connected)

    async def type_live(bot: Bot) -> None:
        caller = Caller("discord", "7", channel, where="this channel")
        reply = await bot.service.execute_text("live", "world", caller)
        assert reply.ok and reply.title.startswith("Live Top 10 in this channel")

    await live_scenario(
        tmp_path / "bot.db",
        Platform(
            destination=channel,
            make_notifier=client,
            start_live=type_live,
            posts=lambda: [
                (str(m.id), m.payload.get("content") or "")
                for m in fake.messages
                if is_live(m.payload.get("content"))
            ],
            edits=lambda: [(str(i), edit.get("content") or "") for i, edit in fake.message_edits],
            delete=lambda message_id: fake.delete_message(int(message_id)),
            wait_until=fake.wait_until,
        ),
    )


async def test_an_edit_repeated_after_a_crash_is_no_error_on_telegram(
    make_fake_telegram: Callable[..., Any],
) -> None:
    fake: FakeTelegram = await make_fake_telegram(time_scale=SCALE)
    async with telegram_bot(fake) as bot:
        notifier = TelegramNotifier(bot)
        address = str(GROUP_ID)
        message_id = await notifier.post(address, "1. Show A")
        await notifier.edit(address, message_id, "1. Show B")
        await notifier.edit(address, message_id, "1. Show B")  # "message is not modified"
        with pytest.raises(MessageGone):
            await notifier.edit(address, "999", "1. Show B")
        with pytest.raises(MessageGone):
            await notifier.edit(address, "not-an-id", "1. Show B")
    assert [edit.text for edit in fake.edits] == ["1. Show B"]
    statuses = [r.status for r in fake.requests if r.method == "editMessageText"]
    assert statuses == [200, 400, 400]
