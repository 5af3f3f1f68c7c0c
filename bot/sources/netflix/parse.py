"""The public parsers of the three files, text in, charts out."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path

from bot.models import Chart
from bot.sources.errors import SourceError
from bot.sources.netflix.header import (
    COUNTRIES_FILE,
    GLOBAL_FILE,
    MOST_POPULAR_FILE,
    SOURCE,
    TSV,
    lines_of,
    read_header,
)
from bot.sources.netflix.layouts import CountriesLayout, GlobalLayout, MostPopularLayout
from bot.sources.netflix.rows import parse_rows


def parse_global(lines: Iterable[str], *, what: str = GLOBAL_FILE) -> Iterator[Chart]:
    """Charts of `all-weeks-global.tsv`, in file order (newest week first), one per
    (week, category): ChartKey("netflix", "netflix", "WORLD", category, "weekly").

    `lines` are the file's lines split on "\\n" only (a text file opened with newline="\\n", or
    `body.split("\\n")`). Raises SourceError, when iterated, for a body that is not this file.
    """
    line_iterator = lines_of(lines)
    columns, header_line = read_header(line_iterator, "global", what)
    layout = GlobalLayout(columns, what)
    reader = csv.reader(line_iterator, **TSV)
    yield from parse_rows(reader, layout, first_line_no=header_line + 1, seen=set(), what=what)


def parse_countries(lines: Iterable[str], *, what: str = COUNTRIES_FILE) -> Iterator[Chart]:
    """Charts of `all-weeks-countries.tsv`, in file order, one per (country, week, category):
    ChartKey("netflix", "netflix", country_iso2, "Films" | "TV", "weekly").

    Holds one chart at a time. For period order on the big live file use
    `iter_countries_file_by_period`.
    """
    line_iterator = lines_of(lines)
    columns, header_line = read_header(line_iterator, "countries", what)
    layout = CountriesLayout(columns, what)
    reader = csv.reader(line_iterator, **TSV)
    yield from parse_rows(reader, layout, first_line_no=header_line + 1, seen=set(), what=what)


def parse_most_popular(
    text_or_lines: str | Iterable[str], snapshot: date, *, what: str = MOST_POPULAR_FILE
) -> list[Chart]:
    """The all-time lists of `most-popular.tsv` as dated snapshots, one chart per category:
    ChartKey("netflix", "netflix", "WORLD", "<category> · first 91 days", "alltime").

    The file is undated and Netflix revises its values, so the caller names the `snapshot` day.
    Reads the current form (hours, runtime, views over 91 days) and the pre-June-2023 one
    (hours over 28 days). `expected_size` is the number of rows the file gave the category.
    """
    line_iterator = lines_of(text_or_lines)
    columns, header_line = read_header(line_iterator, "most_popular", what)
    layout = MostPopularLayout(columns, snapshot, what)
    reader = csv.reader(line_iterator, **TSV)
    return list(parse_rows(reader, layout, first_line_no=header_line + 1, seen=set(), what=what))


def sorted_by_period(charts: Iterable[Chart]) -> list[Chart]:
    """Charts oldest period first (then by key), as the replay and the diff engine need them."""
    return sorted(charts, key=lambda chart: (chart.period, chart.key))


def read_global_file(path: Path) -> list[Chart]:
    """Every chart of a local `all-weeks-global.tsv`, oldest week first (10k rows: fits)."""
    what = path.name
    try:
        with path.open(encoding="utf-8", newline="\n") as text:
            return sorted_by_period(parse_global(text, what=what))
    except UnicodeDecodeError as exc:
        raise SourceError(f"not UTF-8 text: {exc.reason}", source=SOURCE, what=what) from None
