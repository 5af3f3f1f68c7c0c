"""The subscription model: category folding, event-type parsing and matching events to chats."""

from __future__ import annotations

from datetime import date

import pytest

from bot.events import Event, EventType
from bot.i18n import ENGLISH
from bot.matching import route_events
from bot.models import ALL_REGIONS, WORLD, ChartKey, normalise_title
from bot.subscriptions import (
    ChatSettings,
    Destination,
    Route,
    Subscription,
    SubscriptionSpec,
    UnknownEventType,
    canonical_category,
    category_matches,
    describe_spec,
    fold_category,
    parse_event_types,
    subscription_matches,
    title_ref,
)

KR_TV = ChartKey("netflix", "netflix", "KR", "TV", "weekly")
KR_SHOWS = ChartKey("flixpatrol", "netflix", "KR", "TV Shows", "daily")
WORLD_TV_EN = ChartKey("netflix", "netflix", WORLD, "TV (English)", "weekly")
FAMILY_TV = ChartKey("netflix", "netflix", ALL_REGIONS, "TV", "weekly")
US_HBO = ChartKey("flixpatrol", "hbo", "US", "Movies", "daily")


def event(
    kind: EventType = EventType.NEW_NUMBER_ONE,
    chart: ChartKey = KR_TV,
    title: str = "Squid Game",
    season: str | None = "Squid Game: Season 1",
) -> Event:
    title_id = f"{normalise_title(title)}|{normalise_title(season or '')}"
    return Event(kind, chart, date(2021, 10, 3), title_id, title, season, rank=1)


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("TV", ("tv", "")),
        ("TV Shows", ("tv", "")),
        ("tv shows", ("tv", "")),
        ("Movies", ("films", "")),
        ("Films (Non-English)", ("films", "non english")),
        ("films (english)", ("films", "english")),
        ("Kids Movies", ("kids films", "")),
        ("Overall (from Amazon Channels)", ("overall", "from amazon channels")),
    ],
)
def test_fold_category_maps_source_names_onto_one_form(text: str, folded: tuple[str, str]) -> None:
    assert fold_category(text) == folded


@pytest.mark.parametrize(
    ("pattern", "category", "matches"),
    [
        ("TV", "TV", True),
        ("TV", "TV Shows", True),
        ("TV", "TV (English)", True),
        ("TV", "TV (Non-English)", True),
        ("TV (English)", "TV (English)", True),
        ("TV (English)", "TV (Non-English)", False),
        ("TV (English)", "TV", False),
        ("Films", "Movies", True),
        ("Films", "TV", False),
        ("Kids TV", "Kids TV Shows", True),
        ("Kids TV", "TV Shows", False),
    ],
)
def test_category_patterns(pattern: str, category: str, matches: bool) -> None:
    assert category_matches(pattern, category) is matches


def test_canonical_category_is_the_display_form() -> None:
    assert canonical_category("tv shows") == "TV"
    assert canonical_category("films (non english)") == "Films (Non-English)"
    assert canonical_category("movies") == "Films"


def test_parse_event_types_accepts_names_aliases_and_separators() -> None:
    assert parse_event_types("new_number_one, records") == {
        EventType.NEW_NUMBER_ONE,
        EventType.RECORD_BROKEN,
    }
    assert parse_event_types("new-number-one records") == {
        EventType.NEW_NUMBER_ONE,
        EventType.RECORD_BROKEN,
    }
    assert parse_event_types("streaks") == {EventType.NUMBER_ONE_STREAK, EventType.TOP10_STREAK}
    assert parse_event_types("all") == frozenset()


def test_parse_event_types_names_the_unknown_word() -> None:
    with pytest.raises(UnknownEventType) as raised:
        parse_event_types("records, recrods")
    assert raised.value.word == "recrods"


def test_identity_is_equal_for_equal_requests() -> None:
    one = SubscriptionSpec(region="KR", category="TV Shows", show_title="a")
    two = SubscriptionSpec(region="KR", category="tv", show_title="b")
    assert one.identity() == two.identity()
    assert one.identity() != SubscriptionSpec(region="KR", category="Films").identity()


