"""Whatever anyone types, every command answers with a reply: no exception, no traceback, and a
refused command changes nothing. Text is generated (hypothesis) and also pinned to the cases
that once broke a command."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.commands import (
    AUTOCOMPLETED_KINDS,
    COMMANDS,
    COMMANDS_BY_NAME,
    MAX_CHOICE_TEXT,
    MAX_CHOICES,
    ArgumentKind,
    Caller,
    CommandRateLimiter,
    CommandService,
    Reply,
)
from bot.subscriptions import Destination
from handlers.console import render_plain
from storage import open_backend
from tests.chat_fixtures import load_chat_history
from tests.unit.commands.command_helpers import Clock, member, run

# One real SQLite store serves every example of a test (its 64-bit ids are part of what is
# tried); each example compares the chat's state before and after, so sharing it is sound.
PROPERTY_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
COMMAND_NAMES = [command.name for command in COMMANDS]

# Every code point, lone surrogates and control characters included.
ANY_CHARACTER = st.characters(exclude_categories=())
# Words the commands know, so that hostile text also reaches the handlers' deeper paths.
KNOWN_WORDS = [
    "KR", "south", "korea", "world", "TV", "films", "netflix", "all", "records", "debut",
    "2021-11-21", "today", "UTC", "Europe/Berlin", "Squid", "Game", "name=", "date=", "#1",
    "events=", "region=",
]  # fmt: skip
NUMBERS = st.one_of(
    st.integers().map(str),
    st.integers(min_value=2**63 - 2, max_value=10**40).map(str),
    st.sampled_from(["1e309", "-0", "١٢", "²", "0x10", "1_000", "９", "nan", "inf"]),
)
DATES = st.sampled_from(
    ["9999-99-99", "0000-01-01", "0001-01-01", "9999-12-31", "2021-02-30", "٢٠٢١-١١-٢١"]
)
PIECE = st.one_of(
    st.sampled_from(KNOWN_WORDS),
    st.text(ANY_CHARACTER, max_size=12),
    NUMBERS,
    DATES,
    # NUL, right-to-left mark, zero-width space, bidi override, BOM, a lone surrogate, an emoji
    # family (zero-width joiners), an escape sequence that would clear a terminal.
    st.sampled_from(
        ["\x00", "\u200f", "\u200b", "\u202e", "\ufeff", "\ud800", "👨‍👩‍👧", "\x1b[2J"]
    ),
)
HOSTILE_TEXT = st.one_of(
    st.lists(PIECE, max_size=6).map(" ".join),
    st.text(ANY_CHARACTER, max_size=150),
    st.builds(lambda piece, times: piece * times, PIECE, st.integers(1, 2000)),
)


@pytest.fixture
async def sqlite_service(tmp_path: Path) -> AsyncIterator[CommandService]:
    storage = await open_backend(f"sqlite:///{tmp_path / 'hostile.db'}")
    try:
        await load_chat_history(storage)
        generous = CommandRateLimiter(burst=10**6, per_seconds=1)
        yield CommandService(storage, storage.subscriptions, clock=Clock(), rate_limiter=generous)
    finally:
        await storage.close()


async def chat_state(service: CommandService, where: Destination) -> object:
    subscriptions = service.subscriptions
    return (
        await subscriptions.subscriptions_of(where),
        await subscriptions.get_settings(where),
        await subscriptions.destination_state(where),
    )


def assert_clear(reply: Reply) -> None:
    """An answer the user can read and every platform can send."""
    assert isinstance(reply, Reply)
    # The service's last resort (an exception inside a command) is a bug here, not a reply.
    assert reply.title != "Something went wrong"
    text = render_plain(reply)
    text.encode("utf-8")  # a lone surrogate echoed back could not be sent anywhere
    assert all(c == "\n" or c.isprintable() for c in text), text
    # What is echoed back is cut (arguments stop at 100 characters, each escaped in ≤ 10), so
    # no line comes near a platform's limit (Discord: 2000 per message).
    assert max(len(line) for line in text.split("\n")) < 2000


async def run_every_way(service: CommandService, name: str, text: str, caller: Caller) -> None:
    """Typed (console, Telegram), then as each option alone and all options (Discord)."""
    names = [argument.name for argument in COMMANDS_BY_NAME[name].arguments]
    option_sets = [{argument: text} for argument in names] + [dict.fromkeys(names, text)]
    attempts: list[Callable[[], Awaitable[Reply]]] = [
        partial(service.execute_text, name, text, caller)
    ]
    attempts += [partial(service.execute, name, options, caller) for options in option_sets]
    for attempt in attempts:
        before = await chat_state(service, caller.destination)
        reply = await attempt()
        assert_clear(reply)
        if not reply.ok:
            assert await chat_state(service, caller.destination) == before


@PROPERTY_SETTINGS
@given(name=st.sampled_from(COMMAND_NAMES), text=HOSTILE_TEXT)
@example(name="unsubscribe", text="99999999999999999999999")
@example(name="unsubscribe", text="#" + "9" * 99)
@example(name="top10", text="KR date=9999-99-99")
@example(name="top10", text="KR date=0001-01-01")
@example(name="settings", text="timezone=\x00")
@example(name="title", text="\ud800")
async def test_any_text_gets_a_clear_reply_through_every_command(
    sqlite_service: CommandService, name: str, text: str
) -> None:
    await run_every_way(sqlite_service, name, text, member(private=True))
    await run_every_way(sqlite_service, name, text, member(admin=False))


@PROPERTY_SETTINGS
@given(name=st.text(ANY_CHARACTER, max_size=300), text=st.text(ANY_CHARACTER, max_size=20))
async def test_any_command_name_gets_a_clear_reply(
    sqlite_service: CommandService, name: str, text: str
) -> None:
    assert_clear(await sqlite_service.execute_text(name, text, member(private=True)))
    assert_clear(await sqlite_service.execute(name, {name: text}, member(private=True)))


@pytest.mark.parametrize(
    "number", ["99999999999999999999999", "-1", "0", "+" + "9" * 50, "-" + "9" * 99]
)
async def test_a_number_out_of_range_is_no_subscription(
    sqlite_service: CommandService, number: str
) -> None:
    private = member(private=True)
    assert (await run(sqlite_service, "/subscribe KR TV", private)).ok
    before = await chat_state(sqlite_service, private.destination)
    refused = await run(sqlite_service, f"/unsubscribe {number}", private)
    assert refused.title == f"No subscription #{int(number)} here"
    assert refused.suggestions == ("#1 South Korea · TV — headlines",)
    assert await chat_state(sqlite_service, private.destination) == before


@pytest.mark.parametrize("text", ["1e309", "²", "1.5", "0x1", "#", "one", "--1", "1 2"])
async def test_what_is_not_a_whole_number_is_refused(service: CommandService, text: str) -> None:
    refused = await run(service, f"/unsubscribe {text}", member(private=True))
    assert refused.title.startswith("Not a subscription number")


async def test_digits_of_any_script_are_read(service: CommandService) -> None:
    private = member(private=True)
    assert (await run(service, "/subscribe KR TV", private)).ok
    assert (await run(service, "/unsubscribe #١", private)).title == "Unsubscribed #1"
    arabic = await run(service, "/top10 KR TV date=٢٠٢١-١١-١٤")
    assert arabic == await run(service, "/top10 KR TV date=2021-11-14")
    assert arabic.ok


@pytest.mark.parametrize("day", ["9999-99-99", "0000-01-01", "2021-02-30", "+2021-01-01"])
async def test_impossible_dates_are_not_dates(service: CommandService, day: str) -> None:
    refused = await run(service, f"/top10 KR date={day}")
    assert refused.title == f"Not a date: {day!r}"


async def test_the_first_day_there_is_has_no_chart(service: CommandService) -> None:
    reply = await run(service, "/top10 KR date=0001-01-01")
    assert reply.title == "No chart for South Korea on or before 0001-01-01"


@pytest.mark.parametrize("character", ["\x00", "\x1b", "\x7f", "\x9b", "\ud800"])
async def test_control_characters_are_refused_and_named(
    service: CommandService, character: str
) -> None:
    private = member(private=True)
    before = await chat_state(service, private.destination)
    typed = await run(service, f"/subscribe KR{character} TV", private)
    assert typed.title == "Unreadable character in /subscribe"
    assert f"U+{ord(character):04X}" in typed.lines[0]
    option = await service.execute("subscribe", {"region": f"KR{character}"}, private)
    assert option.title == "Unreadable character in region"
    assert await chat_state(service, private.destination) == before


async def test_invisible_marks_and_odd_spaces_are_ignored(service: CommandService) -> None:
    plain = await run(service, "/top10 KR TV")
    assert await run(service, "/top10 \u200fKR\u200b\u00a0TV\ufeff") == plain
    assert await run(service, "/top10 KR\tTV\n") == plain


@PROPERTY_SETTINGS
@given(kind=st.sampled_from(sorted(AUTOCOMPLETED_KINDS)), text=HOSTILE_TEXT)
@example(kind=ArgumentKind.EVENT_TYPES, text="\x00,deb")
async def test_autocomplete_offers_only_choices_a_platform_accepts(
    sqlite_service: CommandService, kind: ArgumentKind, text: str
) -> None:
    choices = await sqlite_service.complete(kind, text, member(private=True))
    assert len(choices) <= MAX_CHOICES
    for choice in choices:
        for shown in (choice.label, choice.value):
            assert 0 < len(shown) <= MAX_CHOICE_TEXT and shown.isprintable(), choice
