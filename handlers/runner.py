"""Building the chat adapters the configuration enables, and keeping each one running alone.

A failing adapter never takes the others down: each runs in its own supervised task that logs the
failure and restarts it with a growing delay — except for a rejected token, which no restart can
fix (and Discord resets a token after 1000 identifies a day), so that adapter stays off.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, TextIO

from bot.commands import CommandService
from bot.delivery.lifecycle import DestinationLifecycle
from bot.metrics import NO_METRICS, Metrics
from bot.ports import Notifier
from handlers.console import ConsoleAdapter

log = logging.getLogger(__name__)

# Seconds between restarts of a failing adapter: quick once, then patient.
RESTART_DELAYS: tuple[float, ...] = (5.0, 30.0, 120.0, 600.0)
# A run that lasted this long was healthy: the next failure starts the delays again.
HEALTHY_RUN_SECONDS = 600.0


class ChatAdapter(Protocol):
    """What the composition root needs from a platform adapter: something that runs, and the
    platform's notifier (the one way out: alerts, operator alerts)."""

    platform: str
    # Failures no restart can fix (a rejected token): the adapter stays off.
    fatal_errors: tuple[type[BaseException], ...]

    async def run(self) -> None:
        """Serve until cancelled; return when done (the console at end of input)."""
        ...

    @property
    def notifier(self) -> Notifier: ...


async def supervise(
    adapter: ChatAdapter,
    *,
    delays: Sequence[float] = RESTART_DELAYS,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Run an adapter until it ends or is cancelled, restarting it after failures."""
    fatal_errors = adapter.fatal_errors
    failures = 0
    while True:
        started = clock()
        try:
            await adapter.run()
        except asyncio.CancelledError:
            raise
        except fatal_errors as exc:
            log.error("%s: disabled, the platform refused the token (%s)", adapter.platform, exc)
            return
        except Exception:
            if clock() - started >= HEALTHY_RUN_SECONDS:
                failures = 0
            delay = delays[min(failures, len(delays) - 1)]
            failures += 1
            log.exception("%s: adapter failed; restarting in %.0f s", adapter.platform, delay)
            await sleep(delay)
            continue
        log.info("%s: adapter finished", adapter.platform)
        return


def build_adapters(
    service: CommandService,
    sections: Mapping[str, Any],
    lifecycle: DestinationLifecycle,
    *,
    environ: Mapping[str, str],
    console_enabled: bool | None,
    lines: AsyncIterator[str] | None = None,
    out: TextIO | None = None,
    picture_dir: Path | None = None,
    metrics: Metrics = NO_METRICS,
) -> list[ChatAdapter]:
    """The adapters to run: Discord and Telegram when they have a token, the console when asked
    for (or when no platform has a token). A missing token is one log line, not an error."""
    from handlers.discord.adapter import DiscordAdapter, discord_settings
    from handlers.telegram.adapter import TelegramAdapter, telegram_settings

    adapters: list[ChatAdapter] = []
    discord_config = discord_settings(config_table(sections, "discord"), environ)
    if discord_config is None:
        log.info("discord: disabled (no DISCORD_TOKEN and no [discord] token)")
    else:
        adapters.append(DiscordAdapter(service, discord_config, lifecycle, metrics))
    telegram_config = telegram_settings(config_table(sections, "telegram"), environ)
    if telegram_config is None:
        log.info("telegram: disabled (no TELEGRAM_TOKEN and no [telegram] token)")
    else:
        adapters.append(TelegramAdapter(service, telegram_config, lifecycle, metrics))
    if console_enabled if console_enabled is not None else not adapters:
        adapters.append(ConsoleAdapter(service, lines, out=out, picture_dir=picture_dir))
    return adapters


def config_table(sections: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    table = sections.get(name, {})
    return table if isinstance(table, Mapping) else {}


async def run_adapters(adapters: Sequence[ChatAdapter]) -> None:
    """Every adapter in its own supervised task, until all have ended."""
    tasks = [asyncio.create_task(supervise(a), name=f"adapter-{a.platform}") for a in adapters]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
