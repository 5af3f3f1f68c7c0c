"""The registry is the single description of the command set: these tests keep it whole.

Meta-tests in the spirit of python-discord's: names do not collide, every command explains
itself, and every command module is wired into the service (a new module that is not would
otherwise be dead code that no adapter can reach).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from typing import Any

import pytest

import bot.commands
from bot.commands import (
    COMMANDS,
    COMMANDS_BY_NAME,
    Command,
    CommandService,
    help_reply,
    parse_command_text,
)
from bot.commands.service import COMMAND_MODULES, HANDLERS
from bot.i18n import ENGLISH
from tests.unit.commands.command_helpers import member, run

# The modules of the package that hold no command of their own.
SUPPORT_MODULES = frozenset(
    {
        "aliases",
        "autocomplete",
        "category_words",
        "title_match",
        "context",
        "formatting",
        "lookup",
        "parsing",
        "ratelimit",
        "registry",
        "reply",
        "resolvers",
        "service",
        "untrusted",
    }
)


def test_registry_fits_every_platform() -> None:
    assert len(COMMANDS_BY_NAME) == len(COMMANDS)
    for command in COMMANDS:
        # Telegram: 1–32 of a-z, 0-9, _; Discord: lower case, description ≤ 100.
        assert re.fullmatch(r"[a-z0-9_]{1,32}", command.name)
        assert 0 < len(command.description) <= 100
        names = [a.name for a in command.arguments]
        assert len(set(names)) == len(names)
        for argument in command.arguments:
            assert re.fullmatch(r"[a-z0-9_]{1,32}", argument.name)
            assert 0 < len(argument.description) <= 100
            assert len(argument.choices) <= 25
            assert not (argument.choices and argument.autocomplete)


def test_command_names_do_not_collide() -> None:
    # Typed names are looked up case-insensitively, so names differing in case would collide.
    folded = [command.name.casefold() for command in COMMANDS]
    assert len(set(folded)) == len(folded)
    assert set(COMMANDS_BY_NAME) == {command.name for command in COMMANDS}


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_every_command_has_help(command: Command) -> None:
    assert command.description.strip()
    assert f"{command.usage()} — {command.description}" in help_reply(ENGLISH).lines
    if command.arguments:
        assert command.examples, f"/{command.name} takes arguments but shows no example"
    for example in command.examples:
        name, _, text = example.lstrip("/").partition(" ")
        assert name == command.name
        # Raises ArgumentError if an example cannot be read.
        parse_command_text(command, text, ENGLISH)


def test_every_command_module_is_registered() -> None:
    package = {info.name for info in pkgutil.iter_modules(bot.commands.__path__)}
    command_modules = package - SUPPORT_MODULES
    registered = {module.__name__.rpartition(".")[2] for module in COMMAND_MODULES}
    assert command_modules == registered
    handled: list[str] = []
    for name in sorted(command_modules):
        module = importlib.import_module(f"bot.commands.{name}")
        assert module.HANDLERS, f"bot.commands.{name} handles no command"
        handled.extend(module.HANDLERS)
        for command_name, handler in module.HANDLERS.items():
            assert HANDLERS[command_name] is handler
    assert len(handled) == len(set(handled)), "two modules handle the same command"
    assert set(handled) == set(COMMANDS_BY_NAME)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
async def test_every_command_runs(service: CommandService, command: Any) -> None:
    required = {a.name: "1" for a in command.arguments if a.required}
    reply = await service.execute(command.name, required, member(private=True))
    assert reply.title != "Something went wrong"


async def test_help_is_generated_from_the_registry(service: CommandService) -> None:
    reply = await run(service, "/help")
    assert reply.ok
    assert [line.split(" — ")[0] for line in reply.lines] == [c.usage() for c in COMMANDS]
