"""The grouping engine: contiguous rows become charts, each row's problem marks its own chart."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from typing import Any

from bot.models import Chart, ChartKey, Entry
from bot.sources.errors import SourceError
from bot.sources.netflix.cells import RowError
from bot.sources.netflix.header import SOURCE
from bot.sources.netflix.layouts import RowLayout

# A chart's parse_error lists this many row problems, then counts the rest.
_MAX_REASONS = 3


class _Problems:
    """Row problems of one chart: the first few in full, the rest counted."""

    __slots__ = ("hidden", "reasons", "rows")

    def __init__(self) -> None:
        self.reasons: list[str] = []
        self.hidden = 0
        self.rows = 0  # rows given to the chart that did not become entries

    def add(self, reason: str) -> None:
        if len(self.reasons) < _MAX_REASONS:
            self.reasons.append(reason)
        else:
            self.hidden += 1

    def add_row(self, reason: str) -> None:
        self.add(reason)
        self.rows += 1

    def text(self) -> str | None:
        if not self.reasons:
            return None
        joined = "; ".join(self.reasons)
        return f"{joined}; and {self.hidden} more" if self.hidden else joined


class _Group:
    __slots__ = ("entries", "key", "period", "problems")

    def __init__(self, key: ChartKey, period: date, problems: _Problems) -> None:
        self.key = key
        self.period = period
        self.entries: list[Entry] = []
        self.problems = problems

    def chart(self, expected_size: int | None) -> Chart:
        rows = len(self.entries) + self.problems.rows
        return Chart(
            key=self.key,
            period=self.period,
            entries=tuple(self.entries),
            expected_size=rows if expected_size is None else expected_size,
            parse_error=self.problems.text(),
        )


def parse_rows(
    rows: Iterable[list[str]],
    layout: RowLayout,
    *,
    first_line_no: int,
    seen: set[Any],
    what: str,
    bad_lines: Mapping[int, str] | None = None,
) -> Iterator[Chart]:
    """Group contiguous rows into charts and yield each as soon as its last row is read.

    A row whose chart-key fields are incomplete or invalid (a truncated line, a bad week) cannot
    name its chart: it marks the chart being read, or the next one if none is open yet.
    `seen` holds the raw keys of the charts already read (a raw key names one chart), so rows
    of one chart split apart are reported.
    `bad_lines` maps line numbers to a problem found before splitting (invalid UTF-8).
    """
    row_iterator = iter(rows)
    n_fields = layout.n_fields
    key_width = layout.key_width
    key_of = layout.key_of
    build_entry = layout.entry
    expected_size = layout.expected_size
    line_no = first_line_no - 1
    # No row's key equals None: the common case below cannot run before the first chart opens.
    current_raw_key: Any = None
    group: _Group | None = None
    no_chart_yet: list[Entry] = []
    append_entry = no_chart_yet.append
    problems = _Problems()  # the open chart's; before the first chart, the next one's
    bad = bad_lines or {}

    while True:
        try:
            for row in row_iterator:
                line_no += 1
                n = len(row)
                # The common case first: a complete row of the chart being read.
                if n == n_fields and not (bad and line_no in bad):
                    raw_key = key_of(row)
                    if raw_key == current_raw_key:
                        try:
                            append_entry(build_entry(row))
                        except RowError as exc:
                            problems.add_row(f"line {line_no}: {exc}")
                        continue
                if bad and line_no in bad:
                    problems.add_row(f"line {line_no}: {bad[line_no]}")
                    continue
                if n <= key_width:
                    if n:
                        problems.add_row(f"line {line_no}: expected {n_fields} fields, found {n}")
                    continue  # a blank line carries nothing
                raw_key = key_of(row)
                if raw_key != current_raw_key or group is None:
                    opened = layout.open_chart(raw_key)
                    if isinstance(opened, str):
                        problems.add_row(f"line {line_no}: {opened}")
                        continue
                    if group is not None:
                        yield group.chart(expected_size)
                        problems = _Problems()
                    key, period, chart_problem = opened
                    group = _Group(key, period, problems)
                    append_entry = group.entries.append
                    current_raw_key = raw_key
                    if chart_problem is not None:
                        problems.add(f"line {line_no}: {chart_problem}")
                    if raw_key in seen:
                        problems.add(_not_contiguous(line_no))
                    else:
                        seen.add(raw_key)
                if n != n_fields:
                    problems.add_row(f"line {line_no}: expected {n_fields} fields, found {n}")
                    continue
                try:
                    append_entry(build_entry(row))
                except RowError as exc:
                    problems.add_row(f"line {line_no}: {exc}")
            break
        except csv.Error as exc:  # e.g. a carriage return inside a row
            line_no += 1
            problems.add_row(f"line {line_no}: {exc}")
    if group is not None:
        yield group.chart(expected_size)
    elif problems.reasons:
        raise SourceError(f"no readable rows: {problems.reasons[0]}", source=SOURCE, what=what)
    else:
        raise SourceError("no data rows after the header", source=SOURCE, what=what)


def _not_contiguous(line_no: int) -> str:
    return (
        f"line {line_no}: rows of this chart are not contiguous"
        " (it already appeared earlier in the file)"
    )
