"""The console reads any input to its end: lines of any length, any bytes, a pipe, a file,
/dev/null or no stdin at all; the end of input ends the console, never a restart."""

from __future__ import annotations

import io
import itertools
import logging
import os
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.commands import CommandService
from handlers.console import (
    MAX_CONSOLE_LINE_BYTES,
    ConsoleAdapter,
    ConsoleLine,
    OverlongLine,
    split_lines,
    stdin_lines,
)
from handlers.runner import supervise
from storage.memory import MemoryBackend
from storage.memory.subscriptions import MemorySubscriptionStore


async def chunked(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def collect(lines: AsyncIterator[ConsoleLine]) -> list[ConsoleLine]:
    return [line async for line in lines]


def expected_lines(data: bytes, limit: int) -> list[ConsoleLine]:
    """What splitting `data` must give, written the plain way."""
    parts = data.split(b"\n")
    if parts[-1] == b"":
        parts.pop()
    return [
        OverlongLine(len(part)) if len(part) > limit else part.decode("utf-8", errors="replace")
        for part in parts
    ]


@settings(max_examples=300, deadline=None, database=None)
@given(
    data=st.lists(
        st.one_of(st.binary(max_size=40), st.sampled_from([b"\n", "é€😀".encode(), b"\xff"]))
    ).map(b"".join),
    cuts=st.lists(st.integers(min_value=0, max_value=400)),
    limit=st.integers(min_value=1, max_value=30),
)
async def test_lines_are_the_same_however_the_bytes_arrive(
    data: bytes, cuts: list[int], limit: int
) -> None:
    positions = sorted({0, len(data), *(cut for cut in cuts if cut < len(data))})
    chunks = [data[start:end] for start, end in itertools.pairwise(positions)]
    assert await collect(split_lines(chunked(chunks), limit)) == expected_lines(data, limit)


async def test_a_huge_line_is_dropped_and_the_next_lines_are_kept() -> None:
    huge = b"/top10 " + b"x" * (10 * MAX_CONSOLE_LINE_BYTES)
    chunks = [huge[i : i + 1000] for i in range(0, len(huge), 1000)] + [b"\n/help\n/status"]
    lines = await collect(split_lines(chunked(chunks)))
    assert lines == [OverlongLine(len(huge)), "/help", "/status"]


def service() -> CommandService:
    return CommandService(MemoryBackend(), MemorySubscriptionStore())


def write_and_close(fd: int, data: bytes) -> threading.Thread:
    """Write into a pipe from another thread (a pipe holds only ~64 KiB), then close it."""

    def write() -> None:
        with os.fdopen(fd, "wb") as pipe:
            pipe.write(data)

    writer = threading.Thread(target=write)
    writer.start()
    return writer


async def test_a_line_over_64_kib_on_a_pipe_is_answered_and_typing_goes_on() -> None:
    read_end, write_end = os.pipe()
    writer = write_and_close(write_end, b"/top10 " + b"K" * 200_000 + b"\n/help\n")
    out = io.StringIO()
    try:
        await supervise(
            ConsoleAdapter(service(), stdin_lines(read_end), out=out), sleep=refuse_restart
        )
    finally:
        writer.join()
        os.close(read_end)
    printed = out.getvalue()
    assert "⚠ Line too long\nIts 200007 bytes were ignored" in printed
    assert "top10bot commands" in printed  # /help, typed after it, is answered


async def test_a_long_line_under_the_console_limit_gets_the_command_limit_reply() -> None:
    console = ConsoleAdapter(service(), out=io.StringIO())
    answer = await console.handle_line("/title " + "a" * 5000)
    assert answer == "⚠ Too long\nKeep a command under 400 characters."


async def refuse_restart(delay: float) -> None:
    raise AssertionError(f"the console was restarted (after {delay} s)")


async def test_a_file_and_dev_null_are_read_to_their_end(tmp_path: Path) -> None:
    script = tmp_path / "commands.txt"
    script.write_bytes(b"/help\r\n\xff\xfe\n\x00\n")
    with script.open() as stream:
        lines = await collect(stdin_lines(stream))
    assert lines == ["/help\r", "\ufffd\ufffd", "\x00"]
    null = os.open(os.devnull, os.O_RDONLY)
    try:
        assert await collect(stdin_lines(null)) == []
    finally:
        os.close(null)


async def test_no_stdin_ends_the_console_once_with_one_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(sys, "stdin", None)  # what Python sets when fd 0 is closed (`<&-`)
    out = io.StringIO()
    with caplog.at_level(logging.INFO, logger="handlers"):
        await supervise(ConsoleAdapter(service(), out=out), sleep=refuse_restart)
    assert out.getvalue() == "top10bot console — type /help, or /top10 KR\n"
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [
        "console: off, stdin is not a terminal and gave no input; alerts still print here"
    ]


class BrokenPipeOutput(io.StringIO):
    """stdout piped into a reader that has gone away (`top10bot run | head -1`)."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def closed_output() -> io.StringIO:
    output = io.StringIO()
    output.close()
    return output


@pytest.mark.parametrize("gone_output", [BrokenPipeOutput, closed_output])
async def test_a_stdout_that_is_gone_ends_the_console_instead_of_restarting_it(
    gone_output: Callable[[], io.StringIO],
) -> None:
    async def lines() -> AsyncIterator[str]:
        yield "/help\n"

    console = ConsoleAdapter(service(), lines(), out=gone_output())
    await supervise(console, sleep=refuse_restart)


@pytest.mark.parametrize("gone", [EOFError(), ConnectionResetError(104, "reset")])
async def test_an_input_that_fails_ends_the_console_after_what_it_gave(gone: Exception) -> None:
    async def lines() -> AsyncIterator[str]:
        yield "/help\n"
        raise gone

    out = io.StringIO()
    await supervise(ConsoleAdapter(service(), lines(), out=out), sleep=refuse_restart)
    assert "top10bot commands" in out.getvalue()


async def test_what_the_terminal_cannot_show_is_escaped() -> None:
    ascii_out = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    console = ConsoleAdapter(service(), out=ascii_out)
    await console.notifier.send("console", "🇰🇷 Top 10 — ✓")
    ascii_out.seek(0)
    assert ascii_out.read() == "\\U0001f1f0\\U0001f1f7 Top 10 \\u2014 \\u2713\n"


async def test_a_command_name_ends_at_any_whitespace() -> None:
    console = ConsoleAdapter(service(), out=io.StringIO())
    spaced = await console.handle_line("/help")
    assert await console.handle_line("/help\t") == spaced
    assert await console.handle_line("\t/HELP\r\n") == spaced
    unknown = await console.handle_line("/nonsense\tKR")
    assert unknown is not None and unknown.startswith("⚠ Unknown command /nonsense\n")


async def test_a_terminal_is_read_and_its_hangup_ends_the_input() -> None:
    controller, terminal = os.openpty()
    try:
        try:
            os.write(controller, b"/help\n")
            lines = stdin_lines(terminal)
            assert await anext(lines) == "/help"
        finally:
            os.close(controller)  # the terminal hangs up: reading it fails (EIO), input ends
        assert await collect(lines) == []
    finally:
        os.close(terminal)
