"""`CommandService`: the one entry point of every adapter.

It applies the rate limit, the argument checks and the admin rule, then runs the command's
handler from `HANDLERS`; an ArgumentError raised anywhere inside a command becomes its reply.
"""

from __future__ import annotations

import logging
import time as monotonic_time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from bot.commands import help as help_module
from bot.commands import records, settings, status, subscribe, title, top10
from bot.commands.autocomplete import complete
from bot.commands.context import Clock, CommandContext, Handler
from bot.commands.lookup import TitleLookup, fuzzy
from bot.commands.parsing import parse_command_text
from bot.commands.ratelimit import CommandRateLimiter
from bot.commands.registry import COMMANDS, COMMANDS_BY_NAME, ArgumentKind, Caller, Choice
from bot.commands.reply import ArgumentError, Reply, error
from bot.commands.untrusted import clean_text, quoted, shown
from bot.pictures.service import PictureService
from bot.ports import Storage, SubscriptionStore

log = logging.getLogger(__name__)

# A title or a country name is far shorter; anything longer is a paste accident or abuse.
MAX_ARGUMENT_LENGTH = 100

# Every command module, in the order of the registry.
COMMAND_MODULES = (top10, title, subscribe, records, status, settings, help_module)
HANDLERS: dict[str, Handler] = {
    name: handler for module in COMMAND_MODULES for name, handler in module.HANDLERS.items()
}
_unpaired = {c.name for c in COMMANDS} ^ set(HANDLERS)
if _unpaired:  # pragma: no cover - a registry edit without its handler fails at import
    raise RuntimeError(f"commands without a handler or registry entry: {_unpaired}")


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
        pictures: PictureService | None = None,
    ) -> None:
        self.storage = storage
        self.subscriptions = subscriptions
        self._rate_limiter = (
            rate_limiter if rate_limiter is not None else CommandRateLimiter(clock=monotonic)
        )
        self._context = CommandContext(
            storage, subscriptions, TitleLookup(storage, monotonic), clock, pictures
        )

    async def execute_text(self, name: str, text: str, caller: Caller) -> Reply:
        """A command as typed on Telegram or the console: "/top10 south korea tv"."""
        command = COMMANDS_BY_NAME.get(name.lower())
        if command is None:
            return self._unknown_command(name)
        try:
            arguments = parse_command_text(command, clean_text(text, f"/{command.name}"))
        except ArgumentError as exc:
            return exc.reply
        except Exception:
            return self._failed(command.name)
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
            return error("Slow down", f"Too many commands: try again in {wait:.0f} s.")
        values: dict[str, str] = {}
        for key, value in arguments.items():
            argument = command.argument(key)
            if argument is None:
                return error(f"/{command.name} has no argument {quoted(key)}", command.usage())
            if value is None:
                continue
            if len(value) > MAX_ARGUMENT_LENGTH:
                return error(
                    f"{argument.name} is too long",
                    f"Keep arguments under {MAX_ARGUMENT_LENGTH} characters.",
                )
            try:
                value = clean_text(value, argument.name).strip()
            except ArgumentError as exc:
                return exc.reply
            if value:
                values[key] = value
        for argument in command.arguments:
            if argument.required and argument.name not in values:
                return error(
                    f"/{command.name} needs {argument.name}",
                    f"Usage: {command.usage()}",
                    *command.examples,
                )
        if command.needs_admin and not caller.private and not await caller.check_admin():
            return error("Not allowed", caller.admin_rule)
        try:
            return await HANDLERS[command.name](self._context, values, caller)
        except ArgumentError as exc:
            return exc.reply
        except Exception:
            return self._failed(command.name)

    def _failed(self, name: str) -> Reply:
        # One failing command must never take its adapter down; the log has the details.
        log.exception("command /%s failed", name)
        return error("Something went wrong", "The error was logged; please try again later.")

    def _unknown_command(self, name: str) -> Reply:
        close = fuzzy(name, list(COMMANDS_BY_NAME), 3, cutoff=50)
        return error(
            f"Unknown command {shown('/' + name)}",
            "Type /help for the list of commands.",
            suggestions=[f"/{c}" for c in close],
        )

    async def complete(self, kind: ArgumentKind, current: str, caller: Caller) -> list[Choice]:
        """Autocomplete choices for what the user has typed so far (≤ 25)."""
        try:
            typed = clean_text(current[:MAX_ARGUMENT_LENGTH], kind.value)
        except ArgumentError:
            return []  # nothing completes a control character (and a choice must not echo it)
        return await complete(self._context, kind, typed, caller)
