"""Every user command, written once. Each returns a neutral Reply that an adapter renders.

The registry (`COMMANDS`) is the single description of the command set: Discord's app commands,
Telegram's set_my_commands and the console's /help are generated from it, and the parity test
checks every adapter against it. `CommandService.execute` is the one entry point of every adapter:
it applies the rate limit, the argument checks and the admin rule before running a command.
"""

from __future__ import annotations

import logging
import re
import shlex
import time as monotonic_time
import zoneinfo
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from functools import cache

from rapidfuzz import fuzz, process, utils

from bot.diff import ChartState, FamilyState, period_step
from bot.events import EventType, Record
from bot.models import WORLD, Chart, ChartKey, normalise_title
from bot.ports import Family, Storage, SubscriptionStore, TitleHit
from bot.ratelimit import CommandRateLimiter
from bot.render import (
    RECORD_NAMES,
    big_number,
    chart_label,
    display_title,
    period_label,
    region_label,
    service_name,
)
from bot.sources.regions import (
    FLIXPATROL_SERVICES,
    region_flag,
    resolve_region,
    service_from_display_name,
    suggest_regions,
)
from bot.subscriptions import (
    EVENT_TYPE_LABELS,
    KNOWN_CATEGORIES,
    TITLE_REF_PREFIX,
    ChatSettings,
    Destination,
    SubscriptionSpec,
    UnknownEventType,
    canonical_category,
    category_matches,
    describe_event_types,
    describe_spec,
    event_type_words,
    fold_category,
    is_event_type_word,
    parse_event_types,
    title_ref,
)

log = logging.getLogger(__name__)

# A title or a country name is far shorter; anything longer is a paste accident or abuse.
MAX_ARGUMENT_LENGTH = 100
MAX_COMMAND_TEXT_LENGTH = 400
# Discord shows at most 25 autocomplete choices, and a choice's name and value are ≤ 100 chars.
MAX_CHOICES = 25
MAX_CHOICE_TEXT = 100
# Lines of one reply field before "… and N more" (Discord: 1024 characters per field value).
MAX_FIELD_LINES = 12
# How long the title list used by /title and autocomplete is reused before it is read again.
TITLE_CACHE_SECONDS = 120.0
# A fuzzy /title match at or above this score is taken without asking back.
TITLE_MATCH_SCORE = 85.0
BUTTON_PREFIX = "t10"


# -- the neutral reply --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    value: str  # may span several lines
    inline: bool = False


@dataclass(frozen=True, slots=True)
class Button:
    """A button under a reply that runs a command for whoever presses it."""

    label: str
    command: str
    arguments: tuple[tuple[str, str], ...] = ()

    def payload(self) -> str:
        """Compact text carried by the button (Telegram callback_data ≤ 64 bytes)."""
        args = "|".join(f"{name}={value}" for name, value in self.arguments)
        return f"{BUTTON_PREFIX}|{self.command}|{args}"


def decode_button(payload: str) -> tuple[str, dict[str, str]] | None:
    """Inverse of Button.payload; None for anything that is not one of ours."""
    prefix, _, rest = payload.partition("|")
    if prefix != BUTTON_PREFIX:
        return None
    command, _, encoded = rest.partition("|")
    if command not in COMMANDS_BY_NAME:
        return None
    arguments: dict[str, str] = {}
    for part in encoded.split("|") if encoded else ():
        name, separator, value = part.partition("=")
        if not separator:
            return None
        arguments[name] = value
    return command, arguments


@dataclass(frozen=True, slots=True)
class Reply:
    """What a command answers, before any platform formatting."""

    title: str
    lines: tuple[str, ...] = ()
    fields: tuple[Field, ...] = ()
    footer: str = ""
    buttons: tuple[Button, ...] = ()
    ok: bool = True  # False: the user asked for something we could not do (lines say why)
    suggestions: tuple[str, ...] = field(default=())


def _error(title: str, *lines: str, suggestions: Iterable[str] = ()) -> Reply:
    return Reply(title=title, lines=tuple(lines), ok=False, suggestions=tuple(suggestions))


# -- the registry -------------------------------------------------------------------------------


class ArgumentKind(StrEnum):
    TEXT = "text"
    TITLE = "title"
    REGION = "region"
    CATEGORY = "category"
    SERVICE = "service"
    DATE = "date"
    EVENT_TYPES = "event_types"
    SUBSCRIPTION = "subscription"
    TIMEZONE = "timezone"


# Kinds whose values a platform can complete as the user types (Discord autocomplete).
AUTOCOMPLETED_KINDS = frozenset(
    {
        ArgumentKind.TITLE,
        ArgumentKind.REGION,
        ArgumentKind.EVENT_TYPES,
        ArgumentKind.SUBSCRIPTION,
        ArgumentKind.TIMEZONE,
    }
)


@dataclass(frozen=True, slots=True)
class Choice:
    label: str
    value: str


@dataclass(frozen=True, slots=True)
class Argument:
    name: str
    description: str
    kind: ArgumentKind
    required: bool = False
    choices: tuple[Choice, ...] = ()  # a fixed list (Discord choices); others are free text

    @property
    def autocomplete(self) -> bool:
        return not self.choices and self.kind in AUTOCOMPLETED_KINDS

    def usage(self) -> str:
        return f"<{self.name}>" if self.required else f"[{self.name}]"


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    description: str
    arguments: tuple[Argument, ...] = ()
    # Changes what a shared chat receives: group admins only (Discord: Manage Channels).
    needs_admin: bool = False
    # May read a lot of history: Discord must `defer` within 3 s before answering.
    may_be_slow: bool = False
    examples: tuple[str, ...] = ()
    # Typed text (Telegram, console): the whole text is the first argument ("/title Grey's
    # Anatomy"), instead of words sorted by shape ("/top10 korea tv").
    text_is_first_argument: bool = False

    def usage(self) -> str:
        return " ".join([f"/{self.name}", *(a.usage() for a in self.arguments)])

    def argument(self, name: str) -> Argument | None:
        for argument in self.arguments:
            if argument.name == name:
                return argument
        return None


