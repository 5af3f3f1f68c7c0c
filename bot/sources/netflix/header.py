"""Which Netflix file a body is: its header line, the columns each kind requires, the names."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any, Literal

from bot.sources import errors
from bot.sources.errors import SourceError

SOURCE = "netflix"
SERVICE = "netflix"

GLOBAL_FILE = "all-weeks-global.tsv"
COUNTRIES_FILE = "all-weeks-countries.tsv"
MOST_POPULAR_FILE = "most-popular.tsv"

HeaderKind = Literal["global", "countries", "most_popular"]

GLOBAL_REQUIRED_COLUMNS = (
    "week",
    "category",
    "weekly_rank",
    "show_title",
    "season_title",
    "weekly_hours_viewed",
    "cumulative_weeks_in_top_10",
)
COUNTRIES_REQUIRED_COLUMNS = (
    "country_iso2",
    "week",
    "category",
    "weekly_rank",
    "show_title",
    "season_title",
    "cumulative_weeks_in_top_10",
)
MOST_POPULAR_REQUIRED_COLUMNS = ("category", "rank", "show_title", "season_title")

# csv.reader's options for every file: tab-separated and never quoted.
TSV: dict[str, Any] = {"delimiter": "\t", "quoting": csv.QUOTE_NONE}
# How much of an unexpected header a SourceError shows.
_HEADER_SHOWN = 200


def body_problem(text: str) -> str | None:
    """Why a fetched body cannot be a Netflix TSV file at all, or None if it may be one."""
    return errors.body_problem(text, expected="TSV")


def sniff_netflix_header(first_line: str) -> HeaderKind | None:
    """Which Netflix file a header line belongs to, by its column names; None if none.

    Tells the kinds apart by their distinctive columns only; whether every required column is
    there is checked by the parser, which then names the missing ones.
    """
    columns = set(_split_header(first_line))
    if "country_iso2" in columns or "country_name" in columns:
        return "countries"
    if "week" in columns or "weekly_rank" in columns:
        return "global"
    if {"rank", "show_title"} <= columns or any(
        name.startswith(("hours_viewed_first_", "views_first_")) for name in columns
    ):
        return "most_popular"
    return None


def _split_header(line: str) -> list[str]:
    return line.lstrip("\ufeff").rstrip("\r\n").split("\t")


def check_header(line: str, expected: HeaderKind, what: str) -> list[str]:
    """The column names of a file's first non-blank line, or SourceError if it is not one."""
    problem = body_problem(line)
    if problem is not None:
        raise SourceError(problem, source=SOURCE, what=what)
    kind = sniff_netflix_header(line)
    if kind != expected:
        shown = line.rstrip("\r\n")[:_HEADER_SHOWN]
        looks_like = f" (looks like a {kind.replace('_', '-')} file)" if kind else ""
        raise SourceError(f"unexpected header: {shown!r}{looks_like}", source=SOURCE, what=what)
    return _split_header(line)


def cut_short_problem(last_line: str | bytes, line_no: int, n_fields: int) -> str | None:
    """Why a file whose last non-blank line is `last_line` ends in the middle of a row, or None.

    Netflix's files end without a line break, so a body cut on a row boundary looks whole here
    (the callers compare the last chart or block with the others); one cut inside a row leaves
    a last line with too few fields.
    """
    text = last_line.decode("utf-8", "replace") if isinstance(last_line, bytes) else last_line
    found = text.count("\t") + 1
    if not last_line.strip() or found >= n_fields:
        return None
    return f"file cut short: it ends mid-row (line {line_no} has {found} of {n_fields} fields)"


def column_index(columns: list[str], required: Iterable[str], what: str) -> dict[str, int]:
    index: dict[str, int] = {}
    for position, name in enumerate(columns):
        index.setdefault(name, position)  # a repeated name: the first one counts
    missing = [name for name in required if name not in index]
    if missing:
        raise SourceError(f"missing columns: {', '.join(missing)}", source=SOURCE, what=what)
    return index


def read_header(lines: Iterator[str], expected: HeaderKind, what: str) -> tuple[list[str], int]:
    """Consume lines up to the header; return its columns and its line number."""
    for line_no, line in enumerate(lines, start=1):
        if line.lstrip("\ufeff").strip():
            return check_header(line, expected, what), line_no
    raise SourceError("empty body", source=SOURCE, what=what)


def lines_of(lines: Iterable[str]) -> Iterator[str]:
    # A whole body passed as one string would otherwise be iterated character by character.
    if isinstance(lines, str):
        return iter(lines.split("\n"))
    return iter(lines)
