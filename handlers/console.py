"""The console adapter: commands typed on stdin, replies and alerts printed.

It is the no-token default of `top10bot run` and the end-to-end test rig. The operator at the
console owns it: every command is allowed, and the console is one destination ("console:console")
that can subscribe like any chat.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator
from typing import TextIO

from bot.commands import Button, Caller, CommandService, Reply
from bot.subscriptions import Destination, Platform

log = logging.getLogger(__name__)

CONSOLE_DESTINATION = Destination(Platform.CONSOLE.value, "console")
# The longest alert message printed in one piece (the length Telegram allows).
CONSOLE_TEXT_MAX = 4096


def render_plain(reply: Reply) -> str:
    """A reply as plain text: title, lines, fields, suggestions, buttons, footer.

    Buttons are numbered: typing the number presses the button (see ConsoleAdapter)."""
    parts = [("" if reply.ok else "⚠ ") + reply.title]
    parts.extend(reply.lines)
    for field in reply.fields:
        parts.append(f"{field.name}:")
        parts.extend(f"  {line}" for line in field.value.split("\n"))
    if reply.suggestions:
        parts.append("Did you mean: " + ", ".join(reply.suggestions))
    for number, button in enumerate(reply.buttons, start=1):
        arguments = " ".join(f"{name}={value}" for name, value in button.arguments)
        parts.append(f"[{number}] {button.label} — /{button.command} {arguments}".rstrip())
    if reply.buttons:
        parts.append("Type a number to choose, or the command after it.")
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
        self, destination: str, text: str, *, idempotency_key: str | None = None
    ) -> None:
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
        self._buttons: tuple[Button, ...] = ()  # of the last answer, pressed by their number

    def _print(self, text: str) -> None:
        print(text, file=self._out, flush=True)

    async def handle_line(self, line: str) -> str | None:
        """Answer one typed line; None for blank lines. A bare number presses that button of
        the last answer (the console's choice buttons)."""
        command = split_command(line)
        if command is None:
            return None
        name, rest = command
        if name.isdigit() and not rest:
            reply = await self._press(name)
        else:
            reply = await self._service.execute_text(name, rest, self._caller)
        self._buttons = reply.buttons
        return render_plain(reply)

    async def _press(self, number: str) -> Reply:
        choice = int(number) if len(number) <= 3 else 0
        if not 1 <= choice <= len(self._buttons):
            offered = f"1–{len(self._buttons)}" if self._buttons else "no numbers"
            return Reply(
                title=f"No choice {number[:6]}",
                lines=(f"The last answer offered {offered}; type a /command instead.",),
                ok=False,
            )
        button = self._buttons[choice - 1]
        return await self._service.execute(button.command, dict(button.arguments), self._caller)

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