CATEGORY_CHOICES = tuple(Choice(name, name) for name in KNOWN_CATEGORIES)
SERVICE_CHOICES = tuple(Choice(name, slug) for slug, name in FLIXPATROL_SERVICES.items())

_REGION_ARG = Argument(
    "region", "Country (ISO code or name, e.g. KR, Korea) or 'world'", ArgumentKind.REGION
)
_CATEGORY_ARG = Argument(
    "category", "Which list: TV, Films …", ArgumentKind.CATEGORY, choices=CATEGORY_CHOICES
)
_SERVICE_ARG = Argument(
    "service", "Streaming service (default Netflix)", ArgumentKind.SERVICE, choices=SERVICE_CHOICES
)
_EVENTS_ARG = Argument(
    "events", "Only these events, e.g. new_number_one, records", ArgumentKind.EVENT_TYPES
)

COMMANDS: tuple[Command, ...] = (
    Command(
        "top10",
        "The latest Top 10 of a country, category and service",
        (
            _REGION_ARG,
            _CATEGORY_ARG,
            _SERVICE_ARG,
            Argument("date", "Chart date, YYYY-MM-DD (default: latest)", ArgumentKind.DATE),
        ),
        may_be_slow=True,
        examples=("/top10 KR", "/top10 world TV", "/top10 germany films 2024-01-07"),
    ),
    Command(
        "title",
        "Where a title ranks now, its streaks and records",
        (Argument("name", "Title to look up", ArgumentKind.TITLE, required=True),),
        may_be_slow=True,
        examples=("/title Squid Game",),
        text_is_first_argument=True,
    ),
    Command(
        "subscribe",
        "Get alerts here for a title, a chart or event types",
        (
            Argument("title", "A show: all its events", ArgumentKind.TITLE),
            _REGION_ARG,
            _CATEGORY_ARG,
            _SERVICE_ARG,
            _EVENTS_ARG,
        ),
        needs_admin=True,
        may_be_slow=True,
        examples=(
            "/subscribe Squid Game",
            "/subscribe KR TV",
            "/subscribe world new_number_one records",
        ),
    ),
    Command(
        "unsubscribe",
        "Stop one subscription (number from /subscriptions) or all",
        (
            Argument(
                "subscription",
                "Number from /subscriptions, or 'all'",
                ArgumentKind.SUBSCRIPTION,
                required=True,
            ),
        ),
        needs_admin=True,
        examples=("/unsubscribe 3", "/unsubscribe all"),
        text_is_first_argument=True,
    ),
    Command("subscriptions", "What this chat is subscribed to"),
    Command(
        "records",
        "Standing records of the worldwide charts",
        (_CATEGORY_ARG,),
        may_be_slow=True,
        examples=("/records", "/records TV"),
    ),
    Command("status", "How fresh the data of each source is", may_be_slow=True),
    Command(
        "settings",
        "Time zone and default event types of this chat",
        (
            Argument("timezone", "IANA time zone, e.g. Europe/Berlin", ArgumentKind.TIMEZONE),
            Argument("events", "Default event types, or 'all'", ArgumentKind.EVENT_TYPES),
        ),
        needs_admin=True,
        examples=("/settings", "/settings Asia/Seoul", "/settings events=new_number_one,records"),
    ),
    Command("help", "What this bot can do"),
)
COMMANDS_BY_NAME: dict[str, Command] = {command.name: command for command in COMMANDS}


# -- who is asking ------------------------------------------------------------------------------


async def _always_admin() -> bool:
    return True


@dataclass(frozen=True, slots=True)
class Caller:
    """The person running a command and where they typed it."""

    platform: str
    user_id: str
    destination: Destination  # where a subscription made here delivers
    private: bool = False  # a DM / private chat: personal subscriptions, no admin check
    # The platform's admin check (Telegram getChatMember, Discord Manage Channels); only awaited
    # for commands that need it.
    check_admin: Callable[[], Awaitable[bool]] = _always_admin
    admin_rule: str = "Only administrators of this chat can do that."
    # False when the bot may not post where the command was typed (Discord permissions).
    bot_can_post: bool = True
    where: str = "this chat"  # how replies name the destination ("this channel", "your DMs")
    rate_limited: bool = True  # False for the console's operator

    @property
    def rate_key(self) -> str:
        return f"{self.platform}:{self.user_id}"


# -- parsing typed text (Telegram, console) -------------------------------------------------------


class ArgumentError(ValueError):
    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.title)
        self.reply = reply


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


def _is_service(text: str) -> bool:
    return service_from_display_name(text) is not None


def _is_category(text: str) -> bool:
    base, _ = fold_category(text)
    return base in {fold_category(name)[0] for name in KNOWN_CATEGORIES}


@cache
def _zone_names() -> dict[str, str]:
    return {name.casefold(): name for name in zoneinfo.available_timezones()}


def resolve_timezone(text: str) -> str | None:
    return _zone_names().get(text.strip().casefold().replace(" ", "_"))


def _classify(span: str, kinds: set[ArgumentKind]) -> ArgumentKind | None:
    """Which argument a run of words can only be (order matters: "TV" is a category before
    it is Tuvalu)."""
    if ArgumentKind.DATE in kinds and _valid_date_word(span):
        return ArgumentKind.DATE
    if ArgumentKind.SERVICE in kinds and _is_service(span):
        return ArgumentKind.SERVICE
    if ArgumentKind.CATEGORY in kinds and _is_category(span):
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


def parse_command_text(command: Command, text: str) -> dict[str, str]:
    """Typed arguments → values by argument name, the same mapping Discord's options give.

    `name=value` sets an argument explicitly (the value runs to the next `name=`). Otherwise:
    commands whose first argument is free text (/title, /unsubscribe) take the whole text;
    the others recognise dates, services, categories, event types and time zones by their
    shape, and what is left is the region — or, for /subscribe, the title.
    """
    if len(text) > MAX_COMMAND_TEXT_LENGTH:
        raise ArgumentError(
            _error("Too long", f"Keep a command under {MAX_COMMAND_TEXT_LENGTH} characters.")
        )
    names = [a.name for a in command.arguments]
    values: dict[str, str] = {}
    positional = text
    if names:
        pattern = re.compile(r"(?:^|\s)(" + "|".join(map(re.escape, names)) + r")=", re.I)
        marks = list(pattern.finditer(text))
        if marks:
            positional = text[: marks[0].start()]
            for mark, following in zip(marks, [*marks[1:], None], strict=True):
                end = following.start() if following is not None else len(text)
                values[mark.group(1).lower()] = _strip_quotes(text[mark.end() : end])
    positional = positional.strip()
    if not positional:
        return values
    if not command.arguments:
        raise ArgumentError(
            _error(f"/{command.name} takes no arguments", f"Usage: {command.usage()}")
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
                _error(
                    f"Could not read {leftover!r}",
                    f"Usage: {command.usage()}",
                    *command.examples,
                )
            )
        values[region_name] = leftover
    return values