def test_title_subscription_matches_every_season_and_source() -> None:
    spec = SubscriptionSpec(show=normalise_title("Squid Game"), show_title="Squid Game")
    assert spec.matches_chart(event(season="Squid Game: Season 2"))
    assert spec.matches_chart(event(chart=KR_SHOWS, season=None))
    assert not spec.matches_chart(event(title="Hellbound", season=None))


def test_chart_subscription_wildcards_and_patterns() -> None:
    spec = SubscriptionSpec(region="KR", category="TV")
    assert spec.matches_chart(event(chart=KR_TV))
    assert spec.matches_chart(event(chart=KR_SHOWS))  # FlixPatrol's name for the same list
    assert not spec.matches_chart(event(chart=WORLD_TV_EN))
    service_only = SubscriptionSpec(service="hbo-max")
    assert service_only.matches_chart(event(chart=US_HBO))  # "hbo" is HBO Max's old slug
    assert not service_only.matches_chart(event(chart=KR_TV))


def test_family_wide_events_belong_to_the_worldwide_view() -> None:
    countries = event(EventType.COUNTRIES_AT_NUMBER_ONE, chart=FAMILY_TV)
    assert SubscriptionSpec(region=WORLD).matches_chart(countries)
    assert not SubscriptionSpec(region="KR").matches_chart(countries)
    assert SubscriptionSpec(category="TV").matches_chart(countries)


def test_event_types_come_from_the_subscription_then_the_chat_settings() -> None:
    chat_wants_records = ChatSettings(event_types=frozenset({EventType.RECORD_BROKEN}))
    new_one = event(EventType.NEW_NUMBER_ONE)
    plain = SubscriptionSpec(region="KR")
    assert subscription_matches(plain, ChatSettings(), new_one)
    assert not subscription_matches(plain, chat_wants_records, new_one)
    own_types = SubscriptionSpec(region="KR", event_types=frozenset({EventType.NEW_NUMBER_ONE}))
    assert subscription_matches(own_types, chat_wants_records, new_one)


def test_route_events_gives_each_chat_its_events_once_most_important_first() -> None:
    group = Destination("telegram", "-100")
    channel = Destination("discord", "42")
    quiet = Destination("discord", "43")
    entered = event(EventType.ENTERED)
    record = event(EventType.RECORD_BROKEN)
    other_chart = event(EventType.NEW_NUMBER_ONE, chart=WORLD_TV_EN, title="Arcane", season=None)
    routes = [
        Route(
            group,
            ChatSettings(),
            (
                Subscription(1, group, SubscriptionSpec(region="KR", details=True)),
                Subscription(2, group, SubscriptionSpec(show="squid game")),
            ),
        ),
        Route(
            channel,
            ChatSettings(),
            (Subscription(3, channel, SubscriptionSpec(region=WORLD)),),
        ),
        Route(quiet, ChatSettings(), (Subscription(4, quiet, SubscriptionSpec(region="JP")),)),
    ]
    plan = dict(route_events([entered, record, other_chart], routes))
    assert plan == {group: [record, entered], channel: [other_chart]}


def test_destination_address_round_trips_with_a_topic() -> None:
    topic = Destination("telegram", "-1001", "77")
    assert topic.address == "-1001/77"
    assert Destination.from_address("telegram", topic.address) == topic
    assert Destination.from_address("discord", "42") == Destination("discord", "42")


def test_describe_spec_and_title_ref() -> None:
    spec = SubscriptionSpec(
        show="squid game",
        show_title="Squid Game",
        region="KR",
        event_types=frozenset({EventType.RECORD_BROKEN, EventType.NEW_NUMBER_ONE}),
    )
    assert describe_spec(spec, ENGLISH) == "Squid Game · South Korea — records, new #1"
    ref = title_ref("squid game")
    assert ref.startswith("~") and len(ref.encode()) <= 20
    assert ref == title_ref("squid game") != title_ref("squid game 2")
