"""/live on the console, wired as `top10bot run` wires it (bot.app): the Top 10 is printed once,
and each new week is printed again marked "(live, edited)" — the console cannot edit what it
printed."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path

from bot.app import build_chat_layer, build_sender
from bot.config import Config, StorageConfig
from bot.delivery.config import DeliveryConfig
from handlers.console import CONSOLE_DESTINATION, LIVE_EDIT_MARK, ConsoleAdapter
from storage import open_backend
from tests.live_weeks import LIVE_FOOTER, accept, number_one, store_history, week

FAST = DeliveryConfig(idle_poll_seconds=0.05, lease_seconds=5.0)


async def nothing() -> AsyncIterator[str]:
    return
    yield  # an empty script: the test types through handle_line


async def printed(out: io.StringIO, count: int) -> list[str]:
    """The live messages printed so far, once there are `count` (a bound against hangs)."""
    async with asyncio.timeout(10):
        # The console prints from the sender's task: there is no event to wait on.
        while len(blocks := live_blocks(out.getvalue())) < count:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    return blocks


def live_blocks(text: str) -> list[str]:
    """Each printed live message: from its title line to its footer line (an edit's mark, if
    any, is the line above its title)."""
    lines = text.split("\n")
    ends = [index for index, line in enumerate(lines) if LIVE_FOOTER in line]
    blocks = []
    for end in ends:
        start = max(i for i in range(end) if lines[i].startswith("🌍 Top 10"))
        if start > 0 and lines[start - 1] == LIVE_EDIT_MARK:
            start -= 1
        blocks.append("\n".join(lines[start : end + 1]))
    return blocks


async def test_live_on_the_console_prints_the_top10_then_each_new_week_marked(
    tmp_path: Path,
) -> None:
    config = Config(storage=StorageConfig(url=f"sqlite:///{tmp_path / 'bot.db'}"))
    storage = await open_backend(config.storage.url)
    out = io.StringIO()
    try:
        await store_history(storage, week(0))
        chat = await build_chat_layer(config, storage, environ={}, lines=nothing(), out=out)
        [console] = chat.adapters
        assert isinstance(console, ConsoleAdapter)
        sender = build_sender(chat, FAST, None)
        running = asyncio.create_task(sender.run())
        try:
            answer = await console.handle_line("/live world")
            assert answer is not None
            assert answer.startswith("Live Top 10 in the console: Netflix · Worldwide")
            [first] = await printed(out, 1)
            assert first.startswith("🌍 Top 10 — Netflix · Worldwide · TV (English)\n")
            assert number_one(first) == "Show A"

            await accept(storage, week(1), sink=sender.on_new_events)
            [_, edited] = await printed(out, 2)
            assert edited.startswith(f"{LIVE_EDIT_MARK}\n🌍 Top 10")
            assert number_one(edited) == "Show B"
            assert "2. Show C ▲1 · 2 wk" in edited and "10. Show A ▼9 · 2 wk" in edited

            stopped = await console.handle_line("/live off")
            assert stopped is not None and stopped.startswith("Stopped 1 live Top 10")
            assert await storage.live.live_of(CONSOLE_DESTINATION) == []  # nothing owed
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
    finally:
        await storage.close()
