"""A Korean chat gets Korean text on every front end — command replies and alerts — while an
English chat of the same alert gets English; command menus are localized on both platforms.

Real python-telegram-bot and discord.py against the fake servers; the console adapter as `run`
wires it."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest

from bot.commands import COMMANDS, CommandService
from bot.delivery.lifecycle import DestinationLifecycle
from bot.events import Event, EventType
from bot.models import ChartKey
from bot.subscriptions import Destination, SubscriptionSpec
from handlers.console import CONSOLE_DESTINATION, ConsoleAdapter
from handlers.discord.adapter import DiscordAdapter, DiscordSettings
from handlers.telegram.adapter import TelegramAdapter
from storage.memory import MemoryBackend
from tests.adapters.sender_rig import deliver
from tests.adapters.telegram_rig import running_telegram
from tests.chat_fixtures import chat_service
from tests.fakes import FakeDiscord, FakeTelegram
from tests.fakes.discord_server import MANAGE_CHANNELS

KR_TV = ChartKey("netflix", "netflix", "KR", "TV", "weekly")
NEW_NUMBER_ONE = Event(
    EventType.NEW_NUMBER_ONE,
    KR_TV,
    date(2021, 11, 28),
    "hellbound",
    "Hellbound",
    None,
    rank=1,
    previous_rank=4,
)
ENGLISH_ALERT = (
    "[week ending 2021-11-28] Netflix · South Korea · TV: Hellbound is the new #1 (up from #4)"
)
KOREAN_ALERT = (
    "[2021년 11월 28일까지의 주간] Netflix · 대한민국 · TV: 새로운 1위: Hellbound (4위에서 상승)"
)

GROUP_ID = -4_000_000_001
KOREAN_GROUP_ID = -4_000_000_002
ADMIN_ID = 4242
KOREAN_USER = {"id": 4545, "first_name": "민지", "language_code": "ko"}

GUILD_ID = 111_111_111_111_111_111
KOREAN_GUILD_ID = 111_111_111_111_111_112
CHANNEL_ID = 222_222_222_222_222_221
KOREAN_CHANNEL_ID = 222_222_222_222_222_222
MODERATOR_ID = 333_333_333_333_333_332
MODERATOR_ROLE_ID = 444_444_444_444_444_441


@pytest.fixture
async def service() -> CommandService:
    return await chat_service()


@pytest.fixture
def storage(service: CommandService) -> MemoryBackend:
    assert isinstance(service.storage, MemoryBackend)
    return service.storage


async def alert(storage: MemoryBackend, notifier: Any) -> None:
    await deliver(storage, storage.outbox, storage.subscriptions, notifier, [NEW_NUMBER_ONE])


# -- Telegram -----------------------------------------------------------------------------------


@pytest.fixture
async def telegram(
    service: CommandService, storage: MemoryBackend
) -> AsyncIterator[tuple[FakeTelegram, TelegramAdapter]]:
    async with FakeTelegram(time_scale=0.05) as fake:
        for group in (GROUP_ID, KOREAN_GROUP_ID):
            fake.set_admins(group, [ADMIN_ID], owner_id=ADMIN_ID)
        lifecycle = DestinationLifecycle(storage.subscriptions, storage.outbox)
        async with running_telegram(fake, service, lifecycle) as adapter:
            yield fake, adapter


async def telegram_command(fake: FakeTelegram, chat_id: int, text: str, user: Any) -> Any:
    before = len(fake.sent)
    fake.inject_message(chat_id, text, from_user=user)
    return (await fake.wait_for_sent(before + 1))[-1]


async def test_telegram_private_chat_of_a_korean_user(
    telegram: tuple[FakeTelegram, TelegramAdapter], storage: MemoryBackend
) -> None:
    fake, adapter = telegram
    chat_id = KOREAN_USER["id"]
    answer = await telegram_command(fake, chat_id, "/top10 KR", KOREAN_USER)
    assert answer.text.startswith("<b>🇰🇷 TOP 10 — Netflix · 대한민국 · TV</b>\n")
    assert "1. Hellbound: Season 1 🆕 · 1주" in answer.plain_text.split("\n")

    subscribed = await telegram_command(fake, chat_id, "/subscribe KR TV", KOREAN_USER)
    assert subscribed.plain_text.startswith("구독 #1 완료 — 알림 받을 곳: 이 개인 채팅")
    await alert(storage, adapter.notifier)
    assert fake.sent[-1].chat_id == chat_id
    assert fake.sent[-1].plain_text == KOREAN_ALERT


async def test_telegram_one_alert_in_an_english_and_a_korean_group(
    telegram: tuple[FakeTelegram, TelegramAdapter], storage: MemoryBackend
) -> None:
    """The outbox holds events, not text: each chat's message is written when it is sent, in
    the chat's language."""
    fake, adapter = telegram
    chosen = await telegram_command(fake, KOREAN_GROUP_ID, "/settings language=ko", ADMIN_ID)
    assert chosen.plain_text.startswith("이 그룹 설정을 저장했어요")
    for group in (GROUP_ID, KOREAN_GROUP_ID):
        await telegram_command(fake, group, "/subscribe KR", ADMIN_ID)
    before = len(fake.sent)
    await alert(storage, adapter.notifier)
    texts = {message.chat_id: message.plain_text for message in fake.sent[before:]}
    assert texts == {GROUP_ID: ENGLISH_ALERT, KOREAN_GROUP_ID: KOREAN_ALERT}


