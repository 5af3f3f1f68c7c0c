"""The one-shot commands of the composition root: `poll --once`, `poll` on a schedule without
the chat front ends, and `deliveries send` (for cron). Like bot.app, allowed to import the
concrete adapters; they are imported by the functions that use them.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from bot.app import build_pictures
from bot.app_wiring import RunSettings, backend_sender
from bot.config import Config, ConfigError
from bot.ports import Backend, Storage
from storage import open_send_budget, poller_lock

if TYPE_CHECKING:
    from bot.poll_report import SourceReport
    from bot.poll_window import PollTiming

log = logging.getLogger(__name__)


async def poll_once(
    config: Config, storage: Storage, *, url: str, source: str | None, verbose: bool = False
) -> int:
    """`top10bot poll --once`: one pass over the sources on a fresh HTTP session, unless another
    process is polling the store at `url` (then nothing is done: exit 1)."""
    from bot.poll_command import poll_once_command
    from bot.poll_leader import try_poll_once
    from handlers.http import open_http_client

    lock = poller_lock(url)
    if not await try_poll_once(lock):
        print(
            f"poll: another process is polling this database ({lock.description}); nothing done",
            file=sys.stderr,
        )
        return 1
    try:
        async with open_http_client() as http:
            return await poll_once_command(config, storage, http, source=source, verbose=verbose)
    finally:
        await lock.release()


async def poll_on_schedule(
    config: Config, storage: Storage, *, url: str, source: str | None, verbose: bool = False
) -> int:
    """`top10bot poll`: catch up, then poll on the schedule until interrupted (standing by while
    another process polls the store at `url`); a summary line per poll (and every event with
    -v)."""
    from bot.poll_command import print_output, print_report
    from handlers import scheduler

    async def summary(report: SourceReport) -> None:
        print_report(report, sys.stdout, sys.stderr, verbose=verbose)

    output = print_output(sys.stdout, sys.stderr, verbose=verbose)
    return await scheduler.poll_on_schedule(
        config, storage, poller_lock(url), source=source, output=output, on_report=summary
    )


def next_poll_time(timing: PollTiming, now: datetime) -> datetime | None:
    """When a source is polled next, read as the running bot's scheduler reads its timing."""
    from handlers.scheduler import next_fire_time

    return next_fire_time(timing, now)


async def send_deliveries(config: Config, storage: Backend, *, environ: Mapping[str, str]) -> int:
    """`top10bot deliveries send`: every delivery due now goes out through the platforms that
    have a token; then a one-line summary. Exit 0 when nothing ended dead, 1 when something did,
    2 when no platform is configured (or the config is wrong)."""
    from bot.delivery.report import format_send_summary
    from handlers.notifiers import open_notifiers

    try:
        settings = RunSettings.load(config)
        async with open_notifiers(config.sections, environ) as notifiers:
            if not notifiers:
                print(
                    "error: no chat platform configured: set TELEGRAM_TOKEN or DISCORD_TOKEN"
                    " (or a token in [telegram] / [discord]) to send deliveries",
                    file=sys.stderr,
                )
                return 2
            outbox = storage.outbox
            pictures = build_pictures(storage, settings.pictures)
            budget = open_send_budget(storage, settings.delivery.shared_budget)
            sender = backend_sender(storage, notifiers, settings.sender(pictures, budget=budget))
            await sender.run(until_idle=True)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a token refused, a platform unreachable: the next run tries again
        log.debug("deliveries send failed", exc_info=True)
        print(f"error: deliveries not sent: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    print(format_send_summary(sender.stats, await outbox.backlog()))
    return 1 if sender.stats.dead else 0
