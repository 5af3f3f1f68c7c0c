"""`CommandService`: the one entry point of every adapter.

It applies the rate limit, the argument checks and the admin rule, then runs the command's
handler from `HANDLERS`; an ArgumentError raised anywhere inside a command becomes its reply.
"""

from __future__ import annotations

import logging
import time as monotonic_time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime

from bot.commands import help as help_module
from bot.commands import live, records, settings, status, subscribe, title, top10
from bot.commands.aliases import TitleAliases
from bot.commands.autocomplete import complete
from bot.commands.context import Clock, CommandContext, Handler
from bot.commands.lookup import TitleLookup, fuzzy
from bot.commands.parsing import parse_command_text
from bot.commands.ratelimit import CommandRateLimiter
from bot.commands.registry import (
    COMMANDS,
    COMMANDS_BY_NAME,
    ArgumentKind,
    Caller,
    Choice,
)
from bot.commands.reply import ArgumentError, Reply, error
from bot.commands.untrusted import clean_text, quoted, shown
from bot.i18n import Translator, chat_translator
from bot.live_store import LiveStore
from bot.metrics import NO_METRICS, Metrics
from bot.pictures.service import PictureService
from bot.ports import Storage, SubscriptionStore

log = logging.getLogger(__name__)

# A title or a country name is far shorter; anything longer is a paste accident or abuse.
MAX_ARGUMENT_LENGTH = 100

# Every command module, in the order of the registry.
COMMAND_MODULES = (top10, title, subscribe, live, records, status, settings, help_module)
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
        aliases: TitleAliases | None = None,
        live: LiveStore | None = None,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        """`live`: the store's live messages (Backend.live); without it /live says it is not
        available. Set `on_live_change` to hear when /live changed what is owed."""
        self.storage = storage
        self._metrics = metrics
        self.subscriptions = subscriptions
        self.on_live_change: Callable[[], None] = lambda: None
        self._rate_limiter = (
            rate_limiter if rate_limiter is not None else CommandRateLimiter(clock=monotonic)
        )
        self._context = CommandContext(
            storage,
            subscriptions,
            TitleLookup(storage, monotonic, aliases),
            clock,
            pictures=pictures,
            live=live,
            live_changed=lambda: self.on_live_change(),
        )

    async def translator_for(self, caller: Caller) -> Translator:
        """The language of the chat: its own choice, else what the platform says of the user
        or server (a new chat), else the default."""
        settings = await self.subscriptions.get_settings(caller.destination)
        return chat_translator(settings.language or caller.language)

    async def execute_text(self, name: str, text: str, caller: Caller) -> Reply:
        """A command as typed on Telegram or the console: "/top10 south korea tv"."""
        with self._timed(name):
            tr = await self.translator_for(caller)
            command = COMMANDS_BY_NAME.get(name.lower())
            if command is None:
                return self._unknown_command(name, tr)
            try:
                text = clean_text(text, f"/{command.name}", tr)
                arguments = parse_command_text(command, text, tr)
            except ArgumentError as exc:
                return replace(exc.reply, language=tr.language)
            except Exception:
                return self._failed(command.name, tr)
            return await self._execute(command.name, arguments, caller, tr)

    async def execute(
        self, name: str, arguments: Mapping[str, str | None], caller: Caller
    ) -> Reply:
        """Run one command with named arguments (Discord options, parsed text, a button)."""
        with self._timed(name):
            return await self._execute(name, arguments, caller, await self.translator_for(caller))

    @contextmanager
    def _timed(self, name: str) -> Iterator[None]:
        """Report how long a command took, from its arrival to its reply (a known command's
        name only: a typo must not become a new series)."""
        started = monotonic_time.perf_counter()
        try:
            yield
        finally:
            command = COMMANDS_BY_NAME.get(name.lower())
            if command is not None:
                elapsed = monotonic_time.perf_counter() - started
                self._metrics.command_finished(command.name, elapsed)

    async def _execute(
        self, name: str, arguments: Mapping[str, str | None], caller: Caller, tr: Translator
    ) -> Reply:
        reply = await self._run(name, arguments, caller, tr)
        return reply if reply.language else replace(reply, language=tr.language)

    async def _run(
        self, name: str, arguments: Mapping[str, str | None], caller: Caller, tr: Translator
    ) -> Reply:
        command = COMMANDS_BY_NAME.get(name.lower())
        if command is None:
            return self._unknown_command(name, tr)
        wait = self._rate_limiter.acquire(caller.rate_key) if caller.rate_limited else 0.0
        if wait > 0:
            return error(
                tr._("Slow down"),
                tr._("Too many commands: try again in {seconds} s.", seconds=round(wait)),
            )
        values: dict[str, str] = {}
        for key, value in arguments.items():
            argument = command.argument(key)
            if argument is None:
                return error(
                    tr._(
                        "/{command} has no argument {name}", command=command.name, name=quoted(key)
                    ),
                    command.usage(),
                )
            if value is None:
                continue
            if len(value) > MAX_ARGUMENT_LENGTH:
                return error(
                    tr._("{argument} is too long", argument=argument.name),
                    tr._("Keep arguments under {count} characters.", count=MAX_ARGUMENT_LENGTH),
                )
            try:
                value = clean_text(value, argument.name, tr).strip()
            except ArgumentError as exc:
                return exc.reply
            if value:
                values[key] = value
        for argument in command.arguments:
            if argument.required and argument.name not in values:
                return error(
                    tr._(
                        "/{command} needs {argument}", command=command.name, argument=argument.name
                    ),
                    tr._("Usage: {usage}", usage=command.usage()),
                    *command.examples,
                )
        if command.needs_admin and not caller.private and not await caller.check_admin():
            return error(tr._("Not allowed"), tr.gettext(caller.admin_rule))
        try:
            return await HANDLERS[command.name](replace(self._context, tr=tr), values, caller)
        except ArgumentError as exc:
            return exc.reply
        except Exception:
            return self._failed(command.name, tr)

    def _failed(self, name: str, tr: Translator) -> Reply:
        # One failing command must never take its adapter down; the log has the details.
        log.exception("command /%s failed", name)
        return error(
            tr._("Something went wrong"), tr._("The error was logged; please try again later.")
        )

    def _unknown_command(self, name: str, tr: Translator) -> Reply:
        close = fuzzy(name, list(COMMANDS_BY_NAME), 3, cutoff=50)
        return error(
            tr._("Unknown command {command}", command=shown("/" + name)),
            tr._("Type /help for the list of commands."),
            suggestions=[f"/{c}" for c in close],
        )

    async def complete(self, kind: ArgumentKind, current: str, caller: Caller) -> list[Choice]:
        """Autocomplete choices for what the user has typed so far (≤ 25)."""
        tr = await self.translator_for(caller)
        try:
            typed = clean_text(current[:MAX_ARGUMENT_LENGTH], kind.value, tr)
        except ArgumentError:
            return []  # nothing completes a control character (and a choice must not echo it)
        return await complete(replace(self._context, tr=tr), kind, typed, caller)
