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
from datetime import date, time, timedelta
from functools import cache

from bot.commands.lookup import fuzzy
from bot.commands.registry import ArgumentKind, Command
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


_QUIET_SHAPE = re.compile(r"\d{1,2}:\d{2}\s*[-–]\s*\d{1,2}:\d{2}")
_DIGEST_SHAPE = re.compile(r"(?:daily\s*@?\s*)?(\d{1,2}):(\d{2})", re.IGNORECASE)
# What a start/stop switch (/live) takes, and what each word means.
SWITCH_WORDS = {"start": "start", "on": "start", "stop": "stop", "off": "stop"}
OFF_WORDS = frozenset({"off", "none", "no"})


def _valid_date_word(word: str) -> bool:
    return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", word)) or word.casefold() in {
        "today",
        "yesterday",
    }


def is_category(text: str) -> bool:
    base, _ = fold_category(text)
    return base in {fold_category(name)[0] for name in KNOWN_CATEGORIES}


# Category words a user may type in any order ("non-english tv", "films english", "kids tv").
_BASE_WORDS = {
    "tv": "tv",
    "series": "tv",
    "shows": "tv",
    "show": "tv",
    "films": "films",
    "film": "films",
    "movies": "films",
    "movie": "films",
    # Korean: the words of the Korean catalog, and what fans call a series.
    "영화": "films",
    "드라마": "tv",
    "시리즈": "tv",
}
_QUALIFIER_WORDS = {
    "english": "English",
    "non-english": "Non-English",
    "nonenglish": "Non-English",
    "영어": "English",
    "비영어": "Non-English",
}
_KIDS_WORDS = frozenset({"kids", "키즈"})


def _category_word(word: str) -> str:
    return word.strip("()[],").casefold().replace("_", "-")


def split_category_words(words: Sequence[str]) -> tuple[str | None, list[str]]:
    """The category named by loose words anywhere in `words`, and the other words.

    "world non-english tv" → ("TV (Non-English)", ["world"]). None (and the words untouched)
    unless a base word (tv, films …) is among them; "non english" may be two words.
    """
    base: str | None = None
    kids = False
    qualifier = ""
    rest: list[str] = []
    taken: list[str] = []
    folded = [_category_word(word) for word in words]
    position = 0
    while position < len(words):
        word = folded[position]
        following = folded[position + 1] if position + 1 < len(words) else ""
        if word == "non" and following == "english":
            qualifier = "Non-English"
            taken.extend(words[position : position + 2])
            position += 2
            continue
        if word in _BASE_WORDS and base is None:
            base = _BASE_WORDS[word]
        elif word in _KIDS_WORDS and not kids:
            kids = True
        elif word in _QUALIFIER_WORDS and not qualifier:
            qualifier = _QUALIFIER_WORDS[word]
        else:
            rest.append(words[position])
            position += 1
            continue
        taken.append(words[position])
        position += 1
    if base is None:
        return None, list(words)
    as_typed = " ".join(taken)
    if is_category(as_typed):  # "tv", "kids films": the user's own words, as before
        return as_typed, rest
    name = ("kids " if kids else "") + base
    return canonical_category(f"{name} ({qualifier})" if qualifier else name), rest


@cache
def zone_names() -> dict[str, str]:
    """Every IANA time zone by its case-folded name."""
    return {name.casefold(): name for name in zoneinfo.available_timezones()}


def resolve_timezone(text: str) -> str | None:
    return zone_names().get(text.strip().casefold().replace(" ", "_"))


def _classify(span: str, kinds: set[ArgumentKind]) -> ArgumentKind | None:
    """Which argument a run of words can only be (order matters: "TV" is a category before
    it is Tuvalu)."""
    if ArgumentKind.SWITCH in kinds and span.casefold() in SWITCH_WORDS:
        return ArgumentKind.SWITCH
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
    if ArgumentKind.QUIET_HOURS in kinds and _QUIET_SHAPE.fullmatch(span):
        return ArgumentKind.QUIET_HOURS
    if ArgumentKind.DIGEST in kinds and span.casefold().startswith("daily"):
        return ArgumentKind.DIGEST
    if ArgumentKind.LANGUAGE in kinds and " " not in span and _language_code(span) is not None:
        return ArgumentKind.LANGUAGE
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


def parse_command_text(command: Command, text: str, tr: Translator) -> dict[str, str]:
    """Typed arguments → values by argument name, the same mapping Discord's options give.

    `name=value` sets an argument explicitly (the value runs to the next `name=`). Otherwise:
    commands whose first argument is free text (/title, /unsubscribe) take the whole text;
    the others recognise dates, services, categories, event types and time zones by their
    shape, and what is left is the region — or, for /subscribe, the title.
    """
    if len(text) > MAX_COMMAND_TEXT_LENGTH:
        raise ArgumentError(
            error(
                tr._("Too long"),
                tr._("Keep a command under {count} characters.", count=MAX_COMMAND_TEXT_LENGTH),
            )
        )
    values, positional = _named_values(command, text)
    positional = positional.strip()
    if not positional:
        return values
    if not command.arguments:
        raise ArgumentError(
            error(
                tr._("/{command} takes no arguments", command=command.name),
                tr._("Usage: {usage}", usage=command.usage()),
            )
        )
    if command.text_is_first_argument:
        values.setdefault(command.arguments[0].name, _strip_quotes(positional))
        return values
    by_kind = {a.kind: a.name for a in command.arguments if a.name not in values}
    words = _split_words(positional)
    category: str | None = None
    if ArgumentKind.CATEGORY in by_kind:
        # Category words anywhere ("world non-english tv"), before the runs of words below.
        category, words = split_category_words(words)
    kinds = set(by_kind) - {ArgumentKind.TITLE}
    classified, leftover = _classify_words(
        words, kinds - {ArgumentKind.CATEGORY} if category else kinds
    )
    title_name = by_kind.get(ArgumentKind.TITLE)
    if title_name is not None and leftover:
        # A title may contain anything ("Emily in Paris"): unless every word found a place,
        # the whole text is the title.
        values[title_name] = _strip_quotes(positional)
        return values
    if category is not None:
        values[by_kind[ArgumentKind.CATEGORY]] = category
    for kind, value in classified.items():
        values[by_kind[ArgumentKind(kind)]] = value
    if leftover:
        region_name = by_kind.get(ArgumentKind.REGION)
        if region_name is None:
            raise ArgumentError(
                error(
                    tr._("Could not read {text}", text=quoted(leftover)),
                    tr._("Usage: {usage}", usage=command.usage()),
                    *command.examples,
                )
            )
        values[region_name] = leftover
    return values


# -- one value → what it names ------------------------------------------------------------------


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
        loose, rest = split_category_words(_split_words(text))
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


def _language_code(text: str) -> str | None:
    """'ko', 'KO', 'korean', '한국어' → 'ko'; None for what names no language of ours."""
    folded = text.strip().casefold()
    for code, name in LANGUAGES.items():
        if folded in {code, name.casefold(), _ENGLISH_LANGUAGE_NAMES.get(code)}:
            return code
    return None


def resolve_language_argument(text: str, tr: Translator) -> str:
    """A language of ours (see _language_code); ArgumentError listing them otherwise."""
    code = _language_code(text)
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
