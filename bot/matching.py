"""Matching a burst of events to many subscriptions at a cost per delivery, not per filter × event.

The rules are bot.subscriptions' (`SubscriptionSpec.matches_chart`, `wants_event`); this module
only finds, for each event, the filters that can match it. A filter is filed under its chart parts
(show, service, region, category; a part it leaves out is filed as a wildcard, None) and under
what it wants of an event (its types, else headlines or everything). An event looks up the few
combinations of its own parts and the wildcards (at most 2 × 2 × 3 × 3), and each filter found
there matches it exactly when `subscription_matches` would: tests/unit/test_matching.py checks
the two against each other on random filters and events.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Hashable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Generic, TypeVar

from bot.events import Event, EventType, Tier
from bot.models import ALL_REGIONS, WORLD, normalise_title
from bot.sources.regions import service_from_display_name
from bot.subscriptions import (
    ChatSettings,
    Destination,
    Route,
    SubscriptionSpec,
    fold_category,
    wanted_types,
)

Place = TypeVar("Place", bound=Hashable)

# Where a filter is filed: (show, service slug, region, folded category); None is a wildcard.
Slot = tuple[str | None, str | None, str | None, tuple[str, str] | None]


@dataclass(frozen=True, slots=True)
class Wants:
    """Which kinds of event a filter takes: the types it (or its chat) names, else headlines,
    or every tier with `details` (bot.subscriptions.wants_event)."""

    types: frozenset[EventType]
    details: bool

    @classmethod
    def of(cls, spec: SubscriptionSpec, settings: ChatSettings) -> Wants:
        types = wanted_types(spec, settings)
        # With types named, `details` changes nothing: one Wants for both.
        return cls(types, spec.details and not types)

    def takes(self, filter_types: frozenset[EventType], tier: Tier) -> bool:
        if self.types:
            return not self.types.isdisjoint(filter_types)
        return self.details or tier is Tier.HEADLINE


@lru_cache(maxsize=4096)
def _service_slug(text: str) -> str:
    return service_from_display_name(text) or text


_fold_category = lru_cache(maxsize=4096)(fold_category)
_normalise_title = lru_cache(maxsize=65536)(normalise_title)


def filter_slot(spec: SubscriptionSpec) -> Slot:
    """Where a filter is filed."""
    return (
        spec.show,
        None if spec.service is None else _service_slug(spec.service),
        spec.region,
        None if spec.category is None else _fold_category(spec.category),
    )


def event_slots(event: Event) -> list[Slot]:
    """Every slot a filter matching the event's chart and title may be filed under."""
    chart = event.chart
    regions: list[str | None] = [None, chart.region]
    if chart.region == ALL_REGIONS:
        # Family-wide events ("#1 in 53 countries") belong to the worldwide view of a chart.
        regions.append(WORLD)
    base, qualifier = _fold_category(chart.category)
    # A pattern without a qualifier takes every qualifier of its base ('TV' takes 'TV (English)').
    categories: list[tuple[str, str] | None] = [None, (base, "")]
    if qualifier:
        categories.append((base, qualifier))
    shows = (None, _normalise_title(event.title))
    services = (None, _service_slug(chart.service))
    return list(itertools.product(shows, services, regions, categories))


class SubscriptionIndex(Generic[Place]):
    """Filters filed by what they match, each with the places (chats) that asked for it."""

    def __init__(self) -> None:
        self._slots: dict[Slot, dict[Wants, dict[Place, None]]] = {}
        self._takes: dict[tuple[Wants, frozenset[EventType], Tier], bool] = {}

    def add(self, spec: SubscriptionSpec, settings: ChatSettings, place: Place) -> None:
        """File one subscription of a place (with its chat's settings)."""
        self.places_of(spec, settings)[place] = None

    def places_of(self, spec: SubscriptionSpec, settings: ChatSettings) -> dict[Place, None]:
        """The places filed under a filter (with its chat's settings), to add places to: chats
        sharing a filter share one entry."""
        by_wants = self._slots.setdefault(filter_slot(spec), {})
        return by_wants.setdefault(Wants.of(spec, settings), {})

    def places(self, event: Event) -> Collection[Place]:
        """The places one of whose filters matches the event, each once."""
        filter_types, tier = event.filter_types, event.tier
        found: list[dict[Place, None]] = []
        for slot in event_slots(event):
            by_wants = self._slots.get(slot)
            if by_wants is None:
                continue
            for wants, places in by_wants.items():
                if self._wants(wants, filter_types, tier):
                    found.append(places)
        if len(found) == 1:
            return found[0].keys()
        merged: dict[Place, None] = {}
        for places in found:
            merged.update(places)
        return merged.keys()

    def _wants(self, wants: Wants, filter_types: frozenset[EventType], tier: Tier) -> bool:
        key = (wants, filter_types, tier)
        taken = self._takes.get(key)
        if taken is None:
            taken = self._takes[key] = wants.takes(filter_types, tier)
        return taken


def route_events(
    events: Sequence[Event], routes: Iterable[Route]
) -> list[tuple[Destination, list[Event]]]:
    """Each destination with the events it wants: each event (key) once, most important first,
    destinations in the routes' order; those without a matching event are left out."""
    index: SubscriptionIndex[Destination] = SubscriptionIndex()
    order: dict[Destination, int] = {}
    for route in routes:
        order.setdefault(route.destination, len(order))
        for subscription in route.subscriptions:
            index.add(subscription.spec, route.settings, route.destination)
    wanted: dict[Destination, dict[str, Event]] = {}
    for event in events:
        for destination in index.places(event):
            wanted.setdefault(destination, {}).setdefault(event.key, event)
    return [
        (destination, sorted(chosen.values(), key=lambda e: -e.importance))
        for destination, chosen in sorted(wanted.items(), key=lambda item: order[item[0]])
    ]
