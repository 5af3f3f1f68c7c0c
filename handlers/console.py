"""The console adapter: commands typed on stdin, replies and alerts printed (a picture as the
path of the file it was saved to).

It is the no-token default of `top10bot run` and the end-to-end test rig. The operator at the
console owns it: every command is allowed, and the console is one destination ("console:console")
that can subscribe like any chat.

It reads whatever stdin is (a terminal, a pipe, a file, /dev/null, or none at all) to its end,
lines of any length included; the end of input ends the console, never the bot.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import sys
import threading
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from bot.commands import MAX_COMMAND_TEXT_LENGTH, Button, Caller, CommandService, Reply
from bot.i18n import N_, chat_translator
from bot.pictures.config import PicturesConfig
from bot.pictures.model import Picture
from bot.subscriptions import Destination, Platform
from handlers.pictures.files import saved_picture_line

log = logging.getLogger(__name__)

CONSOLE_DESTINATION = Destination(Platform.CONSOLE.value, "console")
# The longest alert message printed in one piece (the length Telegram allows).
CONSOLE_TEXT_MAX = 4096
# A longer input line is answered "too long" without being kept: no command is near this size
# (typed arguments stop at 400 characters), and memory stays bounded whatever is piped in.
MAX_CONSOLE_LINE_BYTES = 16 * 1024
READ_CHUNK_BYTES = 64 * 1024
# Printed above a live message's new version (the console cannot edit what it printed).
LIVE_EDIT_MARK = "(live, edited)"


def render_plain(reply: Reply) -> str:
    """A reply as plain text: title, lines, fields, suggestions, buttons, footer.

    Buttons are numbered: typing the number presses the button (see ConsoleAdapter)."""
    tr = chat_translator(reply.language)
    parts = [("" if reply.ok else "⚠ ") + reply.title]
    parts.extend(reply.lines)
    for field in reply.fields:
        parts.append(f"{field.name}:")
        parts.extend(f"  {line}" for line in field.value.split("\n"))
    if reply.suggestions:
        parts.append(tr._("Did you mean: {choices}", choices=", ".join(reply.suggestions)))
    for number, button in enumerate(reply.buttons, start=1):
        arguments = " ".join(f"{name}={value}" for name, value in button.arguments)
        parts.append(f"[{number}] {button.label} — /{button.command} {arguments}".rstrip())
    if reply.buttons:
        parts.append(tr._("Type a number to choose, or the command after it."))
    if reply.footer:
        parts.append(f"— {reply.footer}")
    return "\n".join(parts)


def split_command(line: str) -> tuple[str, str] | None:
    """'/top10 south korea' → ('top10', 'south korea'); None for a blank line. The name ends at
    any whitespace (a tab, a newline), not only at a space."""
    words = line.split(maxsplit=1)
    if not words:
        return None
    return words[0].lstrip("/").lower(), words[1].strip() if len(words) > 1 else ""


def print_line(out: TextIO, text: str) -> None:
    """Print, escaping what the output's encoding cannot show instead of failing on it.

    A closed output raises BrokenPipeError, as a pipe whose reader is gone does.
    """
    if out.closed:
        raise BrokenPipeError(errno.EPIPE, "the output is closed")
    encoding = getattr(out, "encoding", None)
    if encoding:
        text = text.encode(encoding, errors="backslashreplace").decode(encoding)
    print(text, file=out, flush=True)


class ConsoleNotifier:
    """bot.ports.Notifier for the console: an alert is printed. No flood control, no
    idempotency, never lost."""

    platform = Platform.CONSOLE.value
    # No platform limit; digests are still cut somewhere so that one alert stays readable.
    text_limit = CONSOLE_TEXT_MAX
    caption_limit = CONSOLE_TEXT_MAX
    deduplicates = False

    def __init__(self, out: TextIO | None = None, picture_dir: Path | None = None) -> None:
        self._out = out or sys.stdout
        self._picture_dir = picture_dir or PicturesConfig().console_directory()
        self._posted = 0  # ids of posted messages, for edit

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
        picture: Picture | None = None,
    ) -> None:
        # The console has no buttons: a card's text already says which command to type. A
        # picture is saved as a file, and its path printed under the text.
        if picture is not None:
            text += "\n" + await saved_picture_line(picture, self._picture_dir)
        print_line(self._out, text)

    async def post(self, destination: str, text: str, *, idempotency_key: str | None = None) -> str:
        print_line(self._out, text)
        self._posted += 1
        return str(self._posted)

    async def edit(self, destination: str, message_id: str, text: str) -> None:
        # Printed text cannot change: the new version is printed, marked as the edit it is.
        print_line(self._out, f"{LIVE_EDIT_MARK}\n{text}")


@dataclass(frozen=True, slots=True)
class OverlongLine:
    """A line longer than MAX_CONSOLE_LINE_BYTES: read to its end and dropped, never held."""

    size: int  # its length in bytes


ConsoleLine = str | OverlongLine


class ConsoleAdapter:
    platform = Platform.CONSOLE.value
    fatal_errors: tuple[type[BaseException], ...] = ()

    def __init__(
        self,
        service: CommandService,
        lines: AsyncIterator[ConsoleLine] | None = None,
        *,
        out: TextIO | None = None,
        picture_dir: Path | None = None,
    ) -> None:
        self._service = service
        self._lines = lines
        self._out = out or sys.stdout
        self._picture_dir = picture_dir or PicturesConfig().console_directory()
        self._caller = Caller(
            platform=self.platform,
            user_id="operator",
            destination=CONSOLE_DESTINATION,
            private=True,
            rate_limited=False,  # the operator at the keyboard (or a script piping commands)
            where=N_("the console"),
        )

        self.notifier = ConsoleNotifier(self._out, self._picture_dir)
        self._buttons: tuple[Button, ...] = ()  # of the last answer, pressed by their number

    async def handle_line(self, line: ConsoleLine) -> str | None:
        """Answer one typed line; None for blank lines. A bare number presses that button of
        the last answer (the console's choice buttons)."""
        if isinstance(line, OverlongLine):
            tr = await self._service.translator_for(self._caller)
            refused = Reply(
                title=tr._("Line too long"),
                lines=(
                    tr._(
                        "Its {size} bytes were ignored: a command is under {count} characters.",
                        size=line.size,
                        count=MAX_COMMAND_TEXT_LENGTH,
                    ),
                ),
                ok=False,
                language=tr.language,
            )
            return render_plain(refused)
        command = split_command(line)
        if command is None:
            return None
        name, rest = command
        if name.isdecimal() and not rest:  # any script's digits; not "²"
            reply = await self._press(name)
        else:
            reply = await self._service.execute_text(name, rest, self._caller)
        self._buttons = reply.buttons
        if reply.picture is not None:
            return (
                render_plain(reply)
                + "\n"
                + await saved_picture_line(reply.picture, self._picture_dir)
            )
        return render_plain(reply)

    async def _press(self, number: str) -> Reply:
        choice = int(number) if len(number) <= 3 else 0
        if not 1 <= choice <= len(self._buttons):
            tr = await self._service.translator_for(self._caller)
            offered = f"1–{len(self._buttons)}" if self._buttons else tr._("no numbers")
            return Reply(
                title=tr._("No choice {number}", number=number[:6]),
                lines=(
                    tr._(
                        "The last answer offered {offered}; type a /command instead.",
                        offered=offered,
                    ),
                ),
                ok=False,
                language=tr.language,
            )
        button = self._buttons[choice - 1]
        return await self._service.execute(button.command, dict(button.arguments), self._caller)

    async def serve(self, lines: AsyncIterator[ConsoleLine]) -> None:
        """Answer commands until end of input. The end of stdin ends the console, not the bot."""
        print_line(self._out, "top10bot console — type /help, or /top10 KR")
        async for line in lines:
            answer = await self.handle_line(line)
            if answer is not None:
                print_line(self._out, answer)
        log.info("console: end of input; commands are off, alerts still print")

    async def run(self) -> None:
        # Made once: after a restart the console goes on reading the same input, and no second
        # reader competes for stdin.
        if self._lines is None:
            self._lines = stdin_lines()
        try:
            await self.serve(self._lines)
        except (OSError, EOFError) as exc:
            # The input or the output is gone (a hung-up terminal, a closed pipe): that is the
            # end of the console, which no restart would bring back.
            log.warning("console: off, its input or output is gone (%s)", exc)


async def split_lines(
    chunks: AsyncIterator[bytes], limit: int = MAX_CONSOLE_LINE_BYTES
) -> AsyncIterator[ConsoleLine]:
    """Bytes as they arrive → lines (UTF-8, undecodable bytes replaced), each over-long line as
    one OverlongLine. Memory stays under `limit` bytes whatever the input."""
    pending = bytearray()
    dropped = 0  # bytes of the current line already thrown away (it is over-long)

    def keep(part: bytes) -> None:
        nonlocal dropped
        if dropped or len(pending) + len(part) > limit:
            dropped += len(pending) + len(part)
            pending.clear()
        else:
            pending.extend(part)

    def finish() -> ConsoleLine:
        nonlocal dropped
        line: ConsoleLine = (
            OverlongLine(dropped) if dropped else pending.decode("utf-8", errors="replace")
        )
        pending.clear()
        dropped = 0
        return line

    async for chunk in chunks:
        *complete, rest = chunk.split(b"\n")
        for part in complete:
            keep(part)
            yield finish()
        keep(rest)
    if pending or dropped:  # the last line, without its newline
        yield finish()


async def stdin_lines(source: int | TextIO | None = None) -> AsyncIterator[ConsoleLine]:
    """The lines of stdin (or of a file descriptor), whatever it is: a terminal, a pipe, a file,
    /dev/null, or closed (no lines at all)."""
    fd = _descriptor(source if source is not None else sys.stdin)
    lines = 0
    if fd is not None:
        async for line in split_lines(read_chunks(fd)):
            lines += 1
            yield line
    if not lines and (fd is None or not os.isatty(fd)):
        # Docker, systemd, `< /dev/null`: the bot runs headless; say so once, where it shows.
        log.warning(
            "console: off, stdin is not a terminal and gave no input; alerts still print here"
        )


def _descriptor(source: int | TextIO | None) -> int | None:
    if source is None or isinstance(source, int):  # sys.stdin is None when fd 0 was closed
        return source
    try:
        return source.fileno()
    except (OSError, ValueError):  # closed, or not a real file (a test runner's stand-in)
        return None


async def read_chunks(fd: int) -> AsyncIterator[bytes]:
    """The bytes of a file descriptor as they come, until its end.

    A daemon thread does blocking reads, which work the same on every kind of input (the event
    loop cannot watch regular files or /dev/null, and making a terminal non-blocking would make
    it non-blocking for stdout too). A read error is the end of input. The thread waits for
    each chunk to be taken, so a flood of input is not buffered, and it never keeps the
    process alive.
    """
    loop = asyncio.get_running_loop()
    chunks: asyncio.Queue[bytes] = asyncio.Queue()
    taken = threading.Semaphore(1)  # one chunk in the queue at most

    def read_until_end() -> None:
        while True:
            try:
                chunk = os.read(fd, READ_CHUNK_BYTES)
            except OSError as exc:
                log.info("console: stdin failed (%s)", exc)
                chunk = b""
            taken.acquire()
            try:
                loop.call_soon_threadsafe(chunks.put_nowait, chunk)
            except RuntimeError:
                return  # the event loop is closed: the bot is exiting
            if not chunk:
                return

    threading.Thread(target=read_until_end, name="console-stdin", daemon=True).start()
    while chunk := await chunks.get():
        taken.release()
        yield chunk
