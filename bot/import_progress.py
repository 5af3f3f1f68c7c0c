"""What `top10bot import` shows while it works (a progress line on a terminal) and when it ends
(one summary line)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from bot.models import Chart
from bot.pipeline import PipelineStats


@contextmanager
def chart_progress(stream: TextIO) -> Iterator[ChartProgress]:
    """A live progress line on `stream` while the block runs, when it is a terminal; nothing at
    all otherwise (a log file or a pipe gets only the summary)."""
    console = Console(file=stream)
    progress = Progress(
        SpinnerColumn(),
        TextColumn("importing"),
        # The files are read as one period-ordered stream, so the total is unknown: the bar
        # pulses, and the period reached says how far through the history the import is.
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("charts, period {task.fields[period]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    with progress:
        yield ChartProgress(progress)


class ChartProgress:
    """Counts the charts of the import's stream on the progress line."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task = progress.add_task("import", total=None, period="…")

    def track(self, charts: Iterable[Chart]) -> Iterator[Chart]:
        """The same charts, counted as they go by."""
        if self._progress.disable:
            yield from charts
            return
        for chart in charts:
            self._progress.update(self._task, advance=1, period=chart.period.isoformat())
            yield chart


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def import_summary(files: int, stats: PipelineStats, seconds: float) -> str:
    """'imported 2 files (12,340 rows): 1,234 charts accepted, 0 rejected, 3,456 events in 4.2 s'
    (rows: every row read, stored or not)."""
    already = f", {stats.skipped:,} already stored" if stats.skipped else ""
    return (
        f"imported {_plural(files, 'file')} ({_plural(stats.rows, 'row')}):"
        f" {_plural(stats.accepted, 'chart')} accepted{already}, {stats.rejected:,} rejected,"
        f" {_plural(stats.events, 'event')} in {seconds:.1f} s"
    )
