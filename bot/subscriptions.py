"""Subscriptions: who wants which alerts, and the pure matching of events to them.

A subscription is a filter with up to four parts, each optional (a missing part is a wildcard):
a title (a show, every season and every source), a chart (service × region × category) and the
event types wanted. `/subscribe Squid Game` sets only the title, `/subscribe KR TV` only the chart,
`/subscribe records` only the types; any mix narrows further.

Which events reach a chat: a subscription's own types when it names some, otherwise the chat's
default types from /settings, otherwise the headlines (bot.events.Tier), and the details too when
the subscription asked for them (`details`, the events word `details` or `all`). A type named by a
filter also takes the events that count as that type (`Event.filter_types`: a debut at #1 is an
entry, a climb to #1 a climb).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time
from enum import StrEnum

from bot.events import IMPORTANCE, Event, EventType, Tier
from bot.i18n import N_, Translator
from bot.models import ALL_REGIONS, WORLD, normalise_title
from bot.render import category_label, region_label, service_name
from bot.sources.services import service_from_display_name


class Platform(StrEnum):
    CONSOLE = "console"
    DISCORD = "discord"
    TELEGRAM = "telegram"


@dataclass(frozen=True, slots=True)
class Destination:
    """Where alerts go: a chat or channel of one platform, optionally a forum topic in it."""

    platform: str
    chat_id: str
    thread_id: str | None = None  # Telegram forum topic (message_thread_id)

    @property
    def address(self) -> str:
        """The string a platform Notifier receives: "chat" or "chat/thread"."""
        return f"{self.chat_id}/{self.thread_id}" if self.thread_id else self.chat_id

    @classmethod
    def from_address(cls, platform: str, address: str) -> Destination:
        chat_id, _, thread_id = address.partition("/")
        return cls(platform, chat_id, thread_id or None)

    def __str__(self) -> str:
        return f"{self.platform}:{self.address}"


@dataclass(frozen=True, slots=True)
class DestinationState:
    active: bool
    reason: str  # why it was deactivated ("blocked by the user", "channel deleted"); "" if active
    changed_at: datetime


@dataclass(frozen=True, slots=True)
class ChatSettings:
    """Per-destination preferences. Quiet hours and the digest time are local to `timezone`,
    applied by the delivery engine."""

    timezone: str = "UTC"
    event_types: frozenset[EventType] = frozenset()  # empty: every type
    quiet_start: time | None = None
    quiet_end: time | None = None
    # The chat's language (bot.i18n.LANGUAGES); '' until chosen or defaulted from the platform.
    language: str = ""
    digest_at: time | None = None  # detail events wait for one daily digest at this time


# -- categories ---------------------------------------------------------------------------------

# The categories users pick from (Discord choices): every source's lists fold onto one of these.
KNOWN_CATEGORIES: tuple[str, ...] = (
    "TV",
    "Films",
    "TV (English)",
    "TV (Non-English)",
    "Films (English)",
    "Films (Non-English)",
    "Kids TV",
    "Kids Films",
    "Overall",
)

# Sources name the same kind of list differently (Netflix "TV", FlixPatrol "TV Shows";
# Netflix "Films", FlixPatrol "Movies").
_CATEGORY_BASES = {
    "tv": "tv",
    "tv shows": "tv",
    "tv show": "tv",
    "shows": "tv",
    "series": "tv",
    "films": "films",
    "film": "films",
    "movies": "films",
    "movie": "films",
    "kids tv": "kids tv",
    "kids tv shows": "kids tv",
    "kids shows": "kids tv",
    "kids films": "kids films",
    "kids movies": "kids films",
    "overall": "overall",
}
_BASE_NAMES = {
    "tv": "TV",
    "films": "Films",
    "kids tv": "Kids TV",
    "kids films": "Kids Films",
    "overall": "Overall",
}
_CATEGORY_SHAPE = re.compile(r"^(?P<base>[^()]*?)\s*(?:\((?P<qualifier>[^()]*)\))?$")


def fold_category(text: str) -> tuple[str, str]:
    """'TV Shows' → ('tv', ''); 'Films (Non-English)' → ('films', 'non english')."""
    match = _CATEGORY_SHAPE.match(text.strip())
    base_text, qualifier = (match["base"], match["qualifier"] or "") if match else (text, "")
    base = " ".join(re.sub(r"[^\w]+", " ", base_text.casefold()).split())
    qualifier = " ".join(re.sub(r"[^\w]+", " ", qualifier.casefold()).split())
    return _CATEGORY_BASES.get(base, base), qualifier


def category_matches(pattern: str, category: str) -> bool:
    """Whether a chart category belongs to a pattern: 'TV' takes 'TV Shows' and 'TV (English)',
    'TV (English)' only itself."""
    pattern_base, pattern_qualifier = fold_category(pattern)
    base, qualifier = fold_category(category)
    if pattern_base != base:
        return False
    return not pattern_qualifier or pattern_qualifier == qualifier


def canonical_category(text: str) -> str:
    """The display form of a category pattern: 'tv shows' → 'TV', 'films (english)' →
    'Films (English)'. Unknown bases keep the user's words, title-cased."""
    base, qualifier = fold_category(text)
    name = _BASE_NAMES.get(base, base.title())
    if qualifier:
        name += f" ({'-'.join(part.title() for part in qualifier.split())})"
    return name


