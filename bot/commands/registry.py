"""The command set, declared once: names, arguments, rules, and who is asking.

`COMMANDS` is the single description of the command set: Discord's app commands, Telegram's
set_my_commands and the console's /help are generated from it, and the parity test checks every
adapter against it. The code of each command lives in its own module (see `service.HANDLERS`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from bot.i18n import LANGUAGES, N_
from bot.sources.services import FLIXPATROL_SERVICES
from bot.subscriptions import KNOWN_CATEGORIES, Destination


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
    QUIET_HOURS = "quiet_hours"
    LANGUAGE = "language"
    DIGEST = "digest"
    SWITCH = "switch"  # start / stop


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
    description: str  # English, marked N_: translated where it is shown
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
    description: str  # English, marked N_: translated where it is shown
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
LANGUAGE_CHOICES = tuple(Choice(name, code) for code, name in LANGUAGES.items())

_REGION_ARG = Argument(
    "region", N_("Country (ISO code or name, e.g. KR, Korea) or 'world'"), ArgumentKind.REGION
)
_CATEGORY_ARG = Argument(
    "category", N_("Which list: TV, Films …"), ArgumentKind.CATEGORY, choices=CATEGORY_CHOICES
)
_SERVICE_ARG = Argument(
    "service",
    N_("Streaming service (default Netflix)"),
    ArgumentKind.SERVICE,
    choices=SERVICE_CHOICES,
)
_EVENTS_ARG = Argument(
    "events", N_("Only these events, e.g. new_number_one, records"), ArgumentKind.EVENT_TYPES
)

COMMANDS: tuple[Command, ...] = (
    Command(
        "top10",
        N_("The latest Top 10 of a country, category and service"),
        (
            _REGION_ARG,
            _CATEGORY_ARG,
            _SERVICE_ARG,
            Argument("date", N_("Chart date, YYYY-MM-DD (default: latest)"), ArgumentKind.DATE),
        ),
        may_be_slow=True,
        examples=("/top10 KR", "/top10 world TV", "/top10 germany films 2024-01-07"),
    ),
    Command(
        "title",
        N_("Where a title ranks now, its streaks and records"),
        (Argument("name", N_("Title to look up"), ArgumentKind.TITLE, required=True),),
        may_be_slow=True,
        examples=("/title Squid Game",),
        text_is_first_argument=True,
    ),
    Command(
        "subscribe",
        N_("Get alerts here for a title, a chart or event types"),
        (
            Argument("title", N_("A show: all its events"), ArgumentKind.TITLE),
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
        N_("Stop one subscription (number from /subscriptions) or all"),
        (
            Argument(
                "subscription",
                N_("Number from /subscriptions, or 'all'"),
                ArgumentKind.SUBSCRIPTION,
                required=True,
            ),
        ),
        needs_admin=True,
        examples=("/unsubscribe 3", "/unsubscribe all"),
        text_is_first_argument=True,
    ),
    Command("subscriptions", N_("What this chat is subscribed to")),
    Command(
        "live",
        N_("A Top 10 here that the bot edits every new week (or day)"),
        (
            _REGION_ARG,
            _CATEGORY_ARG,
            _SERVICE_ARG,
            Argument(
                "action",
                N_("'stop' ends the live Top 10s named (all of them: /live off)"),
                ArgumentKind.SWITCH,
                choices=(Choice("start", "start"), Choice("stop", "stop")),
            ),
        ),
        needs_admin=True,
        may_be_slow=True,
        examples=("/live KR", "/live world TV", "/live stop KR", "/live off"),
    ),
    Command(
        "records",
        N_("Standing records of the worldwide charts"),
        (_CATEGORY_ARG,),
        may_be_slow=True,
        examples=("/records", "/records TV"),
    ),
    Command("status", N_("How fresh the data of each source is"), may_be_slow=True),
    Command(
        "settings",
        N_("Time zone, default event types, quiet hours and language of this chat"),
        (
            Argument("timezone", N_("IANA time zone, e.g. Europe/Berlin"), ArgumentKind.TIMEZONE),
            Argument("events", N_("Default event types, or 'all'"), ArgumentKind.EVENT_TYPES),
            Argument(
                "quiet",
                N_("Quiet hours in the chat's time zone, e.g. 22:00-08:00, or 'off'"),
                ArgumentKind.QUIET_HOURS,
            ),
            Argument(
                "language",
                N_("Language of replies and alerts"),
                ArgumentKind.LANGUAGE,
                choices=LANGUAGE_CHOICES,
            ),
            Argument(
                "digest",
                N_("Hold detail events for one daily digest, e.g. daily@09:00, or 'off'"),
                ArgumentKind.DIGEST,
            ),
        ),
        needs_admin=True,
        examples=(
            "/settings",
            "/settings Asia/Seoul",
            "/settings events=new_number_one,records",
            "/settings quiet=22:00-08:00",
            "/settings language=ko",
            "/settings digest=daily@09:00",
        ),
    ),
    Command("help", N_("What this bot can do")),
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
    # The two texts below are English marked N_ (a channel mention is left as it is): the
    # service translates them into the chat's language.
    admin_rule: str = N_("Only administrators of this chat can do that.")
    # False when the bot may not post where the command was typed (Discord permissions).
    bot_can_post: bool = True
    where: str = N_("this chat")  # how replies name the destination ("this channel", "your DMs")
    rate_limited: bool = True  # False for the console's operator
    # The language the platform says the user or server speaks (bot.i18n), '' when unknown or
    # not to be used: a chat that has not chosen one gets it, and keeps it once it subscribes.
    language: str = ""

    @property
    def rate_key(self) -> str:
        return f"{self.platform}:{self.user_id}"