# -- small helpers ------------------------------------------------------------------------------

SOURCE_NAMES = {
    "netflix": "Netflix Top 10 (official)",
    "flixpatrol": "FlixPatrol",
    "the-numbers": "The Numbers",
    "csv": "imported CSV",
}

# When /top10 names no category: the broadest list first.
_CATEGORY_BASE_ORDER = ("overall", "tv", "films", "kids tv", "kids films")
_QUALIFIER_ORDER = ("", "english", "non english")


def _source_name(source: str) -> str:
    return SOURCE_NAMES.get(source, source)


def _category_rank(category: str) -> tuple[int, int, str]:
    base, qualifier = fold_category(category)
    base_rank = (
        _CATEGORY_BASE_ORDER.index(base)
        if base in _CATEGORY_BASE_ORDER
        else len(_CATEGORY_BASE_ORDER)
    )
    qualifier_rank = (
        _QUALIFIER_ORDER.index(qualifier)
        if qualifier in _QUALIFIER_ORDER
        else len(_QUALIFIER_ORDER)
    )
    return base_rank, qualifier_rank, category


def _service_slug(text: str) -> str | None:
    return service_from_display_name(text)


def _fuzzy(query: str, choices: Sequence[str], limit: int, cutoff: float = 60.0) -> list[str]:
    found = process.extract(
        query,
        list(choices),
        scorer=fuzz.WRatio,
        processor=utils.default_process,
        limit=limit,
        score_cutoff=cutoff,
    )
    return [choice for choice, _score, _index in found]


def _region_hints(text: str) -> list[str]:
    return [f"{name} ({code})" for code, name in suggest_regions(text, 3)]


def _cap_lines(lines: Sequence[str], limit: int = MAX_FIELD_LINES) -> str:
    if len(lines) <= limit:
        return "\n".join(lines)
    return "\n".join([*lines[:limit], f"… and {len(lines) - limit} more"])


def _periods_between(granularity: str, first: date, last: date) -> int:
    if granularity not in ("daily", "weekly"):
        return 1
    step = period_step("daily" if granularity == "daily" else "weekly")
    return (last - first) // step + 1


def _streak_text(granularity: str, count: int) -> str:
    unit = "day" if granularity == "daily" else "week"
    return f"{count} {unit}{'' if count == 1 else 's'}"


def _record_value(record: Record, value: int, granularity: str) -> str:
    if record is Record.LONGEST_NUMBER_ONE_RUN:
        return _streak_text(granularity, value)
    if record is Record.MOST_REGIONS_AT_NUMBER_ONE:
        return f"{value} countries"
    if record is Record.MOST_WEEKLY_HOURS:
        return f"{big_number(value)} hours"
    return f"{big_number(value)} views"


def format_chart(chart: Chart, previous: Chart | None) -> tuple[str, ...]:
    """Rank, title, movement and the metrics the source has, one line per entry."""
    before = {e.title_id: e.rank for e in previous.entries} if previous else {}
    lines = []
    for entry in sorted(chart.entries, key=lambda e: e.rank):
        old = before.get(entry.title_id)
        if previous is None:
            move = ""
        elif old is None:
            move = " 🆕"
        elif old > entry.rank:
            move = f" ▲{old - entry.rank}"
        elif old < entry.rank:
            move = f" ▼{entry.rank - old}"
        else:
            move = " ="
        metrics = []
        if entry.weeks_in_top10 is not None:
            metrics.append(f"{entry.weeks_in_top10} wk")
        if entry.days_in_top10 is not None:
            metrics.append(f"{entry.days_in_top10} d")
        if entry.points is not None:
            metrics.append(f"{entry.points} pts")
        if entry.views is not None:
            metrics.append(f"{big_number(entry.views)} views")
        if entry.hours is not None:
            metrics.append(f"{big_number(entry.hours)} h")
        detail = f" · {' · '.join(metrics)}" if metrics else ""
        lines.append(f"{entry.rank}. {display_title(entry.title, entry.season)}{move}{detail}")
    return tuple(lines)


@dataclass(frozen=True, slots=True)
class Show:
    """Every stored title (seasons, sources) that shares one show title."""

    norm: str
    name: str
    hits: tuple[TitleHit, ...]

    @property
    def title_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(hit.title_id for hit in self.hits))


@dataclass(slots=True)
class _TitleIndex:
    shows: dict[str, Show]  # by normalised show title
    names: list[str]  # display names, for fuzzy matching, in the order of `keys`
    keys: list[str]  # the show of each name
    refs: dict[str, str]  # title_ref → normalised show title
    loaded_at: float


def _build_title_index(hits: Sequence[TitleHit], loaded_at: float) -> _TitleIndex:
    grouped: dict[str, list[TitleHit]] = {}
    for hit in hits:
        grouped.setdefault(normalise_title(hit.title), []).append(hit)
    shows: dict[str, Show] = {}
    names: list[str] = []
    keys: list[str] = []
    for norm, members in grouped.items():
        if not norm:
            continue
        show = Show(norm, members[0].title, tuple(members))
        shows[norm] = show
        spellings = {show.name, *(display_title(h.title, h.season) for h in members)}
        for spelling in sorted(spellings):
            names.append(spelling)
            keys.append(norm)
    refs = {title_ref(norm): norm for norm in shows}
    return _TitleIndex(shows, names, keys, refs, loaded_at)


# -- the service --------------------------------------------------------------------------------

