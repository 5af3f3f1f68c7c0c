"""Resolving arguments: each value into what it names, one resolver per argument kind.

Regions, services, categories, dates, event types, time zones, quiet hours, languages, digest
times and switches: a value that names nothing raises ArgumentError with a helpful reply.
Separate from bot.commands.parsing (which splits typed text into named values) because every
value goes through here, whether it was typed, picked from Discord's options or carried by a
button; the commands call these directly.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterable
from datetime import date, time, timedelta
from functools import cache

from bot.commands.category_words import is_category, split_category_words, split_words
from bot.commands.lookup import fuzzy
from bot.commands.reply import ArgumentError, error
from bot.commands.untrusted import ascii_digits, quoted
from bot.events import EventType
from bot.i18n import LANGUAGES, Translator
from bot.render import region_label, service_name
from bot.sources.regions import resolve_region, suggest_regions
from bot.sources.services import FLIXPATROL_SERVICES, service_from_display_name
from bot.subscriptions import (
    EVENT_TYPE_LABELS,
    KNOWN_CATEGORIES,
    UnknownEventType,
    canonical_category,
    event_type_words,
    parse_event_types,
)

_DIGEST_SHAPE = re.compile(r"(?:daily\s*@?\s*)?(\d{1,2}):(\d{2})", re.IGNORECASE)
# What a start/stop switch (/live) takes, and what each word means.
SWITCH_WORDS = {"start": "start", "on": "start", "stop": "stop", "off": "stop"}
OFF_WORDS = frozenset({"off", "none", "no"})


@cache
def zone_names() -> dict[str, str]:
    """Every IANA time zone by its case-folded name."""
    return {name.casefold(): name for name in zoneinfo.available_timezones()}


def resolve_timezone(text: str) -> str | None:
    return zone_names().get(text.strip().casefold().replace(" ", "_"))


def resolve_region_argument(text: str, tr: Translator) -> str:
    region = resolve_region(text)
    if region is None:
        raise ArgumentError(
            error(
                tr._("Unknown region {text}", text=quoted(text)),
                tr._("Use an ISO code (KR), a country name (South Korea) or 'world'."),
                suggestions=[
                    f"{region_label(code, tr)} ({code})" for code, _ in suggest_regions(text, 3)
                ],
            )
        )
    return region


def resolve_service_argument(text: str, tr: Translator, known: Iterable[str] = ()) -> str:
    """A service's slug; `known` adds the services of stored charts to the list an error gives."""
    slug = service_from_display_name(text)
    if slug is None:
        names = sorted({*FLIXPATROL_SERVICES.values(), *(service_name(k) for k in known)})
        raise ArgumentError(
            error(
                tr._("Unknown service {text}", text=quoted(text)),
                tr._("Services: {names}", names=", ".join(names)),
                suggestions=fuzzy(text, names, 3, cutoff=50),
            )
        )
    return slug


def resolve_category_argument(text: str, tr: Translator) -> str:
    if not is_category(text):
        loose, rest = split_category_words(split_words(text))
        if loose is not None and not rest:
            return loose
        raise ArgumentError(
            error(
                tr._("Unknown category {text}", text=quoted(text)),
                tr._("Categories: {names}", names=", ".join(KNOWN_CATEGORIES)),
                suggestions=fuzzy(text, KNOWN_CATEGORIES, 3, cutoff=50),
            )
        )
    return canonical_category(text)


def resolve_date_argument(text: str, today: date, tr: Translator) -> date:
    folded = text.casefold()
    if folded == "today":
        return today
    if folded == "yesterday":
        return today - timedelta(days=1)
    try:
        wanted = date.fromisoformat(ascii_digits(text))
    except ValueError:
        raise ArgumentError(
            error(
                tr._("Not a date: {text}", text=quoted(text)),
                tr._("Write dates as YYYY-MM-DD, e.g. 2024-01-07."),
            )
        ) from None
    if wanted > today:
        raise ArgumentError(
            error(
                tr._("{date} is in the future", date=tr.date(wanted)),
                tr._("Charts exist only for the past."),
            )
        )
    return wanted


