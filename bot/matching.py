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

from collections.abc import Collection, Hashable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Generic, TypeVar

from bot.events import Event, EventType, Tier
from bot.models import ALL_REGIONS, WORLD, normalise_title
from bot.sources.services import service_from_display_name
from bot.subscriptions import (
    ChatSettings,
    Destination,
    Route,
    SubscriptionSpec,
    fold_category,
    wanted_types,
)

Place = TypeVar("Place", bound=Hashable)


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


@lru_cache(maxsize=4096)
def _category_key(text: str) -> str:
    """A category as the index files it: its folded base and qualifier (words and spaces only,
    so the separator cannot occur in them)."""
    base, qualifier = fold_category(text)
    return f"{base}\x1f{qualifier}"


_normalise_title = lru_cache(maxsize=65536)(normalise_title)


@dataclass(frozen=True, slots=True)
class Lookup:
    """What the index needs of an event, worked out once for any number of indexes: for each
    part of a filter, the values under which a filter matching the event may be filed (None:
    the filter leaves the part out), and the event's kind."""

    shows: tuple[str | None, ...]
    services: tuple[str | None, ...]
    regions: tuple[str | None, ...]
    categories: tuple[str | None, ...]
    filter_types: frozenset[EventType]
    tier: Tier
    kind: str  # filter_types and tier in one string, for memos

    @classmethod
    def of(cls, event: Event) -> Lookup:
        chart = event.chart
        regions: tuple[str | None, ...] = (None, chart.region)
        if chart.region == ALL_REGIONS:
            # Family-wide events ("#1 in 53 countries") belong to the worldwide view of a chart.
            regions = (*regions, WORLD)
        base, qualifier = fold_category(chart.category)
        # A pattern without a qualifier takes every qualifier of its base: 'TV' takes 'TV
        # (English)'.
        categories: tuple[str | None, ...] = (None, f"{base}\x1f")
        if qualifier:
            categories = (*categories, _category_key(chart.category))
        types = event.filter_types
        return cls(
            shows=(None, _normalise_title(event.title)),
            services=(None, _service_slug(chart.service)),
            regions=regions,
            categories=categories,
            filter_types=types,
            tier=event.tier,
            kind=f"{','.join(sorted(types))}|{event.tier}",
        )


# Filters filed by show, service, region, category (None: any), then by what they want (the id
# of a Wants), each with its places.
_Tree = dict[
    str | None, dict[str | None, dict[str | None, dict[str | None, dict[int, dict[Place, None]]]]]
]


class SubscriptionIndex(Generic[Place]):
    """Filters filed by what they match, each with the places (chats) that asked for it."""

    def __init__(self) -> None:
        self._tree: _Tree[Place] = {}
        self._wants: dict[Wants, int] = {}
        self._wants_by_id: list[Wants] = []
        # Per event kind, per filed node (by id): the places lists of the filters taking it.
        self._taken: dict[str, dict[int, list[dict[Place, None]]]] = {}

    def add(self, spec: SubscriptionSpec, settings: ChatSettings, place: Place) -> None:
        """File one subscription of a place (with its chat's settings)."""
        self.places_of(spec, settings)[place] = None

    def places_of(self, spec: SubscriptionSpec, settings: ChatSettings) -> dict[Place, None]:
        """The places filed under a filter (with its chat's settings), to add places to: chats
        sharing a filter share one entry."""
        service = None if spec.service is None else _service_slug(spec.service)
        category = None if spec.category is None else _category_key(spec.category)
        wanted = Wants.of(spec, settings)
        wants = self._wants.get(wanted)
        if wants is None:
            wants = self._wants[wanted] = len(self._wants_by_id)
            self._wants_by_id.append(wanted)
        by_service = self._tree.setdefault(spec.show, {})
        by_region = by_service.setdefault(service, {})
        by_category = by_region.setdefault(spec.region, {})
        by_wants = by_category.setdefault(category, {})
        places = by_wants.get(wants)
        if places is None:
            places = by_wants[wants] = {}
            self._taken.clear()  # a node has a new filter: what it takes is to be worked out
        return places

    def places(self, event: Event) -> Collection[Place]:
        """The places one of whose filters matches the event, each once."""
        return self.find(Lookup.of(event))

    def find(self, lookup: Lookup) -> Collection[Place]:
        """The places one of whose filters matches the event looked up, each once."""
        taken = self._taken.setdefault(lookup.kind, {})
        found: list[dict[Place, None]] = []
        for show in lookup.shows:
            by_service = self._tree.get(show)
            if by_service is None:
                continue
            for service in lookup.services:
                by_region = by_service.get(service)
                if by_region is None:
                    continue
                for region in lookup.regions:
                    by_category = by_region.get(region)
                    if by_category is None:
                        continue
                    for category in lookup.categories:
                        by_wants = by_category.get(category)
                        if by_wants is not None:
                            node = taken.get(id(by_wants))
                            if node is None:
                                node = taken[id(by_wants)] = self._taking(by_wants, lookup)
                            found.extend(node)
        if len(found) == 1:
            return found[0].keys()
        merged: dict[Place, None] = {}
        for places in found:
            merged.update(places)
        return merged.keys()

    def _taking(
        self, by_wants: dict[int, dict[Place, None]], lookup: Lookup
    ) -> list[dict[Place, None]]:
        return [
            places
            for wants, places in by_wants.items()
            if self._wants_by_id[wants].takes(lookup.filter_types, lookup.tier)
        ]


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