async def test_telegram_command_menu_in_every_language(
    telegram: tuple[FakeTelegram, TelegramAdapter],
) -> None:
    fake, _ = telegram
    scope = '{"type": "default"}'
    english, korean = fake.commands[(scope, "")], fake.commands[(scope, "ko")]
    names = [c.name for c in COMMANDS]
    assert [c["command"] for c in english] == [c["command"] for c in korean] == names
    assert english[0]["description"].startswith("The latest Top 10 of a country")
    assert korean[0]["description"] == (
        "국가·분류·서비스별 최신 TOP 10 [region] [category] [service] [date]"
    )


# -- Discord ------------------------------------------------------------------------------------


@pytest.fixture
async def discord_bot(
    service: CommandService, storage: MemoryBackend
) -> AsyncIterator[tuple[FakeDiscord, DiscordAdapter]]:
    async with FakeDiscord() as fake:
        with fake.patch_discord():
            fake.add_guild(GUILD_ID, "Chart fans")
            fake.add_guild(KOREAN_GUILD_ID, "드라마 팬", locale="ko")
            for guild, channel in ((GUILD_ID, CHANNEL_ID), (KOREAN_GUILD_ID, KOREAN_CHANNEL_ID)):
                fake.add_channel(guild, channel, "alerts")
                fake.add_role(guild, MODERATOR_ROLE_ID + guild % 7, "mod", MANAGE_CHANNELS)
                fake.add_member(
                    guild, MODERATOR_ID, "moderator", role_ids=[MODERATOR_ROLE_ID + guild % 7]
                )
            settings = DiscordSettings(token=fake.token, guild_ready_timeout=0.05)
            lifecycle = DestinationLifecycle(storage.subscriptions, storage.outbox)
            adapter = DiscordAdapter(service, settings, lifecycle)
            task = asyncio.create_task(adapter.run())
            try:
                await asyncio.wait_for(adapter.wait_until_ready(), 10)
                yield fake, adapter
            finally:
                await adapter.stop()
                await asyncio.wait_for(task, 10)


async def discord_answer(fake: FakeDiscord, name: str, options: dict[str, str], **kw: Any) -> Any:
    interaction = await fake.send_interaction(name, options, user_id=MODERATOR_ID, **kw)
    responses = await fake.wait_for_response(interaction)
    if responses[0].type == 5:  # deferred: the answer follows
        responses = await fake.wait_for_response(interaction, count=2)
    (embed,) = responses[-1].data["embeds"]
    return embed


async def test_discord_a_korean_server_gets_korean_replies_and_alerts(
    discord_bot: tuple[FakeDiscord, DiscordAdapter], storage: MemoryBackend
) -> None:
    fake, adapter = discord_bot
    korean = await discord_answer(
        fake, "top10", {"region": "KR"}, guild_id=KOREAN_GUILD_ID, channel_id=KOREAN_CHANNEL_ID
    )
    assert korean["title"] == "🇰🇷 TOP 10 — Netflix · 대한민국 · TV"
    english = await discord_answer(
        fake, "top10", {"region": "KR"}, guild_id=GUILD_ID, channel_id=CHANNEL_ID
    )
    assert english["title"] == "🇰🇷 Top 10 — Netflix · South Korea · TV"

    for guild, channel in ((GUILD_ID, CHANNEL_ID), (KOREAN_GUILD_ID, KOREAN_CHANNEL_ID)):
        await discord_answer(
            fake, "subscribe", {"region": "KR"}, guild_id=guild, channel_id=channel
        )
    korean_channel = Destination("discord", str(KOREAN_CHANNEL_ID))
    assert (await storage.subscriptions.get_settings(korean_channel)).language == "ko"
    await alert(storage, adapter.notifier)
    texts = {message.channel_id: message.content for message in fake.messages}
    assert texts == {CHANNEL_ID: ENGLISH_ALERT, KOREAN_CHANNEL_ID: KOREAN_ALERT}


async def test_discord_a_dm_follows_the_users_locale(
    discord_bot: tuple[FakeDiscord, DiscordAdapter],
) -> None:
    fake, _ = discord_bot
    embed = await discord_answer(fake, "subscriptions", {}, locale="ko")
    assert embed["title"] == "DM에는 구독이 없어요"


async def test_discord_commands_carry_korean_descriptions(
    discord_bot: tuple[FakeDiscord, DiscordAdapter],
) -> None:
    fake, _ = discord_bot
    registered = {command["name"]: command for command in fake.commands[None]}
    top10 = registered["top10"]
    assert top10["description_localizations"] == {"ko": "국가·분류·서비스별 최신 TOP 10"}
    assert not top10.get("name_localizations")  # /top10 on every platform, in every language
    region, category = top10["options"][0], top10["options"][1]
    assert region["description_localizations"]["ko"].startswith("국가(ISO 코드나 이름")
    films = next(choice for choice in category["choices"] if choice["value"] == "Films")
    assert films["name_localizations"] == {"ko": "영화"}
    language = next(o for o in registered["settings"]["options"] if o["name"] == "language")
    assert [choice["name"] for choice in language["choices"]] == ["English", "한국어"]


# -- console ------------------------------------------------------------------------------------


async def test_console_in_korean(service: CommandService, storage: MemoryBackend) -> None:
    out = io.StringIO()
    console = ConsoleAdapter(service, out=out)
    chosen = await console.handle_line("/settings language=ko")
    assert chosen is not None and chosen.startswith("콘솔 설정을 저장했어요")
    answer = await console.handle_line("/top10 KR")
    assert answer is not None and answer.startswith("🇰🇷 TOP 10 — Netflix · 대한민국 · TV")
    unknown = await console.handle_line("/top10 Narnia")
    assert unknown is not None and unknown.startswith("⚠ 알 수 없는 지역: 'Narnia'")
    await storage.subscriptions.add_subscription(CONSOLE_DESTINATION, SubscriptionSpec(region="KR"))
    await alert(storage, console.notifier)
    assert out.getvalue().splitlines()[-1] == KOREAN_ALERT
