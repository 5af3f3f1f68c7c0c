"""The neutral reply every command answers with, before any platform formatting."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.commands.registry import COMMANDS_BY_NAME
from bot.pictures.model import Picture

BUTTON_PREFIX = "t10"
# Telegram carries at most 64 bytes of callback data; Discord shows at most 80 label characters.
MAX_BUTTON_PAYLOAD = 64
MAX_BUTTON_LABEL = 80


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
    # Shown with the reply (a Telegram photo, an image in the Discord embed, a file the console
    # names); the text says everything the picture shows.
    picture: Picture | None = None
    # The language it is written in (bot.i18n): the adapters write their own few words in it.
    # '' until the service fills in the chat's (a command that changes it sets its own).
    language: str = ""


def error(title: str, *lines: str, suggestions: Iterable[str] = ()) -> Reply:
    return Reply(title=title, lines=tuple(lines), ok=False, suggestions=tuple(suggestions))


class ArgumentError(ValueError):
    """An argument the command cannot use; `reply` tells the user why.

    Raised by parsing and resolution anywhere inside a command: the service answers with the
    reply, so a command reads as its happy path.
    """

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.title)
        self.reply = reply
