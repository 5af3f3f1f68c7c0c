"""`top10bot poll --once`: one pass over the sources, a summary line each (from cron or a shell)."""

from __future__ import annotations

import sys
from typing import TextIO

from bot.catchup import CatchupSummary
from bot.config import Config
from bot.events import Event
from bot.poll import Clock, Poller, PollOutput, utc_now
from bot.poll_config import load_poll_config, resolve_source_names
from bot.ports import Storage
from bot.render import event_line
from bot.sources.http import HttpClient


def print_output(out: TextIO, err: TextIO) -> PollOutput:
    """Events and summaries on stdout, operator alerts on stderr (the console as admin chat)."""

    async def events(new_events: list[Event]) -> None:
        for event in new_events:
            out.write(event_line(event) + "\n")
        out.flush()

    async def catchup(summary: CatchupSummary) -> None:
        out.write(summary.text() + "\n")
        out.flush()

    async def operator(text: str) -> None:
        err.write(text + "\n")
        err.flush()

    return PollOutput(events=events, catchup=catchup, operator=operator)


async def poll_once_command(
    config: Config,
    storage: Storage,
    http: HttpClient,
    *,
    source: str | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    clock: Clock = utc_now,
) -> int:
    """One pass, one summary line per source; 1 if anything failed."""
    stdout, stderr = out or sys.stdout, err or sys.stderr
    poll_config = load_poll_config(config)
    names = resolve_source_names(poll_config, source)
    if not names:
        stderr.write(
            "no source is enabled: set enabled = true in [sources.netflix] or "
            "[sources.flixpatrol], or name one with --source\n"
        )
        return 2
    poller = Poller(
        storage,
        poll_config,
        config.diff,
        http=http,
        output=print_output(stdout, stderr),
        clock=clock,
    )
    reports = await poller.poll_all(names)
    for report in reports:
        for label, reason in report.rejections:
            stderr.write(f"rejected: {label}: {reason}\n")
    for report in reports:
        stdout.write(report.summary_line() + "\n")
    stdout.flush()
    return 1 if any(report.failed for report in reports) else 0