# -- event types --------------------------------------------------------------------------------

# Marked for the catalogs: shown with tr.gettext (see `event_type_label`).
EVENT_TYPE_LABELS: dict[EventType, str] = {
    EventType.NEW_NUMBER_ONE: N_("new #1"),
    EventType.LOST_NUMBER_ONE: N_("lost #1"),
    EventType.ENTERED: N_("entered the Top 10"),
    EventType.LEFT: N_("left the Top 10"),
    EventType.CLIMBED: N_("big climbs"),
    EventType.NUMBER_ONE_STREAK: N_("#1 streaks"),
    EventType.TOP10_STREAK: N_("Top 10 streaks"),
    EventType.COUNTRIES_AT_NUMBER_ONE: N_("#1 in many countries"),
    EventType.RECORD_BROKEN: N_("records"),
    EventType.HOURS_MILESTONE: N_("hours milestones"),
    EventType.ALL_TIME_LIST: N_("all-time list"),
}


def event_type_label(event_type: EventType, tr: Translator) -> str:
    return tr.gettext(EVENT_TYPE_LABELS[event_type])


# Short words people type, besides the type names themselves (new_number_one / new-number-one).
EVENT_TYPE_ALIASES: dict[str, frozenset[EventType]] = {
    "new1": frozenset({EventType.NEW_NUMBER_ONE}),
    "#1": frozenset({EventType.NEW_NUMBER_ONE}),
    "number1": frozenset({EventType.NEW_NUMBER_ONE}),
    "lost1": frozenset({EventType.LOST_NUMBER_ONE}),
    "entries": frozenset({EventType.ENTERED}),
    "exits": frozenset({EventType.LEFT}),
    "climbs": frozenset({EventType.CLIMBED}),
    "records": frozenset({EventType.RECORD_BROKEN}),
    "record": frozenset({EventType.RECORD_BROKEN}),
    "streaks": frozenset({EventType.NUMBER_ONE_STREAK, EventType.TOP10_STREAK}),
    "countries": frozenset({EventType.COUNTRIES_AT_NUMBER_ONE}),
    "milestones": frozenset({EventType.HOURS_MILESTONE}),
    "alltime": frozenset({EventType.ALL_TIME_LIST}),
}
ALL_EVENT_TYPES_WORDS = frozenset({"all", "any", "everything"})
# Words that ask for every event, details included; "details" may also stand alone in a command.
DETAILS_WORD = "details"
DETAILS_WORDS = ALL_EVENT_TYPES_WORDS | {DETAILS_WORD}


class UnknownEventType(ValueError):
    def __init__(self, word: str) -> None:
        super().__init__(word)
        self.word = word


def event_type_words() -> list[str]:
    """Every word parse_event_types accepts, for help texts and autocomplete."""
    return [t.value for t in EventType] + sorted([*EVENT_TYPE_ALIASES, DETAILS_WORD])


def _event_word(word: str) -> frozenset[EventType] | None:
    folded = word.strip().casefold().replace("-", "_")
    if folded in EVENT_TYPE_ALIASES:
        return EVENT_TYPE_ALIASES[folded]
    try:
        return frozenset({EventType(folded)})
    except ValueError:
        return None


def is_event_type_word(word: str) -> bool:
    return _event_word(word) is not None or word.strip().casefold() == DETAILS_WORD


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[\s,;]+", text.strip()) if w]


def wants_details(text: str) -> bool:
    """Whether an events argument asks for every event, details included ('all', 'details')."""
    return any(word.casefold() in DETAILS_WORDS for word in _words(text))


def parse_event_types(text: str) -> frozenset[EventType]:
    """'new_number_one, records' → those types; 'all' or 'details' → the empty set (no types
    named: see `wants_details`).

    Raises UnknownEventType naming the first word that is not a type.
    """
    words = _words(text)
    if wants_details(text):
        return frozenset()
    types: set[EventType] = set()
    for word in words:
        found = _event_word(word)
        if found is None:
            raise UnknownEventType(word)
        types |= found
    return frozenset(types)


