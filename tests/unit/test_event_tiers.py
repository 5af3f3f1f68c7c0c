"""Event tiers (bot.events) and how subscriptions honour them (bot.subscriptions)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from bot.events import Event, EventType, Tier
from bot.i18n import ENGLISH
from bot.models import ChartKey
from bot.subscriptions import (
    ChatSettings,
    SubscriptionSpec,
    describe_spec,
    is_event_type_word,
    parse_event_types,
    subscription_matches,
    wants_details,
)

KR_TV = ChartKey("netflix", "netflix", "KR", "TV", "weekly")
E = EventType


def event(kind: EventType, **details: Any) -> Event:
    return Event(kind, KR_TV, date(2022, 2, 6), "aouad|s1", "All of Us Are Dead", None, **details)


@pytest.mark.parametrize(
    ("the_event", "tier"),
    [
        (event(E.NEW_NUMBER_ONE, rank=1, previous_rank=4), Tier.HEADLINE),
        (event(E.NEW_NUMBER_ONE, rank=1, debut=True), Tier.HEADLINE),
        (event(E.LOST_NUMBER_ONE, rank=2, previous_rank=1), Tier.HEADLINE),
        (event(E.NUMBER_ONE_STREAK, rank=1, value=3, unit="weeks"), Tier.HEADLINE),
        (event(E.COUNTRIES_AT_NUMBER_ONE, value=50, total_regions=94), Tier.HEADLINE),
        (event(E.RECORD_BROKEN, value=5), Tier.HEADLINE),
        (event(E.ALL_TIME_LIST, rank=3), Tier.HEADLINE),
        (event(E.HOURS_MILESTONE, value=260_000_000), Tier.HEADLINE),
        (event(E.ENTERED, rank=4, debut=True), Tier.HEADLINE),
        (event(E.ENTERED, rank=4), Tier.DETAIL),  # a re-entry, or a source that does not say
        (event(E.LEFT, previous_rank=7), Tier.DETAIL),
        (event(E.CLIMBED, rank=2, previous_rank=9), Tier.DETAIL),
        (event(E.TOP10_STREAK, rank=5, value=2, unit="weeks"), Tier.DETAIL),
    ],
    ids=lambda value: value.value if isinstance(value, Tier) else value.type.value,
)
def test_every_event_has_a_tier(the_event: Event, tier: Tier) -> None:
    assert the_event.tier is tier


@pytest.mark.parametrize(
    ("the_event", "spec", "wanted"),
    [
        # New subscriptions: the headlines.
        (event(E.NEW_NUMBER_ONE, rank=1, previous_rank=3), SubscriptionSpec(region="KR"), True),
        (event(E.ENTERED, rank=6, debut=True), SubscriptionSpec(region="KR"), True),
        (event(E.ENTERED, rank=6), SubscriptionSpec(region="KR"), False),
        (event(E.TOP10_STREAK, value=2), SubscriptionSpec(region="KR"), False),
        # Details on request.
        (event(E.TOP10_STREAK, value=2), SubscriptionSpec(region="KR", details=True), True),
        (event(E.LEFT, previous_rank=3), SubscriptionSpec(region="KR", details=True), True),
        # Named types are kept whatever their tier.
        (event(E.LEFT), SubscriptionSpec(event_types=frozenset({E.LEFT})), True),
        (event(E.RECORD_BROKEN), SubscriptionSpec(event_types=frozenset({E.LEFT})), False),
        # A debut at #1 is an entry for a filter, a climb to #1 a climb.
        (
            event(E.NEW_NUMBER_ONE, rank=1, debut=True),
            SubscriptionSpec(event_types=frozenset({E.ENTERED})),
            True,
        ),
        (
            event(E.NEW_NUMBER_ONE, rank=1, previous_rank=8),
            SubscriptionSpec(event_types=frozenset({E.CLIMBED})),
            True,
        ),
        (
            event(E.NEW_NUMBER_ONE, rank=1, previous_rank=8),
            SubscriptionSpec(event_types=frozenset({E.ENTERED})),
            False,
        ),
    ],
)
def test_subscriptions_honour_the_tier(
    the_event: Event, spec: SubscriptionSpec, wanted: bool
) -> None:
    assert subscription_matches(spec, ChatSettings(), the_event) is wanted


def test_a_chat_default_of_named_types_wins_over_the_tier() -> None:
    chat = ChatSettings(event_types=frozenset({E.LEFT}))
    assert subscription_matches(SubscriptionSpec(region="KR"), chat, event(E.LEFT))
    assert not subscription_matches(SubscriptionSpec(region="KR"), chat, event(E.NEW_NUMBER_ONE))


def test_the_details_words() -> None:
    assert wants_details("all") and wants_details("details") and wants_details("records details")
    assert not wants_details("records, climbs")
    assert parse_event_types("details") == frozenset()
    assert is_event_type_word("details") and not is_event_type_word("all")
    spec = SubscriptionSpec(show="squid game", show_title="Squid Game")
    assert describe_spec(spec, ENGLISH) == "Squid Game — headlines"
    detailed = SubscriptionSpec(show="squid game", show_title="Squid Game", details=True)
    assert describe_spec(detailed, ENGLISH) == "Squid Game — every event"
    # One subscription per request: with and without details are two; old identities stay.
    assert detailed.identity() != spec.identity()
    assert spec.identity() == "show=squid game|service=|region=|category=|events="
