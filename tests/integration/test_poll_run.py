"""`top10bot run` with polling, end to end: a local server holding the real Netflix files, the
console as the subscribed chat, a catch-up summary at start and the week's news once."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

import time_machine

from bot.app import run_bot
from bot.config import load_config
from bot.sources import netflix
from tests.fakes.source_server import FAST_FETCH, FIXTURES, SourceServer, config_toml

GLOBAL = (FIXTURES / "poll" / "all-weeks-global.tsv").read_text(encoding="utf-8")
GLOBAL_PATH = "/tudum/top10/data/" + netflix.GLOBAL_FILE


async def typed(lines: Iterable[str]) -> AsyncIterator[str]:
    for line in lines:
        yield line + "\n"


async def until(condition_met: Callable[[], bool], task: asyncio.Task[int]) -> None:
    """Let the bot run until the condition holds (pytest-timeout ends a test that never does)."""
    while not condition_met():
        assert not task.done(), "the bot stopped on its own"
        await asyncio.sleep(0.02)


async def test_run_polls_at_start_and_alerts_the_subscribed_console_once(tmp_path: Path) -> None:
    async with SourceServer() as server:
        server.put_netflix(netflix.GLOBAL_FILE, GLOBAL)
        config_path = tmp_path / "config.toml"
        config_path.write_text(
            config_toml(
                {
                    "storage": {"url": f"sqlite:///{tmp_path / 'bot.db'}"},
                    "sources.netflix": {
                        "base_url": server.netflix_base,
                        "files": ["global"],
                        **FAST_FETCH,
                    },
                    "admin": {"chat": "console"},
                }
            ),
            encoding="utf-8",
        )
        config = load_config(config_path)
        setup = io.StringIO()
        # A scripted session does not poll: it only stores the console's subscription.
        assert await run_bot(config, lines=typed(["/subscribe world"]), out=setup, environ={}) == 0
        assert server.hits == []

        with time_machine.travel(datetime(2026, 7, 22, 14, 0, tzinfo=UTC), tick=True):
            out = io.StringIO()
            bot = asyncio.create_task(
                run_bot(config, lines=typed([]), out=out, environ={}, poll=True)
            )
            try:
                # The digest is several messages: wait for the last one (the catch-up summary
                # closes it), not only for the first.
                await until(lambda: "while the bot was away" in out.getvalue(), bot)
            finally:
                bot.cancel()
                await asyncio.gather(bot, return_exceptions=True)
        printed = out.getvalue()
        # The history (weeks up to 2026-07-12) is one catch-up summary; the new week is news.
        assert printed.count("Catch-up: ") == 1
        assert "while the bot was away" in printed
        assert "Desire" in printed and "Little House on the Prairie" in printed
        assert server.count(GLOBAL_PATH) == 1

        # Started again: the file is unchanged (304), nothing is sent twice.
        with time_machine.travel(datetime(2026, 7, 22, 20, 0, tzinfo=UTC), tick=True):
            again = io.StringIO()
            bot = asyncio.create_task(
                run_bot(config, lines=typed([]), out=again, environ={}, poll=True)
            )
            try:
                # Stopping waits for a poll in flight: this one finishes before the bot ends.
                await until(lambda: server.count(GLOBAL_PATH) == 2, bot)
            finally:
                bot.cancel()
                await asyncio.gather(bot, return_exceptions=True)
        assert [hit.status for hit in server.hits] == [200, 304]
        assert "Shipwrecked" not in again.getvalue()
        assert "Catch-up" not in again.getvalue()
