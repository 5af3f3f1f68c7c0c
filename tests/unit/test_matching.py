"""The subscription index finds exactly the chats the naive rules find (every filter tested
against every event), on random filters, chat settings and events."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.events import Event, EventType
from bot.matching import SubscriptionIndex, route_events
from bot.models import ALL_REGIONS, WORLD, ChartKey
from bot.subscriptions import (
    ChatSettings,
    Destination,
    Route,
    Subscription,
    SubscriptionSpec,
    subscription_matches,
)

# Small pools, so that random filters and events meet often, with the awkward cases in them:
# source names of one category, old service slugs, family-wide events, empty strings.
SHOWS = ["squid game", "arcane", "dark", ""]
TITLES = ["Squid Game", "squid  GAME!", "Arcane", "Dark", "Dárk", ""]
SERVICES = ["netflix", "hbo", "hbo-max", "HBO", "disney", "Disney+", ""]
REGIONS = ["KR", "US", WORLD, ALL_REGIONS, ""]
CATEGORIES = [
    "TV",
    "TV Shows",
    "tv",
    "Films",
    "Movies",
    "TV (English)",
    "TV (Non-English)",
    "Films (Non-English)",
    "Kids TV",
    "Overall",
    "Overall (from Amazon Channels)",
    "",
]
TYPES = st.frozensets(st.sampled_from(list(EventType)), max_size=3)


def optional(values: list[str]) -> st.SearchStrategy[str | None]:
    return st.one_of(st.none(), st.sampled_from(values))


specs = st.builds(
    SubscriptionSpec,
    show=optional(SHOWS),
    service=optional(SERVICES),
    region=optional(REGIONS),
    category=optional(CATEGORIES),
    event_types=TYPES,
    details=st.booleans(),
)
chat_settings = st.builds(ChatSettings, event_types=TYPES)
events = st.builds(
    Event,
    type=st.sampled_from(list(EventType)),
    chart=st.builds(
        ChartKey,
        source=st.just("netflix"),
        service=st.sampled_from(SERVICES),
        region=st.sampled_from(REGIONS),
        category=st.sampled_from(CATEGORIES),
        granularity=st.just("weekly"),
    ),
    period=st.just(date(2021, 10, 3)),
    title_id=st.sampled_from(["a", "b", "c"]),
    title=st.sampled_from(TITLES),
    season=st.none(),
    rank=st.one_of(st.none(), st.integers(1, 10)),
    previous_rank=st.one_of(st.none(), st.integers(1, 10)),
    debut=st.booleans(),
)
# A chat: its settings and its subscriptions.
chats = st.lists(
    st.tuples(chat_settings, st.lists(specs, min_size=1, max_size=3)), min_size=1, max_size=12
)


def naive_places(
    chat_list: list[tuple[ChatSettings, list[SubscriptionSpec]]], event: Event
) -> set[int]:
    return {
        place
        for place, (chat, specs_of_chat) in enumerate(chat_list)
        if any(subscription_matches(spec, chat, event) for spec in specs_of_chat)
    }


@settings(max_examples=400, deadline=None)
@given(chats, st.lists(events, min_size=1, max_size=25))
def test_the_index_finds_exactly_the_chats_the_rules_match(
    chat_list: list[tuple[ChatSettings, list[SubscriptionSpec]]], event_list: list[Event]
) -> None:
    index: SubscriptionIndex[int] = SubscriptionIndex()
    for place, (chat, specs_of_chat) in enumerate(chat_list):
        for spec in specs_of_chat:
            index.add(spec, chat, place)
    for event in event_list:
        found = list(index.places(event))
        assert len(found) == len(set(found))  # each chat once, however many filters match
        assert set(found) == naive_places(chat_list, event)


def naive_route_events(
    event_list: list[Event], routes: list[Route]
) -> list[tuple[Destination, list[Event]]]:
    """route_events as it was: every subscription of every route tested against every event."""
    plan: list[tuple[Destination, list[Event]]] = []
    for route in routes:
        wanted: dict[str, Event] = {}
        for event in event_list:
            if event.key in wanted:
                continue
            if any(
                subscription_matches(sub.spec, route.settings, event) for sub in route.subscriptions
            ):
                wanted[event.key] = event
        if wanted:
            plan.append((route.destination, sorted(wanted.values(), key=lambda e: -e.importance)))
    return plan


@settings(max_examples=200, deadline=None)
@given(chats, st.lists(events, min_size=1, max_size=25))
def test_route_events_plans_what_the_naive_loop_planned(
    chat_list: list[tuple[ChatSettings, list[SubscriptionSpec]]], event_list: list[Event]
) -> None:
    routes = []
    for number, (chat, specs_of_chat) in enumerate(chat_list):
        destination = Destination("telegram", str(number))
        subscriptions = tuple(
            Subscription(number * 10 + i, destination, spec) for i, spec in enumerate(specs_of_chat)
        )
        routes.append(Route(destination, chat, subscriptions))
    assert route_events(event_list, routes) == naive_route_events(event_list, routes)


def test_a_burst_looks_up_only_the_filters_that_can_match() -> None:
    """Ten thousand chats of other countries and shows cost an event nothing: the places found
    for a Korean event are the Korean chart's and the show's, each once."""
    index: SubscriptionIndex[int] = SubscriptionIndex()
    for place in range(10_000):
        index.add(SubscriptionSpec(region=f"R{place}"), ChatSettings(), place)
    index.add(SubscriptionSpec(region="KR"), ChatSettings(), -1)
    index.add(SubscriptionSpec(show="squid game"), ChatSettings(), -1)
    index.add(SubscriptionSpec(show="squid game", region="KR"), ChatSettings(), -2)
    index.add(SubscriptionSpec(category="TV Shows", details=True), ChatSettings(), -3)
    new_one = Event(
        EventType.NEW_NUMBER_ONE,
        ChartKey("netflix", "netflix", "KR", "TV", "weekly"),
        date(2021, 10, 3),
        "squid game|season 1",
        "Squid Game",
        "Season 1",
        rank=1,
    )
    assert sorted(index.places(new_one)) == [-3, -2, -1]