def resolve_event_types_argument(text: str, tr: Translator) -> frozenset[EventType]:
    try:
        return parse_event_types(text)
    except UnknownEventType as exc:
        types = ", ".join(
            f"{t.value} ({tr.gettext(label)})" for t, label in EVENT_TYPE_LABELS.items()
        )
        raise ArgumentError(
            error(
                tr._("Unknown event type {text}", text=quoted(exc.word)),
                tr._("Event types: {types}", types=types),
                suggestions=fuzzy(exc.word, event_type_words(), 3, cutoff=50),
            )
        ) from None


def resolve_timezone_argument(text: str, tr: Translator) -> str:
    zone = resolve_timezone(text)
    if zone is None:
        raise ArgumentError(
            error(
                tr._("Unknown time zone {text}", text=quoted(text)),
                tr._("Use an IANA name such as Europe/Berlin, Asia/Seoul or UTC."),
                suggestions=fuzzy(text, sorted(zone_names().values()), 3, 50),
            )
        )
    return zone


def resolve_quiet_hours_argument(text: str, tr: Translator) -> tuple[time, time] | None:
    """'22:00-08:00' → (22:00, 08:00), local to the chat; 'off' → None (no quiet hours)."""
    if text.strip().casefold() in OFF_WORDS:
        return None
    match = re.fullmatch(r"(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})", text.strip())
    hours = [int(part) for part in match.groups()] if match else []
    if not hours or hours[0] > 23 or hours[2] > 23 or hours[1] > 59 or hours[3] > 59:
        raise ArgumentError(
            error(
                tr._("Not quiet hours: {text}", text=quoted(text)),
                tr._(
                    "Write them as HH:MM-HH:MM in the chat's time zone (e.g. 22:00-08:00),"
                    " or 'off'."
                ),
            )
        )
    start, end = time(hours[0], hours[1]), time(hours[2], hours[3])
    if start == end:
        raise ArgumentError(
            error(
                tr._("Quiet hours need a length"),
                tr._("Start and end are the same; use 'off' instead."),
            )
        )
    return start, end


# What people type for a language besides its code and its own name.
_ENGLISH_LANGUAGE_NAMES = {"en": "english", "ko": "korean"}


def language_code(text: str) -> str | None:
    """'ko', 'KO', 'korean', '한국어' → 'ko'; None for what names no language of ours."""
    folded = text.strip().casefold()
    for code, name in LANGUAGES.items():
        if folded in {code, name.casefold(), _ENGLISH_LANGUAGE_NAMES.get(code)}:
            return code
    return None


def resolve_language_argument(text: str, tr: Translator) -> str:
    """A language of ours (see language_code); ArgumentError listing them otherwise."""
    code = language_code(text)
    if code is not None:
        return code
    raise ArgumentError(
        error(
            tr._("Unknown language {text}", text=quoted(text)),
            tr._(
                "Languages: {languages}",
                languages=", ".join(f"{code} ({name})" for code, name in LANGUAGES.items()),
            ),
            suggestions=list(LANGUAGES),
        )
    )


def resolve_digest_argument(text: str, tr: Translator) -> time | None:
    """'daily@09:00' (or '09:00') → 09:00, local to the chat; 'off' → None (no digest)."""
    if text.strip().casefold() in OFF_WORDS:
        return None
    match = _DIGEST_SHAPE.fullmatch(ascii_digits(text.strip()))
    hour, minute = (int(match[1]), int(match[2])) if match else (24, 60)
    if hour > 23 or minute > 59:
        raise ArgumentError(
            error(
                tr._("Not a digest time: {text}", text=quoted(text)),
                tr._(
                    "Write digest=daily@HH:MM in the chat's time zone (e.g. daily@09:00), or"
                    " digest=off to get every alert at once."
                ),
            )
        )
    return time(hour, minute)


def resolve_switch_argument(text: str, tr: Translator) -> str:
    """'stop' or 'off' → "stop"; 'start' or 'on' → "start"."""
    switch = SWITCH_WORDS.get(text.strip().casefold())
    if switch is None:
        raise ArgumentError(
            error(
                tr._("Not start or stop: {text}", text=quoted(text)),
                tr._("Use 'stop' (or 'off') to end it."),
            )
        )
    return switch
