"""Every user command, written once. Each returns a neutral Reply that an adapter renders.

- `registry`: the command set (names, arguments, rules) and `Caller`, who is asking.
- `reply`: the neutral `Reply` and its buttons; `ArgumentError` carries an error reply.
- `parsing`: typed text into named arguments, and each argument into what it names.
- `lookup`: the title index shared by /title, /subscribe and autocomplete.
- one module per command (`top10`, `title`, `subscribe`, `records`, `status`, `settings`,
  `help`), each exporting `HANDLERS`; `autocomplete` for Discord's choices.
- `service`: `CommandService`, the one entry point of every adapter, rate-limited per user by
  `ratelimit`.
"""

from bot.commands.autocomplete import MAX_CHOICE_TEXT, MAX_CHOICES
from bot.commands.context import Clock, CommandContext, Handler
from bot.commands.formatting import MAX_FIELD_LINES
from bot.commands.help import help_reply
from bot.commands.lookup import (
    MAX_TITLE_CHOICES,
    TITLE_CACHE_SECONDS,
    Show,
    TitleLookup,
    TitleSearch,
)
from bot.commands.parsing import MAX_COMMAND_TEXT_LENGTH, parse_command_text
from bot.commands.ratelimit import CommandRateLimiter
from bot.commands.registry import (
    AUTOCOMPLETED_KINDS,
    CATEGORY_CHOICES,
    COMMANDS,
    COMMANDS_BY_NAME,
    SERVICE_CHOICES,
    Argument,
    ArgumentKind,
    Caller,
    Choice,
    Command,
)
from bot.commands.reply import BUTTON_PREFIX, ArgumentError, Button, Field, Reply, decode_button
from bot.commands.resolvers import resolve_timezone
from bot.commands.service import MAX_ARGUMENT_LENGTH, CommandService
from bot.commands.top10 import format_chart
from bot.render import SOURCE_NAMES

__all__ = [
    "AUTOCOMPLETED_KINDS",
    "BUTTON_PREFIX",
    "CATEGORY_CHOICES",
    "COMMANDS",
    "COMMANDS_BY_NAME",
    "MAX_ARGUMENT_LENGTH",
    "MAX_CHOICES",
    "MAX_CHOICE_TEXT",
    "MAX_COMMAND_TEXT_LENGTH",
    "MAX_FIELD_LINES",
    "MAX_TITLE_CHOICES",
    "SERVICE_CHOICES",
    "SOURCE_NAMES",
    "TITLE_CACHE_SECONDS",
    "Argument",
    "ArgumentError",
    "ArgumentKind",
    "Button",
    "Caller",
    "Choice",
    "Clock",
    "Command",
    "CommandContext",
    "CommandRateLimiter",
    "CommandService",
    "Field",
    "Handler",
    "Reply",
    "Show",
    "TitleLookup",
    "TitleSearch",
    "decode_button",
    "format_chart",
    "help_reply",
    "parse_command_text",
    "resolve_timezone",
]