Handler = Callable[[Mapping[str, str], Caller], Awaitable[Reply]]
Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class CommandService:
    """Runs commands for every adapter: one implementation, one set of rules."""

    def __init__(
        self,
        storage: Storage,
        subscriptions: SubscriptionStore,
        *,
        rate_limiter: CommandRateLimiter | None = None,
        clock: Clock = _utc_now,
        monotonic: Callable[[], float] = monotonic_time.monotonic,
    ) -> None:
        self.storage = storage
        self.subscriptions = subscriptions
        self._rate_limiter = (
            rate_limiter if rate_limiter is not None else CommandRateLimiter(clock=monotonic)
        )
        self._clock = clock
        self._monotonic = monotonic
        self._titles: _TitleIndex | None = None
        self._handlers: dict[str, Handler] = {
            "top10": self._top10,
            "title": self._title,
            "subscribe": self._subscribe,
            "unsubscribe": self._unsubscribe,
            "subscriptions": self._subscriptions,
            "records": self._records,
            "status": self._status,
            "settings": self._settings,
            "help": self._help,
        }
        missing = {c.name for c in COMMANDS} ^ set(self._handlers)
        if missing:  # pragma: no cover - a registry edit without its handler fails at start-up
            raise RuntimeError(f"commands without a handler or registry entry: {missing}")

    # -- entry points ----------------------------------------------------------------------------

    async def execute_text(self, name: str, text: str, caller: Caller) -> Reply:
        """A command as typed on Telegram or the console: "/top10 south korea tv"."""
        command = COMMANDS_BY_NAME.get(name.lower())
        if command is None:
            return self._unknown_command(name)
        try:
            arguments = parse_command_text(command, text)
        except ArgumentError as exc:
            return exc.reply
        return await self.execute(command.name, arguments, caller)

    async def execute(
        self, name: str, arguments: Mapping[str, str | None], caller: Caller
    ) -> Reply:
        """Run one command with named arguments (Discord options, parsed text, a button)."""
        command = COMMANDS_BY_NAME.get(name.lower())
        if command is None:
            return self._unknown_command(name)
        wait = self._rate_limiter.acquire(caller.rate_key) if caller.rate_limited else 0.0
        if wait > 0:
            return _error("Slow down", f"Too many commands: try again in {wait:.0f} s.")
        values: dict[str, str] = {}
        for key, value in arguments.items():
            argument = command.argument(key)
            if argument is None:
                return _error(f"/{command.name} has no argument {key!r}", command.usage())
            if value is None or not value.strip():
                continue
            if len(value) > MAX_ARGUMENT_LENGTH:
                return _error(
                    f"{argument.name} is too long",
                    f"Keep arguments under {MAX_ARGUMENT_LENGTH} characters.",
                )
            values[key] = value.strip()
        for argument in command.arguments:
            if argument.required and argument.name not in values:
                return _error(
                    f"/{command.name} needs {argument.name}",
                    f"Usage: {command.usage()}",
                    *command.examples,
                )
        if command.needs_admin and not caller.private and not await caller.check_admin():
            return _error("Not allowed", caller.admin_rule)
        try:
            return await self._handlers[command.name](values, caller)
        except Exception:
            # One failing command must never take its adapter down; the log has the details.
            log.exception("command /%s failed", command.name)
            return _error("Something went wrong", "The error was logged; please try again later.")

    def _unknown_command(self, name: str) -> Reply:
        close = _fuzzy(name, list(COMMANDS_BY_NAME), 3, cutoff=50)
        return _error(
            f"Unknown command /{name[:MAX_ARGUMENT_LENGTH]}",
            "Type /help for the list of commands.",
            suggestions=[f"/{c}" for c in close],
        )

    async def complete(
        self,
        kind: ArgumentKind,
        current: str,
        caller: Caller,
    ) -> list[Choice]:
        """Autocomplete choices for what the user has typed so far (≤ 25)."""
        current = current[:MAX_ARGUMENT_LENGTH]
        if kind is ArgumentKind.TITLE:
            return await self._complete_title(current)
        if kind is ArgumentKind.REGION:
            return await self._complete_region(current)
        if kind is ArgumentKind.SUBSCRIPTION:
            subscriptions = await self.subscriptions.subscriptions_of(caller.destination)
            choices = [Choice("all — every subscription here", "all")]
            for sub in subscriptions:
                label = f"#{sub.id} {describe_spec(sub.spec)}"
                choices.append(Choice(label[:MAX_CHOICE_TEXT], str(sub.id)))
            wanted = current.strip().lstrip("#").casefold()
            return [c for c in choices if wanted in c.label.casefold()][:MAX_CHOICES]
        if kind is ArgumentKind.TIMEZONE:
            zones = sorted(_zone_names().values())
            if not current.strip():
                return [Choice(z, z) for z in ("UTC", "Europe/London", "America/New_York")]
            return [Choice(z, z) for z in _fuzzy(current, zones, MAX_CHOICES, cutoff=50)]
        if kind is ArgumentKind.EVENT_TYPES:
            head, _, last = current.rpartition(",")
            prefix = f"{head}," if head else ""
            words = ["all", *event_type_words()]
            hits = [w for w in words if w.startswith(last.strip().casefold())]
            return [
                Choice((prefix + w)[:MAX_CHOICE_TEXT], (prefix + w)[:MAX_CHOICE_TEXT])
                for w in hits[:MAX_CHOICES]
            ]
        return []

    async def _complete_title(self, current: str) -> list[Choice]:
        index = await self._title_index()
        if not current.strip():
            recent = await self.storage.recent_events(limit=60)
            names = list(dict.fromkeys(e.title for e in recent))
        else:
            names = _fuzzy(current, index.names, MAX_CHOICES * 2, cutoff=50)
        choices = list(dict.fromkeys(n[:MAX_CHOICE_TEXT] for n in names))
        return [Choice(n, n) for n in choices[:MAX_CHOICES]]

    async def _complete_region(self, current: str) -> list[Choice]:
        if current.strip():
            found = suggest_regions(current, MAX_CHOICES)
            exact = resolve_region(current)
            if exact is not None and exact not in [code for code, _ in found]:
                found.insert(0, (exact, region_label(exact)))
        else:
            regions = sorted({k.region for k in await self.storage.chart_keys()})
            ordered = sorted(regions, key=lambda code: (code != WORLD, region_label(code)))
            found = [(code, region_label(code)) for code in ordered]
        return [
            Choice(f"{region_flag(code)} {name}"[:MAX_CHOICE_TEXT], code)
            for code, name in found[:MAX_CHOICES]
        ]

    # -- shared resolution -----------------------------------------------------------------------

    async def _title_index(self) -> _TitleIndex:
        now = self._monotonic()
        if self._titles is None or now - self._titles.loaded_at > TITLE_CACHE_SECONDS:
            self._titles = _build_title_index(await self.storage.all_titles(), now)
        return self._titles

    async def resolve_show(self, text: str) -> Show | Reply:
        """A typed title → the show, or an error reply with the closest titles."""
        index = await self._title_index()
        if text.startswith(TITLE_REF_PREFIX) and text in index.refs:
            return index.shows[index.refs[text]]
        norm = normalise_title(text)
        if norm in index.shows:
            return index.shows[norm]
        for name, key in zip(index.names, index.keys, strict=True):
            if normalise_title(name) == norm:
                return index.shows[key]
        found = process.extract(
            text,
            index.names,
            scorer=fuzz.WRatio,
            processor=utils.default_process,
            limit=8,
            score_cutoff=60,
        )
        if found and found[0][1] >= TITLE_MATCH_SCORE:
            return index.shows[index.keys[found[0][2]]]
        hints = list(dict.fromkeys(index.shows[index.keys[i]].name for _, _, i in found))
        if not index.shows:
            return _error("No titles stored yet", "Import or poll some chart data first.")
        return _error(
            f"No title matches {text!r}",
            "Check the spelling, or pick one of these:" if hints else "Check the spelling.",
            suggestions=hints[:5],
        )

    @staticmethod
    def resolve_region_argument(text: str) -> str | Reply:
        region = resolve_region(text)
        if region is None:
            return _error(
                f"Unknown region {text!r}",
                "Use an ISO code (KR), a country name (South Korea) or 'world'.",
                suggestions=_region_hints(text),
            )
        return region

    @staticmethod
    def resolve_service_argument(text: str, known: Iterable[str] = ()) -> str | Reply:
        slug = _service_slug(text)
        if slug is None:
            names = sorted({*FLIXPATROL_SERVICES.values(), *(service_name(k) for k in known)})
            return _error(
                f"Unknown service {text!r}",
                "Services: " + ", ".join(names),
                suggestions=_fuzzy(text, names, 3, cutoff=50),
            )
        return slug

    @staticmethod
    def resolve_category_argument(text: str) -> str | Reply:
        if not _is_category(text):
            return _error(
                f"Unknown category {text!r}",
                "Categories: " + ", ".join(KNOWN_CATEGORIES),
                suggestions=_fuzzy(text, KNOWN_CATEGORIES, 3, cutoff=50),
            )
        return canonical_category(text)

    def _today(self, settings: ChatSettings | None = None) -> date:
        zone = zoneinfo.ZoneInfo(settings.timezone if settings else "UTC")
        return self._clock().astimezone(zone).date()

    def _resolve_date(self, text: str, settings: ChatSettings) -> date | Reply:
        folded = text.casefold()
        today = self._today(settings)
        if folded == "today":
            return today
        if folded == "yesterday":
            return today - timedelta(days=1)
        try:
            wanted = date.fromisoformat(text)
        except ValueError:
            return _error(f"Not a date: {text!r}", "Write dates as YYYY-MM-DD, e.g. 2024-01-07.")
        if wanted > today:
            return _error(
                f"{wanted.isoformat()} is in the future", "Charts exist only for the past."
            )
        return wanted

    # -- /top10 ----------------------------------------------------------------------------------

    async def _top10(self, args: Mapping[str, str], caller: Caller) -> Reply:
        region = WORLD
        if "region" in args:
            resolved = self.resolve_region_argument(args["region"])
            if isinstance(resolved, Reply):
                return resolved
            region = resolved
        all_keys = await self.storage.chart_keys()
        region_keys = [k for k in all_keys if k.region == region and k.granularity != "alltime"]
        keys = region_keys
        if not keys:
            stored = sorted({k.region for k in all_keys if k.granularity != "alltime"})
            return _error(
                f"No chart stored for {region_label(region)}",
                "Try /top10 world." if WORLD in stored else "Import or poll some data first.",
                suggestions=[f"{region_label(code)} ({code})" for code in stored][:5]
                if WORLD not in stored
                else (),
            )
        where = region_label(region)
        if "service" in args:
            service = self.resolve_service_argument(args["service"], {k.service for k in keys})
            if isinstance(service, Reply):
                return service
            matching = [k for k in keys if _service_slug(k.service) == service]
            if not matching:
                return _error(
                    f"No {service_name(service)} chart for {where}",
                    "Services with a chart there:",
                    suggestions=sorted({service_name(k.service) for k in keys}),
                )
            keys = matching
        if "category" in args:
            category = self.resolve_category_argument(args["category"])
            if isinstance(category, Reply):
                return category
            matching = [k for k in keys if category_matches(category, k.category)]
            if not matching:
                return _error(
                    f"No {category} chart for {where}",
                    "Lists there:",
                    suggestions=sorted({k.category for k in keys}),
                )
            keys = matching
        settings = await self.subscriptions.get_settings(caller.destination)
        wanted_date: date | None = None
        if "date" in args:
            parsed = self._resolve_date(args["date"], settings)
            if isinstance(parsed, Reply):
                return parsed
            wanted_date = parsed
        chart = await self._pick_chart(keys, wanted_date)
        if chart is None:
            return _error(
                f"No chart for {where} on or before {wanted_date}",
                "Try a later date, or leave the date out for the latest chart.",
            )
        key = chart.key
        previous = await self._previous_chart(chart)
        lists_here = sorted(
            {
                k.category
                for k in region_keys
                if k.category != key.category and _service_slug(k.service) == key.service
            }
        )
        footer = f"{_source_name(key.source)} · {period_label(key.granularity, chart.period)}"
        if wanted_date is not None and chart.period != wanted_date:
            footer += f" (latest on or before {wanted_date.isoformat()})"
        if lists_here:
            footer += f" · also: {', '.join(lists_here[:6])}"
        flag = region_flag(region)
        return Reply(
            title=f"{flag} Top 10 — {chart_label(key)}",
            lines=format_chart(chart, previous),
            footer=footer,
        )

    async def _pick_chart(
        self, keys: Sequence[ChartKey], on_or_before: date | None
    ) -> Chart | None:
        """The chart /top10 shows: Netflix first, the broadest list, then the freshest source."""

        def preference(key: ChartKey) -> tuple[bool, int, int]:
            base_rank, qualifier_rank, _ = _category_rank(key.category)
            return (_service_slug(key.service) != "netflix", base_rank, qualifier_rank)

        best = min(preference(k) for k in keys)
        candidates = [k for k in keys if preference(k) == best]
        charts = [await self.storage.latest_chart(k, on_or_before=on_or_before) for k in candidates]
        found = [c for c in charts if c is not None]
        if not found:
            # The preferred lists have nothing that old: fall back to any list of the selection.
            others = [k for k in keys if k not in candidates]
            for key in sorted(others, key=preference):
                chart = await self.storage.latest_chart(key, on_or_before=on_or_before)
                if chart is not None:
                    return chart
            return None
        return max(found, key=lambda c: (c.period, c.key.granularity == "daily"))

    async def _previous_chart(self, chart: Chart) -> Chart | None:
        granularity = chart.key.granularity
        if granularity not in ("daily", "weekly"):
            return None
        step = period_step("daily" if granularity == "daily" else "weekly")
        previous = await self.storage.latest_chart(chart.key, on_or_before=chart.period - step)
        # Movement against a chart from long ago would mislead; the diff engine bridges 2 gaps.
        if previous is None or chart.period - previous.period > step * 3:
            return None
        return previous

    # -- /title ----------------------------------------------------------------------------------

    async def _title(self, args: Mapping[str, str], caller: Caller) -> Reply:
        found = await self.resolve_show(args["name"])
        if isinstance(found, Reply):
            return found
        show = found
        title_ids = set(show.title_ids)
        history = {tid: await self.storage.title_history(tid) for tid in show.title_ids}
        points = [(tid, p) for tid, pts in history.items() for p in pts]
        if not points:
            return _error(f"No chart history for {show.name}")
        # The last appearance per chart key; only keys seen lately can be current.
        last_seen: dict[ChartKey, tuple[str, date]] = {}
        for tid, point in points:
            seen = last_seen.get(point.key)
            if seen is None or point.period > seen[1]:
                last_seen[point.key] = (tid, point.period)
        newest = {
            g: max(p.period for _, p in points if p.key.granularity == g)
            for g in {p.key.granularity for _, p in points}
        }
        now_lines: list[tuple[int, str, str]] = []
        at_one: dict[tuple[str, str, str, str], int] = {}
        for key, (tid, period) in last_seen.items():
            if key.granularity == "alltime":
                continue
            horizon = period_step("daily" if key.granularity == "daily" else "weekly") * 3
            if newest[key.granularity] - period > horizon:
                continue
            state_json = await self.storage.load_chart_state(key)
            if state_json is None:
                continue
            state = ChartState.from_json(state_json)
            held = state.entries.get(tid)
            if held is None or state.last_period != period:
                continue
            run = _periods_between(key.granularity, held.since, state.last_period)
            detail = f"{_streak_text(key.granularity, run)} in the Top 10"
            if held.rank == 1 and state.number_one_since is not None:
                top_run = _periods_between(key.granularity, state.number_one_since, period)
                detail = f"{_streak_text(key.granularity, top_run)} at #1 · " + detail
                if key.region != WORLD:
                    family = key.family()
                    at_one[family] = at_one.get(family, 0) + 1
            label = f"{region_flag(key.region)} {chart_label(key)}"
            version = display_title(held.title, held.season)
            if version != show.name:
                label += f" — {version}"
            now_lines.append((held.rank, label, f"{label}: #{held.rank} ({detail})"))
        now_lines.sort(key=lambda item: (item[0], item[1]))
        fields: list[Field] = []
        if now_lines:
            fields.append(Field("Now in the Top 10", _cap_lines([line for *_, line in now_lines])))
        else:
            _, last_point = max(points, key=lambda item: item[1].period)
            fields.append(
                Field(
                    "Now in the Top 10",
                    f"Not in a current chart; last seen in {chart_label(last_point.key)}"
                    f" ({period_label(last_point.key.granularity, last_point.period)}).",
                )
            )
        if at_one:
            fields.append(
                Field(
                    "Countries at #1",
                    "\n".join(
                        f"{service_name(service)} · {category}: {count} "
                        f"{'country' if count == 1 else 'countries'}"
                        for (_, service, category, _), count in sorted(
                            at_one.items(), key=lambda item: -item[1]
                        )
                    ),
                )
            )
        best_rank = min(p.rank for _, p in points)
        first_best = min((p for _, p in points if p.rank == best_rank), key=lambda p: p.period)
        best_places = {p.key for _, p in points if p.rank == best_rank}
        fields.append(
            Field(
                "Best rank",
                f"#{best_rank} — first in {chart_label(first_best.key)}, "
                f"{period_label(first_best.key.granularity, first_best.period)}"
                + (f" (in {len(best_places)} charts)" if len(best_places) > 1 else ""),
            )
        )
        records = await self._records_held(title_ids, {p.key for _, p in points})
        if records:
            fields.append(Field("Records held", _cap_lines(records)))
        seasons = sorted({display_title(h.title, h.season) for h in show.hits})
        sources = sorted({_source_name(p.key.source) for _, p in points})
        footer = f"Sources: {', '.join(sources)}"
        if len(seasons) > 1:
            footer = f"{len(seasons)} seasons/versions · " + footer
        return Reply(
            title=show.name,
            fields=tuple(fields),
            footer=footer,
            buttons=(Button("🔔 Subscribe", "subscribe", (("title", title_ref(show.norm)),)),),
        )

    async def _records_held(self, title_ids: set[str], keys: set[ChartKey]) -> list[str]:
        lines: list[str] = []
        families: set[Family] = set()
        for key in sorted(keys):
            if key.region != WORLD:
                families.add(key.family())
            state_json = await self.storage.load_chart_state(key)
            if state_json is None:
                continue
            for record, mark in ChartState.from_json(state_json).records.items():
                if mark.title_id in title_ids:
                    lines.append(
                        f"{RECORD_NAMES[record]} — {chart_label(key)}: "
                        f"{_record_value(record, mark.value, key.granularity)}"
                    )
        for family in sorted(families):
            family_json = await self.storage.load_family_state(family)
            if family_json is None:
                continue
            family_mark = FamilyState.from_json(family_json).record
            if family_mark is not None and family_mark.title_id in title_ids:
                _, service, category, granularity = family
                record = Record.MOST_REGIONS_AT_NUMBER_ONE
                lines.append(
                    f"{RECORD_NAMES[record]} — {service_name(service)} · {category}: "
                    f"{_record_value(record, family_mark.value, granularity)}"
                )
        return lines

    # -- /subscribe, /unsubscribe, /subscriptions -------------------------------------------------

    async def _subscribe(self, args: Mapping[str, str], caller: Caller) -> Reply:
        if not caller.bot_can_post:
            return _error(
                "I cannot post here",
                "Give the bot the Send Messages and Embed Links permissions in this channel first.",
            )
        show: Show | None = None
        if "title" in args:
            found = await self.resolve_show(args["title"])
            if isinstance(found, Reply):
                return found
            show = found
        region = service = category = None
        if "region" in args:
            resolved_region = self.resolve_region_argument(args["region"])
            if isinstance(resolved_region, Reply):
                return resolved_region
            region = resolved_region
        if "service" in args:
            resolved_service = self.resolve_service_argument(args["service"])
            if isinstance(resolved_service, Reply):
                return resolved_service
            service = resolved_service
        if "category" in args:
            resolved_category = self.resolve_category_argument(args["category"])
            if isinstance(resolved_category, Reply):
                return resolved_category
            category = resolved_category
        types: frozenset[EventType] = frozenset()
        if "events" in args:
            try:
                types = parse_event_types(args["events"])
            except UnknownEventType as exc:
                return _unknown_event_type(exc)
        spec = SubscriptionSpec(
            show=show.norm if show else None,
            show_title=show.name if show else None,
            service=service,
            region=region,
            category=category,
            event_types=types,
        )
        if spec.is_empty():
            command = COMMANDS_BY_NAME["subscribe"]
            return _error(
                "Subscribe to what?",
                "Name a title, a chart (region, category, service) or event types:",
                *command.examples,
            )
        subscription, added = await self.subscriptions.add_subscription(caller.destination, spec)
        settings = await self.subscriptions.get_settings(caller.destination)
        lines = [describe_spec(spec)]
        if not spec.event_types and settings.event_types:
            defaults = describe_event_types(settings.event_types)
            lines.append(f"This chat's default event types apply: {defaults}.")
        if not await self._chart_exists(spec):
            lines.append("No matching chart is stored yet: alerts start when its data arrives.")
        if added:
            return Reply(
                title=f"Subscribed #{subscription.id} — alerts go to {caller.where}",
                lines=tuple(lines),
                footer="/subscriptions lists them · /unsubscribe <number> stops one",
            )
        return Reply(
            title=f"Already subscribed (#{subscription.id})",
            lines=tuple(lines),
            footer="/subscriptions lists them",
        )

    async def _chart_exists(self, spec: SubscriptionSpec) -> bool:
        if spec.service is None and spec.region is None and spec.category is None:
            return True
        for key in await self.storage.chart_keys():
            if spec.service is not None and _service_slug(key.service) != spec.service:
                continue
            if spec.region is not None and key.region != spec.region:
                continue
            if spec.category is not None and not category_matches(spec.category, key.category):
                continue
            return True
        return False

    async def _unsubscribe(self, args: Mapping[str, str], caller: Caller) -> Reply:
        wanted = args["subscription"].strip().lstrip("#")
        if wanted.casefold() == "all":
            removed = await self.subscriptions.remove_all_subscriptions(caller.destination)
            return Reply(title=f"Removed {removed} subscription{'s' if removed != 1 else ''}")
        if not wanted.isdigit():
            return _error(
                f"Not a subscription number: {wanted!r}",
                "Use the number shown by /subscriptions, or 'all'.",
            )
        if await self.subscriptions.remove_subscription(caller.destination, int(wanted)):
            return Reply(title=f"Unsubscribed #{wanted}")
        current = await self.subscriptions.subscriptions_of(caller.destination)
        return _error(
            f"No subscription #{wanted} here",
            "Subscriptions of this chat:" if current else "This chat has no subscriptions.",
            suggestions=[f"#{s.id} {describe_spec(s.spec)}" for s in current][:10],
        )

    async def _subscriptions(self, args: Mapping[str, str], caller: Caller) -> Reply:
        current = await self.subscriptions.subscriptions_of(caller.destination)
        settings = await self.subscriptions.get_settings(caller.destination)
        state = await self.subscriptions.destination_state(caller.destination)
        footer = f"Default event types: {describe_event_types(settings.event_types)}"
        if state is not None and not state.active:
            footer = f"Paused: {state.reason}. Subscribe again to resume · " + footer
        if not current:
            return Reply(
                title=f"No subscriptions in {caller.where}",
                lines=("Try /subscribe KR TV, /subscribe Squid Game or /subscribe records.",),
                footer=footer,
            )
        return Reply(
            title=f"Subscriptions of {caller.where}",
            lines=tuple(f"#{s.id} {describe_spec(s.spec)}" for s in current),
            footer=footer,
        )

    # -- /records --------------------------------------------------------------------------------

    async def _records(self, args: Mapping[str, str], caller: Caller) -> Reply:
        pattern: str | None = None
        if "category" in args:
            resolved = self.resolve_category_argument(args["category"])
            if isinstance(resolved, Reply):
                return resolved
            pattern = resolved
        keys = [
            k
            for k in await self.storage.chart_keys()
            if k.granularity != "alltime"
            and (pattern is None or category_matches(pattern, k.category))
        ]
        fields: list[Field] = []
        for key in sorted(k for k in keys if k.region == WORLD):
            state_json = await self.storage.load_chart_state(key)
            if state_json is None:
                continue
            state = ChartState.from_json(state_json)
            lines = [
                f"{RECORD_NAMES[record]}: {display_title(mark.title, mark.season)} — "
                f"{_record_value(record, mark.value, key.granularity)} "
                f"({period_label(key.granularity, mark.period)})"
                for record, mark in sorted(state.records.items())
            ]
            if lines:
                fields.append(Field(chart_label(key), "\n".join(lines)))
        for family in sorted({k.family() for k in keys if k.region != WORLD}):
            family_json = await self.storage.load_family_state(family)
            if family_json is None:
                continue
            mark = FamilyState.from_json(family_json).record
            if mark is None:
                continue
            _, service, category, granularity = family
            record = Record.MOST_REGIONS_AT_NUMBER_ONE
            fields.append(
                Field(
                    f"{service_name(service)} · {category} · every country",
                    f"{RECORD_NAMES[record]}: {display_title(mark.title, mark.season)} — "
                    f"{_record_value(record, mark.value, granularity)} "
                    f"({period_label(granularity, mark.period)})",
                )
            )
        if not fields:
            return Reply(
                title="No records yet",
                lines=(
                    "Records are tracked once charts have some history; "
                    "import past weeks (top10bot import) to see them.",
                ),
            )
        title = "Records" + (f" — {pattern}" if pattern else "")
        return Reply(
            title=title,
            fields=tuple(fields[:MAX_CHOICES]),
            footer="Worldwide charts and #1-in-most-countries · /title shows a title's records",
        )

    # -- /status ---------------------------------------------------------------------------------

    async def _status(self, args: Mapping[str, str], caller: Caller) -> Reply:
        settings = await self.subscriptions.get_settings(caller.destination)
        today = self._today(settings)
        keys = await self.storage.chart_keys()
        groups: dict[tuple[str, str], list[ChartKey]] = {}
        for key in keys:
            groups.setdefault((key.source, key.granularity), []).append(key)
        lines: list[str] = []
        for (source, granularity), members in sorted(groups.items()):
            latest: date | None = None
            for family in {k.family() for k in members}:
                period = await self.storage.latest_period(family)
                if period is not None and (latest is None or period > latest):
                    latest = period
            if latest is None:  # pragma: no cover - chart_keys lists keys with charts
                continue
            regions = len({k.region for k in members})
            services = len({k.service for k in members})
            age = (today - latest).days
            # Netflix publishes a week on the Tuesday after it ends; FlixPatrol a day late.
            allowed = {"daily": 2, "weekly": 10}.get(granularity)
            fresh = allowed is None or age <= allowed
            mark = "✅" if fresh else "⚠️"
            age_text = "today" if age <= 0 else f"{age} day{'s' if age != 1 else ''} ago"
            lines.append(
                f"{mark} {_source_name(source)} · {granularity}: latest "
                f"{period_label(granularity, latest)} ({age_text}); {regions} region"
                f"{'s' if regions != 1 else ''}, {services} service{'s' if services != 1 else ''}"
            )
        if not lines:
            lines.append("No chart stored yet.")
        fields: list[Field] = []
        rejections = await self.storage.recent_rejections(limit=5)
        zone = zoneinfo.ZoneInfo(settings.timezone)
        if rejections:
            fields.append(
                Field(
                    "Recently rejected",
                    "\n".join(
                        f"{r.rejected_at.astimezone(zone):%Y-%m-%d %H:%M}"
                        f" {chart_label(r.key)} {r.period.isoformat()}: {r.reason[:120]}"
                        for r in rejections
                    ),
                )
            )
        return Reply(
            title="Data freshness",
            lines=tuple(lines),
            fields=tuple(fields),
            footer=f"Times in {settings.timezone} · /settings changes the time zone",
        )

    # -- /settings -------------------------------------------------------------------------------

    async def _settings(self, args: Mapping[str, str], caller: Caller) -> Reply:
        settings = await self.subscriptions.get_settings(caller.destination)
        changed = False
        if "timezone" in args:
            zone = resolve_timezone(args["timezone"])
            if zone is None:
                return _error(
                    f"Unknown time zone {args['timezone']!r}",
                    "Use an IANA name such as Europe/Berlin, Asia/Seoul or UTC.",
                    suggestions=_fuzzy(args["timezone"], sorted(_zone_names().values()), 3, 50),
                )
            settings = replace(settings, timezone=zone)
            changed = True
        if "events" in args:
            try:
                types = parse_event_types(args["events"])
            except UnknownEventType as exc:
                return _unknown_event_type(exc)
            settings = replace(settings, event_types=types)
            changed = True
        if changed:
            await self.subscriptions.save_settings(caller.destination, settings)
        return Reply(
            title=f"Settings of {caller.where}" + (" saved" if changed else ""),
            lines=(
                f"Time zone: {settings.timezone}",
                f"Default event types: {describe_event_types(settings.event_types)}",
            ),
            footer="Event types: " + ", ".join(t.value for t in EVENT_TYPE_LABELS),
        )

    # -- /help -----------------------------------------------------------------------------------

    async def _help(self, args: Mapping[str, str], caller: Caller) -> Reply:
        return help_reply()


def _unknown_event_type(exc: UnknownEventType) -> Reply:
    return _error(
        f"Unknown event type {exc.word!r}",
        "Event types: "
        + ", ".join(f"{t.value} ({label})" for t, label in EVENT_TYPE_LABELS.items()),
        suggestions=_fuzzy(exc.word, event_type_words(), 3, cutoff=50),
    )


def help_reply() -> Reply:
    """The command list, generated from the registry."""
    lines = [f"{command.usage()} — {command.description}" for command in COMMANDS]
    examples = [example for command in COMMANDS for example in command.examples[:1]]
    return Reply(
        title="top10bot commands",
        lines=tuple(lines),
        fields=(Field("Examples", "\n".join(examples)),),
        footer="In groups and servers, only admins (Manage Channels) change subscriptions.",
    )
