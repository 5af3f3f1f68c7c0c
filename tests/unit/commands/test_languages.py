"""A chat's language: chosen with /settings, defaulted from the platform, used by every command."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.commands import COMMANDS, Caller, CommandService, Reply
from bot.subscriptions import ChatSettings, Destination
from tests.unit.commands.command_helpers import GROUP, member, run

DM = Destination("telegram", "42")


def private(language: str = "") -> Caller:
    return Caller("telegram", "42", DM, private=True, language=language)


def text_of(reply: Reply) -> str:
    parts = [reply.title, *reply.lines, reply.footer, *reply.suggestions]
    parts += [f"{field.name}\n{field.value}" for field in reply.fields]
    parts += [button.label for button in reply.buttons]
    return "\n".join(parts)


async def test_settings_language_switches_the_chat_to_korean(service: CommandService) -> None:
    saved = await run(service, "/settings language=ko")
    assert saved.ok and saved.language == "ko"
    assert saved.title == "이 채팅방 설정을 저장했어요"
    assert "언어: 한국어 (ko)" in saved.lines
    assert (await service.subscriptions.get_settings(GROUP)).language == "ko"

    chart = await run(service, "/top10 KR")
    assert chart.language == "ko"
    assert chart.title.startswith("🇰🇷 TOP 10 — Netflix · 대한민국 · TV")
    assert "주" in chart.lines[0]  # "3주" weeks in the Top 10
    squid = await run(service, "/title Squid Game")
    assert [field.name for field in squid.fields][:2] == ["전 세계", "현재 TOP 10"]
    assert squid.buttons[0].label == "🔔 구독하기"

    back = await run(service, "/settings language=english")
    assert back.title == "Settings of this chat saved"
    assert (await run(service, "/top10 KR")).title.startswith("🇰🇷 Top 10 — Netflix · South Korea")


@pytest.mark.parametrize("typed", ["/settings ko", "/settings korean", "/settings 한국어"])
async def test_a_language_is_recognised_by_its_shape(service: CommandService, typed: str) -> None:
    assert (await run(service, typed)).ok
    assert (await service.subscriptions.get_settings(GROUP)).language == "ko"


@pytest.mark.parametrize("typed", ["/settings language=xx", "/settings Asia/Seoul language=xx"])
async def test_an_unknown_language_is_refused_and_changes_nothing(
    service: CommandService, typed: str
) -> None:
    before = await service.subscriptions.get_settings(GROUP)
    reply = await run(service, typed)
    assert not reply.ok
    assert reply.title == "Unknown language 'xx'"
    assert reply.lines == ("Languages: en (English), ko (한국어)",)
    assert reply.suggestions == ("en", "ko")
    assert await service.subscriptions.get_settings(GROUP) == before


async def test_a_new_private_chat_speaks_the_users_language(service: CommandService) -> None:
    reply = await service.execute_text("help", "", private("ko"))
    assert (reply.language, reply.title) == ("ko", "top10bot 명령어")
    # Nothing is stored by merely answering…
    assert await service.subscriptions.get_settings(DM) == ChatSettings()
    # …but a subscription keeps the language for its alerts.
    subscribed = await service.execute_text("subscribe", "KR TV", private("ko"))
    assert subscribed.title.startswith("구독 #1 완료")
    assert (await service.subscriptions.get_settings(DM)).language == "ko"
    # Later the user's app language does not matter: the chat has one now.
    assert (await service.execute_text("help", "", private("en"))).language == "ko"


async def test_a_chat_that_chose_english_stays_english(service: CommandService) -> None:
    await service.execute_text("settings", "language=en", private("ko"))
    assert (await service.execute_text("help", "", private("ko"))).language == "en"


async def test_a_group_is_not_answered_in_one_members_language(service: CommandService) -> None:
    """Telegram's language_code is a user's: the adapters pass it for private chats only; a
    group without a choice is answered in English."""
    reply = await run(service, "/help", member())
    assert reply.language == "en"


async def test_a_new_chat_answered_in_its_hint_keeps_it_when_saving_other_settings(
    service: CommandService,
) -> None:
    await service.execute_text("settings", "quiet=22:00-08:00", private("ko"))
    assert (await service.subscriptions.get_settings(DM)).language == "ko"


EXAMPLES = [e for c in COMMANDS for e in c.examples if "language=" not in e] + ["/help"]


@pytest.mark.parametrize("example", EXAMPLES)
async def test_every_example_answers_in_korean_as_it_does_in_english(
    service: CommandService, example: str
) -> None:
    """The same outcome, other words: every command's text goes through the catalog."""
    english = await run(service, example, member())
    korean_chat = replace(member(), destination=Destination("telegram", "-200"))
    await service.execute_text("settings", "language=ko", korean_chat)
    korean = await run(service, example, korean_chat)
    assert (korean.ok, len(korean.buttons), len(korean.fields)) == (
        english.ok,
        len(english.buttons),
        len(english.fields),
    )
    assert korean.language == "ko"
    assert text_of(korean) != text_of(english)


@pytest.mark.parametrize(
    ("typed", "title"),
    [
        ("/top10 한국 영화", "🇰🇷 TOP 10 — Netflix · 대한민국 · 영화"),
        ("/top10 대한민국", "🇰🇷 TOP 10 — Netflix · 대한민국 · TV"),
        ("/top10 전 세계 비영어 드라마", "🌍 TOP 10 — Netflix · 전 세계 · TV (비영어)"),
    ],
)
async def test_korean_region_and_category_words(
    service: CommandService, typed: str, title: str
) -> None:
    """Korean readers type what they read: CLDR's country names, 한국, 전 세계, 영화, 드라마."""
    await run(service, "/settings language=ko")
    reply = await run(service, typed)
    assert reply.ok, reply
    assert reply.title == title


async def test_korean_region_suggestions(service: CommandService) -> None:
    await run(service, "/settings language=ko")
    reply = await run(service, "/top10 대한민")
    assert reply.title == "알 수 없는 지역: '대한민'"
    assert reply.suggestions[0] == "대한민국 (KR)"
