"""`top10bot poll --once`: one pass over the sources, a summary line each (from cron or a shell).

stdout: a summary line per source that fetched anything. stderr: one short line per source that
failed. With -v, every event and every rejected chart too.
"""

from __future__ import annotations

import sys
from typing import TextIO

from bot.catchup import CatchupSummary
from bot.config import Config
from bot.events import Event
from bot.i18n import ENGLISH
from bot.poll import Clock, Poller, PollOutput, utc_now
from bot.poll_config import load_poll_config, resolve_source_names
from bot.poll_report import SourceReport
from bot.ports import Storage
from bot.render import event_line
from bot.sources.http import HttpClient


def print_output(out: TextIO, err: TextIO, *, verbose: bool = True) -> PollOutput:
    """Events and catch-up summaries on stdout (only when `verbose`: a first poll finds
    thousands), operator alerts on stderr (the console as admin chat)."""

    async def events(new_events: list[Event]) -> None:
        for event in new_events:
            out.write(event_line(event, ENGLISH) + "\n")
        out.flush()

    async def catchup(summary: CatchupSummary) -> None:
        out.write(summary.text(ENGLISH) + "\n")
        out.flush()

    async def operator(text: str) -> None:
        err.write(text + "\n")
        err.flush()

    if not verbose:
        return PollOutput(operator=operator)
    return PollOutput(events=events, catchup=catchup, operator=operator)


def print_report(report: SourceReport, out: TextIO, err: TextIO, *, verbose: bool) -> None:
    """A source's summary on `out` (unless it fetched nothing at all), what failed on `err`."""
    if verbose:
        for label, reason in report.rejections:
            err.write(f"rejected: {label}: {reason}\n")
    if not report.nothing_fetched:
        out.write(report.summary_line() + "\n")
    problem = report.problem_line()
    if problem is not None:
        err.write(problem + "\n")
    out.flush()
    err.flush()


async def poll_once_command(
    config: Config,
    storage: Storage,
    http: HttpClient,
    *,
    source: str | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    clock: Clock = utc_now,
    verbose: bool = False,
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
        output=print_output(stdout, stderr, verbose=verbose),
        clock=clock,
    )
    reports = await poller.poll_all(names)
    for report in reports:
        print_report(report, stdout, stderr, verbose=verbose)
    return 1 if any(report.failed for report in reports) else 0
