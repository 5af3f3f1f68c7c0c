"""Parity: every command exists on every adapter with the same arguments, and answers the same.

Discord and Telegram are checked through what they registered on the fake servers (the payloads
Discord and Telegram would really receive), the console through its generated help.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from telegram.ext import CommandHandler

from bot.commands import COMMANDS, CommandRateLimiter, CommandService, parse_command_text
from bot.delivery.lifecycle import DestinationLifecycle
from bot.i18n import ENGLISH, LANGUAGES
from handlers.console import ConsoleAdapter
from handlers.discord.adapter import DiscordAdapter, DiscordSettings
from handlers.discord.slash_commands import ADMIN_PERMISSIONS
from handlers.telegram.adapter import START_COMMAND, TelegramAdapter, TelegramSettings
from storage.memory import MemoryBackend
from storage.memory.outbox import MemoryOutbox
from storage.memory.subscriptions import MemorySubscriptionStore
from tests.chat_fixtures import load_chat_history
from tests.fakes import FakeDiscord, FakeTelegram

GUILD_ID = 111_111_111_111_111_111
CHANNEL_ID = 222_222_222_222_222_221
MEMBER_ID = 333_333_333_333_333_331
TELEGRAM_USER = 4444


class Platforms:
    def __init__(
        self,
        service: CommandService,
        console: ConsoleAdapter,
        telegram: TelegramAdapter,
        fake_telegram: FakeTelegram,
        discord: DiscordAdapter,
        fake_discord: FakeDiscord,
    ) -> None:
        self.service = service
        self.console = console
        self.telegram = telegram
        self.fake_telegram = fake_telegram
        self.discord = discord
        self.fake_discord = fake_discord


@pytest.fixture
async def platforms(fake_discord: FakeDiscord) -> AsyncIterator[Platforms]:
    storage = MemoryBackend()
    await load_chat_history(storage)
    subscriptions = MemorySubscriptionStore()
    service = CommandService(
        storage,
        subscriptions,
        clock=lambda: datetime(2021, 11, 24, tzinfo=UTC),
        rate_limiter=CommandRateLimiter(burst=100, per_seconds=1),
    )
    fake_discord.add_guild(GUILD_ID, "Chart fans")
    fake_discord.add_channel(GUILD_ID, CHANNEL_ID, "alerts")
    fake_discord.add_member(GUILD_ID, MEMBER_ID, "member")
    lifecycle = DestinationLifecycle(service.subscriptions, MemoryOutbox(subscriptions))
    discord = DiscordAdapter(
        service, DiscordSettings(token=fake_discord.token, guild_ready_timeout=0.05), lifecycle
    )
    async with FakeTelegram(time_scale=0.05) as fake_telegram:
        telegram = TelegramAdapter(
            service,
            TelegramSettings(
                token=fake_telegram.token, base_url=fake_telegram.base_url, poll_timeout=1
            ),
            lifecycle,
        )
        await telegram.start()
        task = asyncio.create_task(discord.run())
        try:
            await asyncio.wait_for(discord.wait_until_ready(), 10)
            console = ConsoleAdapter(service, out=io.StringIO())
            yield Platforms(service, console, telegram, fake_telegram, discord, fake_discord)
        finally:
            await discord.stop()
            await asyncio.wait_for(task, 10)
            await telegram.stop()


async def test_every_command_exists_everywhere_with_the_same_arguments(
    platforms: Platforms,
) -> None:
    # Discord: the commands as registered, with their options.
    discord_commands = {c["name"]: c for c in platforms.fake_discord.commands[None]}
    assert list(discord_commands) == [c.name for c in COMMANDS]
    for command in COMMANDS:
        registered = discord_commands[command.name]
        options = [(o["name"], o.get("required", False)) for o in registered.get("options", [])]
        assert sorted(options) == sorted((a.name, a.required) for a in command.arguments)
        expected_permissions = str(ADMIN_PERMISSIONS.value) if command.needs_admin else None
        assert registered["default_member_permissions"] == expected_permissions

    # Telegram: the command menu (set_my_commands) and the handlers behind it.
    # One menu per language (the default one in English), each with every command.
    menus = platforms.fake_telegram.commands
    assert {language for _, language in menus} == {"", *LANGUAGES} - {"en"}
    for listed in menus.values():
        assert [c["command"] for c in listed] == [c.name for c in COMMANDS]
    menu = menus[('{"type": "default"}', "")]
    handled: set[str] = set()
    for group in platforms.telegram.application.handlers.values():
        for handler in group:
            if isinstance(handler, CommandHandler):
                handled |= set(handler.commands)
    assert handled == {c.name for c in COMMANDS} | {START_COMMAND}
    for command, entry in zip(COMMANDS, menu, strict=True):
        for argument in command.arguments:
            assert argument.usage() in entry["description"]
            # Every argument can be given by name in typed text (Telegram and console).
            parsed = parse_command_text(command, f"{argument.name}=value", ENGLISH)
            assert parsed == {argument.name: "value"}

    # Console: /help is generated from the same registry.
    help_text = await platforms.console.handle_line("/help")
    assert help_text is not None
    for command in COMMANDS:
        assert f"{command.usage()} — {command.description}" in help_text


async def discord_lines(platforms: Platforms, name: str, options: dict[str, Any]) -> list[str]:
    fake = platforms.fake_discord
    interaction = await fake.send_interaction(
        name, options, guild_id=GUILD_ID, channel_id=CHANNEL_ID, user_id=MEMBER_ID
    )
    responses = await fake.wait_for_response(interaction)
    if responses[0].type == 5:
        responses = await fake.wait_for_response(interaction, count=2)
    (embed,) = responses[-1].data["embeds"]
    lines = [embed["title"], *embed.get("description", "").split("\n")]
    return [line.replace("\\", "") for line in lines if line]  # markdown escapes aside


async def telegram_lines(platforms: Platforms, text: str) -> list[str]:
    fake = platforms.fake_telegram
    before = len(fake.sent)
    fake.inject_message(TELEGRAM_USER, text, from_user=TELEGRAM_USER)
    answer = (await fake.wait_for_sent(before + 1))[-1]
    body = answer.plain_text.split("\n\n")[0]  # title and lines; footer comes after a blank
    return body.split("\n")


@pytest.mark.parametrize(
    ("typed", "name", "options"),
    [
        ("/top10 KR", "top10", {"region": "KR"}),
        ("/top10 germany films", "top10", {"region": "germany", "category": "Films"}),
        (
            "/top10 world tv 2021-10-10",
            "top10",
            {"region": "WORLD", "category": "TV", "date": "2021-10-10"},
        ),
        ("/subscriptions", "subscriptions", {}),
    ],
)
async def test_the_same_command_answers_the_same_everywhere(
    platforms: Platforms, typed: str, name: str, options: dict[str, Any]
) -> None:
    console_text = await platforms.console.handle_line(typed)
    assert console_text is not None
    console = [line for line in console_text.split("\n") if not line.startswith("— ")]
    telegram = await telegram_lines(platforms, typed)
    discord = await discord_lines(platforms, name, options)
    # The destination is named per platform ("the console", "this private chat", "<#id>").
    if name == "subscriptions":
        assert [len(console), len(telegram), len(discord)] == [2, 2, 2]
        assert console[1] == telegram[1] == discord[1]
    else:
        assert console == telegram == discord
        assert len(console) == 11