def describe_event_types(types: Iterable[EventType], tr: Translator) -> str:
    chosen = sorted(types, key=lambda t: -_importance(t))
    if not chosen:
        return tr._("every event")
    return ", ".join(event_type_label(t, tr) for t in chosen)


def _importance(event_type: EventType) -> int:
    return IMPORTANCE[event_type]


# -- titles -------------------------------------------------------------------------------------

TITLE_REF_PREFIX = "~"


def title_ref(show_norm: str) -> str:
    """A short stable reference to a show, for button payloads (Telegram allows 64 bytes)."""
    digest = hashlib.blake2b(show_norm.encode("utf-8"), digest_size=8).hexdigest()
    return TITLE_REF_PREFIX + digest


# -- subscriptions ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubscriptionSpec:
    """What a subscription asks for; an unset part matches anything."""

    show: str | None = None  # normalise_title of the show title (every season, every source)
    show_title: str | None = None  # display form of the show, not part of the identity
    service: str | None = None  # service slug
    region: str | None = None  # ISO code or WORLD
    category: str | None = None  # a category pattern (canonical_category form)
    event_types: frozenset[EventType] = field(default_factory=frozenset)  # empty: see module doc
    details: bool = False  # with no types named: every event, not only the headlines

    def is_empty(self) -> bool:
        return not (self.show or self.service or self.region or self.category or self.event_types)

    def identity(self) -> str:
        """Equal for two specs that ask for the same thing: one subscription per identity."""
        types = ",".join(sorted(t.value for t in self.event_types))
        category = canonical_category(self.category) if self.category else ""
        # Subscriptions made before `details` existed keep their identity.
        details = "|details" if self.details else ""
        return (
            f"show={self.show or ''}|service={self.service or ''}|region={self.region or ''}"
            f"|category={category}|events={types}{details}"
        )

    def matches_chart(self, event: Event) -> bool:
        """Whether the event is about a wanted title and chart (event types aside)."""
        chart = event.chart
        if self.show is not None and normalise_title(event.title) != self.show:
            return False
        if self.service is not None and _service_slug(chart.service) != _service_slug(self.service):
            return False
        # Family-wide events ("#1 in 53 countries") belong to the worldwide view of a chart.
        worldwide_family_event = chart.region == ALL_REGIONS and self.region == WORLD
        if self.region is not None and chart.region != self.region and not worldwide_family_event:
            return False
        return self.category is None or category_matches(self.category, chart.category)


def _service_slug(text: str) -> str:
    return service_from_display_name(text) or text


@dataclass(frozen=True, slots=True)
class Subscription:
    id: int
    destination: Destination
    spec: SubscriptionSpec


@dataclass(frozen=True, slots=True)
class Route:
    """An active destination with its settings and subscriptions: the input of matching."""

    destination: Destination
    settings: ChatSettings
    subscriptions: tuple[Subscription, ...]


def wanted_types(spec: SubscriptionSpec, settings: ChatSettings) -> frozenset[EventType]:
    """The event types a subscription delivers (empty: by tier, see `wants_event`)."""
    return spec.event_types or settings.event_types


def wants_event(spec: SubscriptionSpec, settings: ChatSettings, event: Event) -> bool:
    """Whether the subscription wants this kind of event (its chart and title aside)."""
    types = wanted_types(spec, settings)
    if types:
        return not types.isdisjoint(event.filter_types)
    return spec.details or event.tier is Tier.HEADLINE


def subscription_matches(spec: SubscriptionSpec, settings: ChatSettings, event: Event) -> bool:
    return wants_event(spec, settings, event) and spec.matches_chart(event)


def describe_spec(spec: SubscriptionSpec, tr: Translator) -> str:
    """'Squid Game · Netflix · South Korea · TV — new #1, records' for /subscriptions."""
    parts: list[str] = []
    if spec.show:
        parts.append(spec.show_title or spec.show)
    if spec.service:
        parts.append(service_name(spec.service))
    if spec.region:
        parts.append(region_label(spec.region, tr))
    if spec.category:
        parts.append(category_label(canonical_category(spec.category), tr))
    if not parts:
        parts.append(tr._("every chart"))
    return f"{' · '.join(parts)} — {describe_wanted(spec, tr)}"


def describe_wanted(spec: SubscriptionSpec, tr: Translator) -> str:
    """Which events a subscription asked for, in words."""
    if spec.event_types:
        return describe_event_types(spec.event_types, tr)
    return tr._("every event") if spec.details else tr._("headlines")
