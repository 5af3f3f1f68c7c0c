"""Reading arguments: typed text into named values, and each value into what it names.

Typed text (Telegram, console) becomes the same name → value mapping Discord's options give;
then regions, services, categories, dates, event types and time zones are resolved here, once,
for every command. A value that names nothing raises ArgumentError with a helpful reply.
"""

from __future__ import annotations

import re
import shlex
import zoneinfo
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from functools import cache

from bot.commands.lookup import fuzzy
from bot.commands.registry import ArgumentKind, Command
from bot.commands.reply import ArgumentError, error
from bot.commands.untrusted import ascii_digits, quoted
from bot.events import EventType
from bot.render import service_name
from bot.sources.regions import (
    FLIXPATROL_SERVICES,
    resolve_region,
    service_from_display_name,
    suggest_regions,
)
from bot.subscriptions import (
    EVENT_TYPE_LABELS,
    KNOWN_CATEGORIES,
    UnknownEventType,
    canonical_category,
    event_type_words,
    fold_category,
    is_event_type_word,
    parse_event_types,
)

MAX_COMMAND_TEXT_LENGTH = 400


# -- typed text → named values ------------------------------------------------------------------


def _split_words(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:  # an apostrophe in "Grey's Anatomy" is not a quote
        return text.split()


def _strip_quotes(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1].strip()
    return text


def _valid_date_word(word: str) -> bool:
    return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", word)) or word.casefold() in {
        "today",
        "yesterday",
    }


def is_category(text: str) -> bool:
    base, _ = fold_category(text)
    return base in {fold_category(name)[0] for name in KNOWN_CATEGORIES}


@cache
def zone_names() -> dict[str, str]:
    """Every IANA time zone by its case-folded name."""
    return {name.casefold(): name for name in zoneinfo.available_timezones()}


def resolve_timezone(text: str) -> str | None:
    return zone_names().get(text.strip().casefold().replace(" ", "_"))


def _classify(span: str, kinds: set[ArgumentKind]) -> ArgumentKind | None:
    """Which argument a run of words can only be (order matters: "TV" is a category before
    it is Tuvalu)."""
    if ArgumentKind.DATE in kinds and _valid_date_word(span):
        return ArgumentKind.DATE
    if ArgumentKind.SERVICE in kinds and service_from_display_name(span) is not None:
        return ArgumentKind.SERVICE
    if ArgumentKind.CATEGORY in kinds and is_category(span):
        return ArgumentKind.CATEGORY
    if (
        ArgumentKind.EVENT_TYPES in kinds
        and " " not in span
        and span.strip(",")
        and all(is_event_type_word(word) for word in span.split(",") if word)
    ):
        return ArgumentKind.EVENT_TYPES
    if ArgumentKind.TIMEZONE in kinds and " " not in span and resolve_timezone(span):
        return ArgumentKind.TIMEZONE
    if ArgumentKind.REGION in kinds and resolve_region(span) is not None:
        return ArgumentKind.REGION
    return None


def _classify_words(words: Sequence[str], kinds: set[ArgumentKind]) -> tuple[dict[str, str], str]:
    """Greedily give runs of words (longest first) to the argument kind they can only be.

    Returns the values by kind (event types joined) and the leftover words.
    """
    found: dict[str, list[str]] = {}
    leftover: list[str] = []
    position = 0
    while position < len(words):
        for width in range(min(4, len(words) - position), 0, -1):
            span = " ".join(words[position : position + width])
            kind = _classify(span, kinds)
            if kind is not None and (kind == ArgumentKind.EVENT_TYPES or kind not in found):
                found.setdefault(kind, []).append(span)
                position += width
                break
        else:
            leftover.append(words[position])
            position += 1
    values = {kind: ",".join(spans) for kind, spans in found.items()}
    return values, " ".join(leftover)


def _named_values(command: Command, text: str) -> tuple[dict[str, str], str]:
    """The `name=value` arguments (a value runs to the next `name=`) and the text before them."""
    names = [a.name for a in command.arguments]
    if not names:
        return {}, text
    pattern = re.compile(r"(?:^|\s)(" + "|".join(map(re.escape, names)) + r")=", re.I)
    marks = list(pattern.finditer(text))
    if not marks:
        return {}, text
    values: dict[str, str] = {}
    for mark, following in zip(marks, [*marks[1:], None], strict=True):
        end = following.start() if following is not None else len(text)
        values[mark.group(1).lower()] = _strip_quotes(text[mark.end() : end])
    return values, text[: marks[0].start()]


