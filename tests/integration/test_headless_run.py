"""`top10bot run` as Docker and systemd start it: no chat token and stdin not a terminal
(/dev/null, closed, or a pipe that closes mid-run). The bot runs headless: it polls (a local
source), keeps running until terminated, and never prints a traceback."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from bot.sources import netflix
from tests.fakes.source_server import (
    FAST_FETCH,
    FIXTURES,
    ConfigValue,
    SourceServer,
    config_toml,
)

GLOBAL = (FIXTURES / "poll" / "all-weeks-global.tsv").read_text(encoding="utf-8")
HEADLESS_WARNING = "console: off, stdin is not a terminal and gave no input; alerts still print"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def server() -> AsyncIterator[SourceServer]:
    async with SourceServer() as source:
        source.put_netflix(netflix.GLOBAL_FILE, GLOBAL)
        yield source


def bot_command(tmp_path: Path, netflix_table: dict[str, ConfigValue]) -> list[str]:
    """The CLI with a config whose only source, if any, is the local Netflix mirror of
    `netflix_table` (nothing leaves the host)."""
    tables = {
        "storage": {"url": f"sqlite:///{tmp_path / 'bot.db'}"},
        "sources.netflix": netflix_table,
        "sources.flixpatrol": {"enabled": False},
    }
    config_path = tmp_path / "config.toml"
    config_path.write_text(config_toml(tables), encoding="utf-8")
    return [sys.executable, "-m", "bot", "-v", "--config", str(config_path), "run"]


def local_netflix(server: SourceServer) -> dict[str, ConfigValue]:
    return {"base_url": server.netflix_base, "files": ["global"], **FAST_FETCH}


def without_tokens() -> dict[str, str]:
    hidden = {"DISCORD_TOKEN", "TELEGRAM_TOKEN", "TOP10BOT_CONFIG"}
    return {key: value for key, value in os.environ.items() if key not in hidden}


Start = Callable[[list[str], int], Awaitable[asyncio.subprocess.Process]]


@pytest.fixture
async def start() -> AsyncIterator[Start]:
    """Starts the bot; kills whatever still runs after the test (a failed one included)."""
    started: list[asyncio.subprocess.Process] = []

    async def launch(command: list[str], stdin: int) -> asyncio.subprocess.Process:
        bot = await asyncio.create_subprocess_exec(
            *command,
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=without_tokens(),
            cwd=ROOT,
        )
        started.append(bot)
        return bot

    yield launch
    for bot in started:
        if bot.returncode is None:
            bot.kill()
            await bot.communicate()


async def read_until(stream: asyncio.StreamReader | None, wanted: str) -> str:
    """What the bot printed up to the first line containing `wanted` (pytest-timeout ends a
    test whose bot never prints it; the end of output fails it)."""
    assert stream is not None
    seen: list[str] = []
    while not seen or wanted not in seen[-1]:
        line = await stream.readline()
        assert line, "the bot ended; it printed:\n" + "".join(seen)
        seen.append(line.decode("utf-8", errors="replace"))
    return "".join(seen)


async def until_polled(server: SourceServer, bot: asyncio.subprocess.Process) -> None:
    while not server.hits:
        assert bot.returncode is None, "the bot stopped on its own"
        await asyncio.sleep(0.02)


async def still_running_then_terminate(
    bot: asyncio.subprocess.Process, server: SourceServer, printed: str
) -> str:
    """Check the bot polls and is still running; stop it; everything it printed."""
    await until_polled(server, bot)
    assert bot.returncode is None
    bot.terminate()
    stdout, stderr = await bot.communicate()
    assert bot.returncode == -signal.SIGTERM  # ended by the signal, not on its own
    return printed + stdout.decode("utf-8", errors="replace") + stderr.decode("utf-8", "replace")


async def test_stdin_dev_null_runs_headless(
    tmp_path: Path, server: SourceServer, start: Start
) -> None:
    bot = await start(bot_command(tmp_path, local_netflix(server)), subprocess.DEVNULL)
    printed = await read_until(bot.stderr, HEADLESS_WARNING)
    printed = await still_running_then_terminate(bot, server, printed)
    assert "Traceback" not in printed and " ERROR " not in printed
    assert printed.count(HEADLESS_WARNING) == 1


async def test_stdin_closed_runs_headless(
    tmp_path: Path, server: SourceServer, start: Start
) -> None:
    # `<&-`: fd 0 is not even open in the bot (Python's sys.stdin is None).
    shell = ["/bin/sh", "-c", 'exec "$0" "$@" <&-', *bot_command(tmp_path, local_netflix(server))]
    bot = await start(shell, subprocess.DEVNULL)
    printed = await read_until(bot.stderr, HEADLESS_WARNING)
    printed = await still_running_then_terminate(bot, server, printed)
    assert "Traceback" not in printed and " ERROR " not in printed
    assert "restarting" not in printed


async def test_stdin_closed_mid_run_ends_only_the_console(
    tmp_path: Path, server: SourceServer, start: Start
) -> None:
    bot = await start(bot_command(tmp_path, local_netflix(server)), subprocess.PIPE)
    assert bot.stdin is not None
    bot.stdin.write(b"/unsubscribe 99999999999999999999999\n/top10 " + b"x" * 100_000 + b"\n")
    await bot.stdin.drain()
    printed = await read_until(bot.stdout, "Line too long")
    assert "⚠ No subscription #99999999999999999999999 here" in printed
    bot.stdin.close()
    printed += await read_until(bot.stderr, "console: end of input; commands are off")
    printed = await still_running_then_terminate(bot, server, printed)
    assert "Traceback" not in printed and " ERROR " not in printed
    assert HEADLESS_WARNING not in printed  # it had input: the end of it is no warning


async def test_with_nothing_to_poll_it_still_runs_until_terminated(
    tmp_path: Path, start: Start
) -> None:
    # The sender still delivers what `top10bot poll --once` from cron queues; a bot that exited
    # here would be restarted by Docker or systemd, over and over.
    command = bot_command(tmp_path, {"enabled": False})
    bot = await start(command, subprocess.DEVNULL)
    printed = await read_until(bot.stderr, "every chat adapter has ended; the bot runs on")
    bot.terminate()
    stdout, stderr = await bot.communicate()
    assert bot.returncode == -signal.SIGTERM  # ended by the signal, not on its own
    printed += stdout.decode("utf-8", errors="replace") + stderr.decode("utf-8", "replace")
    assert "Traceback" not in printed and " ERROR " not in printed
