"""Every command, run through CommandService on ten real weeks of Netflix's official Top 10."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from bot.commands import (
    COMMANDS,
    COMMANDS_BY_NAME,
    ArgumentError,
    ArgumentKind,
    Caller,
    CommandService,
    Reply,
    decode_button,
    parse_command_text,
)
from bot.models import Chart, ChartKey, Rejection
from bot.ports import Batch
from bot.ratelimit import CommandRateLimiter
from bot.subscriptions import Destination, SubscriptionSpec
from storage.memory import MemoryBackend
from storage.memory.subscriptions import MemorySubscriptionStore
from tests.chat_fixtures import load_chat_history

# Three days after the last week of the fixture (week ending 2021-11-21) was published.
NOW = datetime(2021, 11, 24, 12, 0, tzinfo=UTC)
GROUP = Destination("telegram", "-100")


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def storage() -> AsyncIterator[MemoryBackend]:
    store = MemoryBackend()
    await store.migrate()
    await load_chat_history(store)
    yield store


@pytest.fixture
def service(storage: MemoryBackend) -> CommandService:
    # Rate limiting has its own test; here a test may run many commands as one user.
    generous = CommandRateLimiter(burst=1000, per_seconds=1)
    return CommandService(storage, MemorySubscriptionStore(), clock=Clock(), rate_limiter=generous)


def member(admin: bool = True, *, calls: list[str] | None = None, **kwargs: Any) -> Caller:
    async def check_admin() -> bool:
        if calls is not None:
            calls.append("checked")
        return admin

    return Caller("telegram", "7", GROUP, check_admin=check_admin, **kwargs)


async def run(service: CommandService, text: str, caller: Caller | None = None) -> Reply:
    name, _, rest = text.lstrip("/").partition(" ")
    return await service.execute_text(name, rest, caller or member())


# -- the registry -------------------------------------------------------------------------------


def test_registry_fits_every_platform() -> None:
    assert len(COMMANDS_BY_NAME) == len(COMMANDS)
    for command in COMMANDS:
        # Telegram: 1–32 of a-z, 0-9, _; Discord: lower case, description ≤ 100.
        assert re.fullmatch(r"[a-z0-9_]{1,32}", command.name)
        assert 0 < len(command.description) <= 100
        names = [a.name for a in command.arguments]
        assert len(set(names)) == len(names)
        for argument in command.arguments:
            assert re.fullmatch(r"[a-z0-9_]{1,32}", argument.name)
            assert 0 < len(argument.description) <= 100
            assert len(argument.choices) <= 25
            assert not (argument.choices and argument.autocomplete)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
async def test_every_command_runs(service: CommandService, command: Any) -> None:
    required = {a.name: "1" for a in command.arguments if a.required}
    reply = await service.execute(command.name, required, member(private=True))
    assert reply.title != "Something went wrong"


async def test_help_is_generated_from_the_registry(service: CommandService) -> None:
    reply = await run(service, "/help")
    assert reply.ok
    assert [line.split(" — ")[0] for line in reply.lines] == [c.usage() for c in COMMANDS]


# -- typed arguments ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "text", "expected"),
    [
        ("top10", "KR", {"region": "KR"}),
        ("top10", "south korea tv", {"region": "south korea", "category": "tv"}),
        ("top10", "tv", {"category": "tv"}),  # TV is a list before it is Tuvalu
        (
            "top10",
            "2021-10-10 germany films netflix",
            {"date": "2021-10-10", "region": "germany", "category": "films", "service": "netflix"},
        ),
        (
            "top10",
            'region="South Korea" category=Films',
            {"region": "South Korea", "category": "Films"},
        ),
        ("title", "Grey's Anatomy", {"name": "Grey's Anatomy"}),
        ("subscribe", "Squid Game", {"title": "Squid Game"}),
        ("subscribe", "Emily in Paris", {"title": "Emily in Paris"}),  # "in" is also India
        ("subscribe", "KR TV", {"region": "KR", "category": "TV"}),
        (
            "subscribe",
            "world new_number_one records",
            {"region": "world", "events": "new_number_one,records"},
        ),
        (
            "subscribe",
            "title=Squid Game events=records",
            {"title": "Squid Game", "events": "records"},
        ),
        ("settings", "Asia/Seoul records", {"timezone": "Asia/Seoul", "events": "records"}),
        ("unsubscribe", "#3", {"subscription": "#3"}),
        ("records", "TV", {"category": "TV"}),
    ],
)
def test_parse_command_text(command: str, text: str, expected: dict[str, str]) -> None:
    assert parse_command_text(COMMANDS_BY_NAME[command], text) == expected


def test_parse_refuses_arguments_a_command_does_not_take() -> None:
    with pytest.raises(ArgumentError) as raised:
        parse_command_text(COMMANDS_BY_NAME["help"], "me")
    assert not raised.value.reply.ok
    with pytest.raises(ArgumentError):
        parse_command_text(COMMANDS_BY_NAME["top10"], "KR " + "x" * 500)


# -- /top10 -------------------------------------------------------------------------------------


async def test_top10_kr_is_the_latest_korean_tv_list(service: CommandService) -> None:
    reply = await run(service, "/top10 KR")
    assert reply.ok
    assert reply.title == "🇰🇷 Top 10 — Netflix · South Korea · TV"
    assert len(reply.lines) == 10
    assert reply.lines[0] == "1. Hellbound: Season 1 🆕 · 1 wk"
    assert reply.lines[6] == "7. Squid Game: Season 1 ▼2 · 10 wk"
    assert "week ending 2021-11-21" in reply.footer
    assert "Netflix Top 10 (official)" in reply.footer
    assert "also: Films" in reply.footer


async def test_top10_world_has_hours_and_a_date_picks_an_older_week(
    service: CommandService,
) -> None:
    world = await run(service, "/top10 world")
    assert world.title.endswith("Worldwide · TV (English)")
    assert world.lines[0] == "1. Arcane: Season 1 ▲1 · 2 wk · 38.42M h"
    older = await run(service, "/top10 korea tv 2021-10-12")
    assert older.lines[0].startswith("1. Squid Game: Season 1")
    assert "week ending 2021-10-10 (latest on or before 2021-10-12)" in older.footer


async def test_top10_names_and_categories_resolve_the_same_chart(service: CommandService) -> None:
    by_code = await run(service, "/top10 KR Films")
    by_name = await service.execute(
        "top10", {"region": "South Korea", "category": "movies", "service": "Netflix"}, member()
    )
    assert by_code == by_name
    assert by_code.title.endswith("South Korea · Films")


@pytest.mark.parametrize(
    ("text", "title", "hint"),
    [
        ("/top10 south kora", "Unknown region 'south kora'", "South Korea (KR)"),
        ("/top10 FR", "No chart stored for France", None),
        ("/top10 KR hulu", "No Hulu chart for South Korea", "Netflix"),
        ("/top10 KR category=documentaries", "Unknown category 'documentaries'", None),
        ("/top10 KR 2021-01-01", "No chart for South Korea on or before 2021-01-01", None),
        ("/top10 KR 2022-02-30", "Not a date: '2022-02-30'", None),
        ("/top10 KR 2030-01-01", "2030-01-01 is in the future", None),
    ],
)
async def test_top10_bad_input_gets_a_helpful_answer(
    service: CommandService, text: str, title: str, hint: str | None
) -> None:
    reply = await run(service, text)
    assert not reply.ok
    assert reply.title == title
    if hint is not None:
        assert hint in reply.suggestions


# -- /title -------------------------------------------------------------------------------------


async def test_title_tells_ranks_streaks_and_records(service: CommandService) -> None:
    reply = await run(service, "/title squid gme")  # a typo still finds it
    assert reply.ok and reply.title == "Squid Game"
    fields = {field.name: field.value for field in reply.fields}
    now = fields["Now in the Top 10"].split("\n")
    assert now[0] == (
        "🇯🇵 Netflix · Japan · TV — Squid Game: Season 1: #1 "
        "(9 weeks at #1 · 10 weeks in the Top 10)"
    )
    assert len(now) == 6
    assert fields["Countries at #1"] == "Netflix · TV: 1 country"
    assert fields["Best rank"].startswith("#1 — first in Netflix · South Korea · TV")
    assert (
        "most hours viewed in one week — Netflix · Worldwide · TV (Non-English): 571.8M hours"
        in (fields["Records held"])
    )


async def test_title_button_subscribes_to_the_show(service: CommandService) -> None:
    reply = await run(service, "/title Squid Game")
    (button,) = reply.buttons
    decoded = decode_button(button.payload())
    assert decoded is not None
    assert len(button.payload().encode()) <= 64  # Telegram's callback_data limit
    name, arguments = decoded
    subscribed = await service.execute(name, arguments, member())
    assert subscribed.ok and subscribed.title.startswith("Subscribed #")
    (stored,) = await service.subscriptions.subscriptions_of(GROUP)
    assert stored.spec == SubscriptionSpec(show="squid game", show_title="Squid Game")


async def test_unknown_title_suggests_close_ones(service: CommandService) -> None:
    reply = await run(service, "/title Hellbond Season")
    assert reply.ok  # close enough: taken
    missing = await run(service, "/title Qwxyz Plmkj")
    assert not missing.ok and missing.title == "No title matches 'Qwxyz Plmkj'"


async def test_decode_button_refuses_foreign_payloads() -> None:
    assert decode_button("other|subscribe|title=x") is None
    assert decode_button("t10|drop_tables|") is None
    assert decode_button("t10|subscribe|broken") is None


# -- /subscribe, /unsubscribe, /subscriptions ----------------------------------------------------


async def test_subscribe_in_a_group_needs_an_admin(service: CommandService) -> None:
    calls: list[str] = []
    refused = await run(service, "/subscribe KR TV", member(admin=False, calls=calls))
    assert not refused.ok and refused.title == "Not allowed"
    assert calls == ["checked"]
    assert await service.subscriptions.subscriptions_of(GROUP) == []
    allowed = await run(service, "/subscribe KR TV", member(admin=True))
    assert allowed.ok and allowed.title == "Subscribed #1 — alerts go to this chat"
    assert allowed.lines[0] == "South Korea · TV — every event"


async def test_private_chats_and_read_only_commands_skip_the_admin_check(
    service: CommandService,
) -> None:
    calls: list[str] = []
    private = member(admin=False, calls=calls, private=True)
    assert (await run(service, "/subscribe records", private)).ok
    assert (await run(service, "/top10 KR", member(admin=False, calls=calls))).ok
    assert calls == []


async def test_subscription_lifecycle(service: CommandService) -> None:
    first = await run(service, "/subscribe Squid Game")
    assert first.title.startswith("Subscribed #1")
    again = await run(service, "/subscribe title=squid game")
    assert again.title == "Already subscribed (#1)"
    second = await run(service, "/subscribe world new_number_one records")
    assert second.lines[0] == "Worldwide — records, new #1"
    listing = await run(service, "/subscriptions")
    assert listing.lines == (
        "#1 Squid Game — every event",
        "#2 Worldwide — records, new #1",
    )
    wrong = await run(service, "/unsubscribe 9")
    assert not wrong.ok and "#1 Squid Game — every event" in wrong.suggestions
    assert (await run(service, "/unsubscribe #1")).title == "Unsubscribed #1"
    assert (await run(service, "/unsubscribe all")).title == "Removed 1 subscription"
    empty = await run(service, "/subscriptions")
    assert empty.title == "No subscriptions in this chat"


async def test_subscribe_refuses_nothing_and_unknown_parts(service: CommandService) -> None:
    assert (await run(service, "/subscribe")).title == "Subscribe to what?"
    bad_events = await service.execute("subscribe", {"events": "recrods"}, member())
    assert bad_events.title == "Unknown event type 'recrods'"
    assert "records" in bad_events.suggestions
    bad_region = await service.execute("subscribe", {"region": "atlantis"}, member())
    assert bad_region.title == "Unknown region 'atlantis'"


async def test_subscribe_warns_when_no_chart_exists_yet(service: CommandService) -> None:
    reply = await run(service, "/subscribe FR TV")
    assert reply.ok
    assert "No matching chart is stored yet" in reply.lines[-1]


async def test_subscribe_where_the_bot_cannot_post(service: CommandService) -> None:
    reply = await run(service, "/subscribe KR", member(bot_can_post=False))
    assert not reply.ok and reply.title == "I cannot post here"


# -- /settings, /records, /status ----------------------------------------------------------------


async def test_settings_show_and_change(service: CommandService) -> None:
    shown = await run(service, "/settings")
    assert shown.lines == ("Time zone: UTC", "Default event types: every event")
    changed = await run(service, "/settings asia/seoul new_number_one,records")
    assert changed.title.endswith("saved")
    assert changed.lines == ("Time zone: Asia/Seoul", "Default event types: records, new #1")
    settings = await service.subscriptions.get_settings(GROUP)
    assert settings.timezone == "Asia/Seoul"
    wrong = await run(service, "/settings timezone=Europe/Berln")
    assert not wrong.ok and "Europe/Berlin" in wrong.suggestions


async def test_records_of_the_worldwide_charts(service: CommandService) -> None:
    reply = await run(service, "/records TV")
    fields = {field.name: field.value for field in reply.fields}
    assert (
        "longest run at #1: Squid Game: Season 1 — 9 weeks (week ending 2021-11-14)"
        in (fields["Netflix · Worldwide · TV (Non-English)"])
    )
    assert "Netflix · Worldwide · Films (English)" not in fields
    assert fields["Netflix · TV · every country"].startswith(
        "most countries at #1 in one period: Squid Game: Season 1 — 5 countries"
    )


async def test_status_tells_fresh_from_stale(storage: MemoryBackend) -> None:
    clock = Clock()
    service = CommandService(storage, MemorySubscriptionStore(), clock=clock)
    fresh = await run(service, "/status")
    assert fresh.lines == (
        "✅ Netflix Top 10 (official) · weekly: latest week ending 2021-11-21 (3 days ago); "
        "6 regions, 1 service",
    )
    clock.now = datetime(2021, 12, 10, tzinfo=UTC)
    stale = await run(service, "/status")
    assert stale.lines[0].startswith("⚠️") and "(19 days ago)" in stale.lines[0]
    bad = Chart(ChartKey("netflix", "netflix", "KR", "TV", "weekly"), date(2021, 11, 28), ())
    await storage.save_batch(
        Batch(rejected=[Rejection(bad, "0 rows, expected 10")]), queue_deliveries=False
    )
    with_rejection = await run(service, "/status")
    (field,) = with_rejection.fields
    assert "Netflix · South Korea · TV 2021-11-28: 0 rows, expected 10" in field.value


# -- rules of execute -----------------------------------------------------------------------------


async def test_rate_limit_per_user(storage: MemoryBackend) -> None:
    moment = [0.0]
    limiter = CommandRateLimiter(burst=2, per_seconds=10, clock=lambda: moment[0])
    service = CommandService(storage, MemorySubscriptionStore(), rate_limiter=limiter)
    assert (await run(service, "/help")).ok
    assert (await run(service, "/help")).ok
    slowed = await run(service, "/help")
    assert slowed.title == "Slow down" and "5 s" in slowed.lines[0]
    someone_else = Caller("telegram", "8", GROUP)
    assert (await run(service, "/help", someone_else)).ok
    moment[0] = 5.0
    assert (await run(service, "/help")).ok


async def test_argument_rules(service: CommandService) -> None:
    long_title = await service.execute("title", {"name": "x" * 101}, member())
    assert long_title.title == "name is too long"
    missing = await service.execute("title", {}, member())
    assert missing.title == "/title needs name" and missing.lines[0] == "Usage: /title <name>"
    stranger = await service.execute("top10", {"colour": "red"}, member())
    assert stranger.title == "/top10 has no argument 'colour'"
    typo = await run(service, "/top1O KR")
    assert typo.title == "Unknown command /top1O" and "/top10" in typo.suggestions


async def test_a_failing_command_answers_instead_of_raising(storage: MemoryBackend) -> None:
    class BrokenStorage(MemoryBackend):
        async def chart_keys(self, source: str | None = None) -> list[ChartKey]:
            raise RuntimeError("disk on fire")

    service = CommandService(BrokenStorage(), MemorySubscriptionStore())
    reply = await run(service, "/top10 KR")
    assert not reply.ok and reply.title == "Something went wrong"


# -- autocomplete ---------------------------------------------------------------------------------


async def test_autocomplete(service: CommandService) -> None:
    caller = member()
    titles = await service.complete(ArgumentKind.TITLE, "squid", caller)
    assert titles[0].value.startswith("Squid Game")
    assert all(len(c.label) <= 100 and len(c.value) <= 100 for c in titles)
    regions = await service.complete(ArgumentKind.REGION, "korea", caller)
    assert regions[0].value == "KR" and regions[0].label == "🇰🇷 South Korea"
    stored = await service.complete(ArgumentKind.REGION, "", caller)
    assert [c.value for c in stored] == ["WORLD", "DE", "JP", "KR", "GB", "US"]
    zones = await service.complete(ArgumentKind.TIMEZONE, "seoul", caller)
    assert zones[0].value == "Asia/Seoul"
    events = await service.complete(ArgumentKind.EVENT_TYPES, "records,new", caller)
    assert [c.value for c in events] == ["records,new_number_one", "records,new1"]
    await run(service, "/subscribe KR TV")
    subscriptions = await service.complete(ArgumentKind.SUBSCRIPTION, "", caller)
    assert [c.value for c in subscriptions] == ["all", "1"]
    assert subscriptions[1].label == "#1 South Korea · TV — every event"
