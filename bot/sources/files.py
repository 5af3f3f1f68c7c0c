"""Chart files on disk: detect what a file is, read it in period order, merge several files.

Used by `top10bot replay` and `top10bot import`; the live fetchers reuse the same parsers.
"""

from __future__ import annotations

import heapq
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from operator import attrgetter
from pathlib import Path

from bot.models import Chart
from bot.sources import csv_import, csv_stream, daily_series, netflix
from bot.sources.errors import SourceError, body_problem


class FileKind(StrEnum):
    NETFLIX_GLOBAL = "netflix-global"
    NETFLIX_COUNTRIES = "netflix-countries"
    NETFLIX_MOST_POPULAR = "netflix-most-popular"
    CANONICAL_CSV = "canonical-csv"
    THE_NUMBERS_DAILY = "the-numbers-daily"
    FLIXPATROL_SCRAPE = "flixpatrol-scrape"


log = logging.getLogger(__name__)

UNDATED_KINDS = {FileKind.NETFLIX_MOST_POPULAR}
_DATE_IN_PATH = re.compile(r"(\d{4}-\d{2}-\d{2})")


@dataclass(frozen=True, slots=True)
class ChartFile:
    path: Path
    kind: FileKind
    dated: date | None = None  # the date of an undated file (all-time list snapshot)


def split_file_arg(arg: str) -> tuple[Path, date | None]:
    """'most-popular.tsv@2022-02-08' → (path, date); a plain path → (path, None)."""
    if "@" in arg:
        name, _, when = arg.rpartition("@")
        try:
            return Path(name), date.fromisoformat(when)
        except ValueError as exc:
            raise SourceError(f"bad date {when!r} after '@' (use YYYY-MM-DD)", what=arg) from exc
    return Path(arg), None


def _first_line(path: Path) -> str:
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        head = handle.read(4096)
    problem = body_problem(head)
    if problem is not None:
        raise SourceError(problem, what=str(path))
    return head.lstrip().split("\n", 1)[0].rstrip("\r")


def detect_kind(path: Path) -> FileKind:
    """Tell a chart file's kind from its header line, never from its name."""
    first = _first_line(path)
    netflix_kind = netflix.sniff_netflix_header(first)
    if netflix_kind == "global":
        return FileKind.NETFLIX_GLOBAL
    if netflix_kind == "countries":
        return FileKind.NETFLIX_COUNTRIES
    if netflix_kind == "most_popular":
        return FileKind.NETFLIX_MOST_POPULAR
    if csv_import.canonical_header_matches(first):
        return FileKind.CANONICAL_CSV
    if daily_series.is_the_numbers_header(first):
        return FileKind.THE_NUMBERS_DAILY
    if daily_series.is_flixpatrol_scrape_header(first):
        return FileKind.FLIXPATROL_SCRAPE
    raise SourceError(f"unknown file format (header: {first[:80]!r})", what=str(path))


def resolve_files(args: Iterable[str]) -> list[ChartFile]:
    """Expand FILE[@DATE] arguments; a directory contributes every chart file below it."""
    files: list[ChartFile] = []
    for arg in args:
        path, dated = split_file_arg(arg)
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                if child.suffix.lower() not in (".tsv", ".csv"):
                    continue
                try:
                    kind = detect_kind(child)
                    files.append(_dated(child, kind, dated))
                except SourceError as exc:
                    # A directory may hold other files; only files named explicitly must parse.
                    log.warning("skipped %s: %s", child, exc.reason)
            continue
        if not path.exists():
            raise SourceError("no such file", what=str(path))
        files.append(_dated(path, detect_kind(path), dated))
    return files


def _dated(path: Path, kind: FileKind, dated: date | None) -> ChartFile:
    if kind in UNDATED_KINDS and dated is None:
        # A file or snapshot folder named after its date ("snapshot-2022-02-09/") dates it.
        match = _DATE_IN_PATH.search(path.name) or _DATE_IN_PATH.search(path.parent.name)
        if match is None:
            raise SourceError(
                "an all-time list file is undated: give its date as FILE@YYYY-MM-DD",
                what=str(path),
            )
        dated = date.fromisoformat(match.group(1))
    return ChartFile(path, kind, dated)


def read_charts(chart_file: ChartFile) -> Iterator[Chart]:
    """One file's charts in period order (the per-country file and a canonical CSV are streamed,
    never loaded whole)."""
    path, kind = chart_file.path, chart_file.kind
    what = str(path)
    if kind is FileKind.NETFLIX_COUNTRIES:
        yield from netflix.iter_countries_file_by_period(path)
        return
    if kind is FileKind.CANONICAL_CSV:
        yield from csv_stream.iter_canonical_csv_file(path)
        return
    # Universal newlines turn CRLF into LF; split on LF only, since str.splitlines() would also
    # break a title at characters such as U+2028 or U+0085.
    with path.open("r", encoding="utf-8-sig") as handle:
        lines = handle.read().split("\n")
    charts: list[Chart]
    if kind is FileKind.NETFLIX_GLOBAL:
        charts = list(netflix.parse_global(lines, what=what))
    elif kind is FileKind.NETFLIX_MOST_POPULAR:
        assert chart_file.dated is not None  # resolve_files dates every undated file
        charts = netflix.parse_most_popular(lines, chart_file.dated, what=what)
    elif kind is FileKind.THE_NUMBERS_DAILY:
        charts = daily_series.parse_the_numbers(lines, what=what)
    else:
        charts = daily_series.parse_flixpatrol_nl_scrape(lines, what=what)
    yield from sorted(charts, key=lambda c: (c.period, c.key))


def merge_by_period(streams: Iterable[Iterator[Chart]]) -> Iterator[Chart]:
    """Merge period-ascending streams; equal periods keep the order the files were given."""
    return heapq.merge(*streams, key=attrgetter("period"))
