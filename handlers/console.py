"""The console adapter: commands typed on stdin, replies and alerts printed.

It is the no-token default of `top10bot run` and the end-to-end test rig. The operator at the
console owns it: every command is allowed, and the console is one destination ("console:console")
that can subscribe like any chat.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Sequence
from typing import TextIO

from bot.commands import Caller, CommandService, Reply
from bot.commands.reply import Button
from bot.subscriptions import Destination, Platform

log = logging.getLogger(__name__)

CONSOLE_DESTINATION = Destination(Platform.CONSOLE.value, "console")
# The longest alert message printed in one piece (the length Telegram allows).
CONSOLE_TEXT_MAX = 4096


def render_plain(reply: Reply) -> str:
    """A reply as plain text: title, lines, fields, suggestions, buttons, footer."""
    parts = [("" if reply.ok else "⚠ ") + reply.title]
    parts.extend(reply.lines)
    for field in reply.fields:
        parts.append(f"{field.name}:")
        parts.extend(f"  {line}" for line in field.value.split("\n"))
    if reply.suggestions:
        parts.append("Did you mean: " + ", ".join(reply.suggestions))
    for button in reply.buttons:
        arguments = " ".join(f"{name}={value}" for name, value in button.arguments)
        parts.append(f"[{button.label}] /{button.command} {arguments}".rstrip())
    if reply.footer:
        parts.append(f"— {reply.footer}")
    return "\n".join(parts)


def split_command(line: str) -> tuple[str, str] | None:
    """'/top10 south korea' → ('top10', 'south korea'); None for a blank line."""
    text = line.strip()
    if not text:
        return None
    head, _, rest = text.partition(" ")
    return head.lstrip("/").lower(), rest.strip()


class ConsoleNotifier:
    """bot.ports.Notifier for the console: an alert is printed. No flood control, no
    idempotency, never lost."""

    platform = Platform.CONSOLE.value
    # No platform limit; digests are still cut somewhere so that one alert stays readable.
    text_limit = CONSOLE_TEXT_MAX
    deduplicates = False

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out or sys.stdout

    async def wait_until_ready(self) -> None:
        return None

    def text_length(self, text: str) -> int:
        return len(text)

    async def send(
        self,
        destination: str,
        text: str,
        *,
        idempotency_key: str | None = None,
        buttons: Sequence[Button] = (),
    ) -> None:
        # The console has no buttons: a card's text already says which command to type.
        print(text, file=self._out, flush=True)


class ConsoleAdapter:
    platform = Platform.CONSOLE.value
    fatal_errors: tuple[type[BaseException], ...] = ()

    def __init__(
        self,
        service: CommandService,
        lines: AsyncIterator[str] | None = None,
        *,
        out: TextIO | None = None,
    ) -> None:
        self._service = service
        self._lines = lines
        self._out = out or sys.stdout
        self._caller = Caller(
            platform=self.platform,
            user_id="operator",
            destination=CONSOLE_DESTINATION,
            private=True,
            rate_limited=False,  # the operator at the keyboard (or a script piping commands)
            where="the console",
        )

        self.notifier = ConsoleNotifier(self._out)

    def _print(self, text: str) -> None:
        print(text, file=self._out, flush=True)

    async def handle_line(self, line: str) -> str | None:
        """Answer one typed line; None for blank lines."""
        command = split_command(line)
        if command is None:
            return None
        name, rest = command
        reply = await self._service.execute_text(name, rest, self._caller)
        return render_plain(reply)

    async def serve(self, lines: AsyncIterator[str]) -> None:
        """Answer commands until end of input. The end of stdin ends the console, not the bot."""
        self._print("top10bot console — type /help, or /top10 KR")
        async for line in lines:
            answer = await self.handle_line(line)
            if answer is not None:
                self._print(answer)
        log.info("console: end of input")

    async def run(self) -> None:
        await self.serve(self._lines if self._lines is not None else stdin_lines())


async def stdin_lines(stream: TextIO | None = None) -> AsyncIterator[str]:
    """Lines of stdin without blocking the event loop (pipes, terminals and plain files)."""
    source = stream or sys.stdin
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), source)
    except (ValueError, OSError):
        # A regular file cannot be watched by the loop; read it in a worker thread instead.
        while line := await asyncio.to_thread(source.readline):
            yield line
        return
    while raw := await reader.readline():
        yield raw.decode("utf-8", errors="replace")
