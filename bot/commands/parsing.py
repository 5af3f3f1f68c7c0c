"""Reading typed arguments: typed text into named values.

Typed text (Telegram, console) becomes the same name → value mapping Discord's options give;
each value is then resolved into what it names by bot.commands.resolvers, once, for every
command. Text that cannot be read raises ArgumentError with a helpful reply.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.commands.category_words import is_category, split_category_words, split_words
from bot.commands.registry import ArgumentKind, Command
from bot.commands.reply import ArgumentError, error
from bot.commands.resolvers import SWITCH_WORDS, language_code, resolve_timezone
from bot.commands.untrusted import quoted
from bot.i18n import Translator
from bot.sources.regions import resolve_region
from bot.sources.services import service_from_display_name
from bot.subscriptions import is_event_type_word

MAX_COMMAND_TEXT_LENGTH = 400


def _strip_quotes(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1].strip()
    return text


_QUIET_SHAPE = re.compile(r"\d{1,2}:\d{2}\s*[-–]\s*\d{1,2}:\d{2}")


def _valid_date_word(word: str) -> bool:
    return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", word)) or word.casefold() in {
        "today",
        "yesterday",
    }


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
    if ArgumentKind.LANGUAGE in kinds and " " not in span and language_code(span) is not None:
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
    words = split_words(positional)
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