def parse_command_text(command: Command, text: str) -> dict[str, str]:
    """Typed arguments → values by argument name, the same mapping Discord's options give.

    `name=value` sets an argument explicitly (the value runs to the next `name=`). Otherwise:
    commands whose first argument is free text (/title, /unsubscribe) take the whole text;
    the others recognise dates, services, categories, event types and time zones by their
    shape, and what is left is the region — or, for /subscribe, the title.
    """
    if len(text) > MAX_COMMAND_TEXT_LENGTH:
        raise ArgumentError(
            error("Too long", f"Keep a command under {MAX_COMMAND_TEXT_LENGTH} characters.")
        )
    values, positional = _named_values(command, text)
    positional = positional.strip()
    if not positional:
        return values
    if not command.arguments:
        raise ArgumentError(
            error(f"/{command.name} takes no arguments", f"Usage: {command.usage()}")
        )
    if command.text_is_first_argument:
        values.setdefault(command.arguments[0].name, _strip_quotes(positional))
        return values
    by_kind = {a.kind: a.name for a in command.arguments if a.name not in values}
    words = _split_words(positional)
    classified, leftover = _classify_words(words, set(by_kind) - {ArgumentKind.TITLE})
    title_name = by_kind.get(ArgumentKind.TITLE)
    if title_name is not None and leftover:
        # A title may contain anything ("Emily in Paris"): unless every word found a place,
        # the whole text is the title.
        values[title_name] = _strip_quotes(positional)
        return values
    for kind, value in classified.items():
        values[by_kind[ArgumentKind(kind)]] = value
    if leftover:
        region_name = by_kind.get(ArgumentKind.REGION)
        if region_name is None:
            raise ArgumentError(
                error(
                    f"Could not read {quoted(leftover)}",
                    f"Usage: {command.usage()}",
                    *command.examples,
                )
            )
        values[region_name] = leftover
    return values


# -- one value → what it names ------------------------------------------------------------------


def resolve_region_argument(text: str) -> str:
    region = resolve_region(text)
    if region is None:
        raise ArgumentError(
            error(
                f"Unknown region {quoted(text)}",
                "Use an ISO code (KR), a country name (South Korea) or 'world'.",
                suggestions=[f"{name} ({code})" for code, name in suggest_regions(text, 3)],
            )
        )
    return region


def resolve_service_argument(text: str, known: Iterable[str] = ()) -> str:
    """A service's slug; `known` adds the services of stored charts to the list an error gives."""
    slug = service_from_display_name(text)
    if slug is None:
        names = sorted({*FLIXPATROL_SERVICES.values(), *(service_name(k) for k in known)})
        raise ArgumentError(
            error(
                f"Unknown service {quoted(text)}",
                "Services: " + ", ".join(names),
                suggestions=fuzzy(text, names, 3, cutoff=50),
            )
        )
    return slug


def resolve_category_argument(text: str) -> str:
    if not is_category(text):
        raise ArgumentError(
            error(
                f"Unknown category {quoted(text)}",
                "Categories: " + ", ".join(KNOWN_CATEGORIES),
                suggestions=fuzzy(text, KNOWN_CATEGORIES, 3, cutoff=50),
            )
        )
    return canonical_category(text)


def resolve_date_argument(text: str, today: date) -> date:
    folded = text.casefold()
    if folded == "today":
        return today
    if folded == "yesterday":
        return today - timedelta(days=1)
    try:
        wanted = date.fromisoformat(ascii_digits(text))
    except ValueError:
        raise ArgumentError(
            error(f"Not a date: {quoted(text)}", "Write dates as YYYY-MM-DD, e.g. 2024-01-07.")
        ) from None
    if wanted > today:
        raise ArgumentError(
            error(f"{wanted.isoformat()} is in the future", "Charts exist only for the past.")
        )
    return wanted


def resolve_event_types_argument(text: str) -> frozenset[EventType]:
    try:
        return parse_event_types(text)
    except UnknownEventType as exc:
        raise ArgumentError(
            error(
                f"Unknown event type {quoted(exc.word)}",
                "Event types: "
                + ", ".join(f"{t.value} ({label})" for t, label in EVENT_TYPE_LABELS.items()),
                suggestions=fuzzy(exc.word, event_type_words(), 3, cutoff=50),
            )
        ) from None


def resolve_timezone_argument(text: str) -> str:
    zone = resolve_timezone(text)
    if zone is None:
        raise ArgumentError(
            error(
                f"Unknown time zone {quoted(text)}",
                "Use an IANA name such as Europe/Berlin, Asia/Seoul or UTC.",
                suggestions=fuzzy(text, sorted(zone_names().values()), 3, 50),
            )
        )
    return zone
