"""Netflix's official Top 10 files ("Tudum"): pure parsers, text in, `Chart` out.

Three files, all tab-separated, UTF-8, LF, never quoted (format facts: data README):
- `all-weeks-global.tsv`: four worldwide weekly charts (Films/TV × English/Non-English);
- `all-weeks-countries.tsv`: a Films and a TV chart per country and week (~31 MB live);
- `most-popular.tsv`: the all-time lists, undated (the caller supplies the snapshot date).

Columns are looked up by name: the global header changed four times and only the names
survived every change. A body that is not such a file at all (HTML, `null`, empty, unknown
header) raises `SourceError`; one bad row only marks its own chart (`Chart.parse_error`), so a
defect costs one chart and never the whole file.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date
from functools import lru_cache
from itertools import filterfalse, groupby
from operator import itemgetter
from pathlib import Path
from typing import Any, BinaryIO, Final, Literal, Protocol, TypeVar

from bot.models import WORLD, Chart, ChartKey, Entry, make_title_id
from bot.sources import errors
from bot.sources.errors import SourceError

SOURCE: Final = "netflix"
SERVICE: Final = "netflix"

GLOBAL_FILE: Final = "all-weeks-global.tsv"
COUNTRIES_FILE: Final = "all-weeks-countries.tsv"
MOST_POPULAR_FILE: Final = "most-popular.tsv"

WEEKLY_CHART_SIZE: Final = 10
# `season_title` of films (and of a few single-season shows).
NO_SEASON: Final = "N/A"

HeaderKind = Literal["global", "countries", "most_popular"]

GLOBAL_REQUIRED_COLUMNS: Final = (
    "week",
    "category",
    "weekly_rank",
    "show_title",
    "season_title",
    "weekly_hours_viewed",
    "cumulative_weeks_in_top_10",
)
COUNTRIES_REQUIRED_COLUMNS: Final = (
    "country_iso2",
    "week",
    "category",
    "weekly_rank",
    "show_title",
    "season_title",
    "cumulative_weeks_in_top_10",
)
MOST_POPULAR_REQUIRED_COLUMNS: Final = ("category", "rank", "show_title", "season_title")
_MOST_POPULAR_HOURS = re.compile(r"hours_viewed_first_(\d+)_days\Z")

_TSV: Final[dict[str, Any]] = {"delimiter": "\t", "quoting": csv.QUOTE_NONE}
# A chart's parse_error lists this many row problems, then counts the rest.
_MAX_REASONS: Final = 3
# Entries repeat across countries and weeks (same title, rank and week count): the frozen objects
# are reused. Emptied when full: 20k entries keep ~99% of the hits at a few MB.
_ENTRY_CACHE_LIMIT: Final = 20_000
# The fast path's cache keeps two generations of this many entries: when the newer one is full it
# becomes the older one (the oldest is dropped), and an entry found in the older is copied up.
# Emptying a single cache when full lost every entry at once: the replay benchmark built 170k
# entries for its 22k distinct rows, now 38k.
_ENTRY_GENERATION_SIZE: Final = 20_000
_KEY_CACHE_LIMIT: Final = 10_000
_READ_CHUNK: Final = 1 << 20
_CSV_FIELD_LIMIT: Final = csv.field_size_limit()
_HEADER_SHOWN: Final = 200

# The same (show, season) pair occurs in hundreds of rows; normalising it is the costliest step.
_title_id = lru_cache(maxsize=32_768)(make_title_id)


# --------------------------------------------------------------------------- body and header


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


def _check_header(line: str, expected: HeaderKind, what: str) -> list[str]:
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


def _column_index(columns: list[str], required: Iterable[str], what: str) -> dict[str, int]:
    index: dict[str, int] = {}
    for position, name in enumerate(columns):
        index.setdefault(name, position)  # a repeated name: the first one counts
    missing = [name for name in required if name not in index]
    if missing:
        raise SourceError(f"missing columns: {', '.join(missing)}", source=SOURCE, what=what)
    return index


def _read_header(lines: Iterator[str], expected: HeaderKind, what: str) -> tuple[list[str], int]:
    """Consume lines up to the header; return its columns and its line number."""
    for line_no, line in enumerate(lines, start=1):
        if line.lstrip("\ufeff").strip():
            return _check_header(line, expected, what), line_no
    raise SourceError("empty body", source=SOURCE, what=what)


def _line_iterator(lines: Iterable[str]) -> Iterator[str]:
    # A whole body passed as one string would otherwise be iterated character by character.
    if isinstance(lines, str):
        return iter(lines.split("\n"))
    return iter(lines)


# --------------------------------------------------------------------------- cell values


class _RowError(Exception):
    """One row cannot be read: its chart gets the reason, the rest of the file goes on."""


def _required_int(text: str, column: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise _RowError(f"{column} {text!r} is not a number") from None


def _optional_int(text: str, column: str) -> int | None:
    return _required_int(text, column) if text else None


def _optional_float(text: str, column: str) -> float | None:
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise _RowError(f"{column} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise _RowError(f"{column} {text!r} is not a number")
    return value


def _show_title(text: str) -> str:
    if not text or text.isspace():
        raise _RowError("blank title")
    return text


def _season(text: str) -> str | None:
    if not text or text == NO_SEASON or text.isspace():
        return None
    return text


def _parse_week(text: str) -> date | None:
    # date.fromisoformat also takes "20220227" and "2022-W08-7"; the files only use YYYY-MM-DD.
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _is_country_code(text: str) -> bool:
    return len(text) == 2 and text.isascii() and text.isalpha() and text.isupper()


OpenedChart = tuple[ChartKey, date, str | None]


class _WeeklyKeys:
    """Opens weekly charts: a file names few distinct weeks and keys, each thousands of times,
    so each is validated and built once."""

    def __init__(self) -> None:
        self._weeks: dict[str, tuple[date, str | None] | str] = {}
        self._keys: dict[tuple[str, str], ChartKey] = {}

    def open(self, region: str, week_text: str, category: str) -> OpenedChart | str:
        """The key and period a row names, with a chart-level problem; or the row's problem."""
        week = self._weeks.get(week_text)
        if week is None:
            if len(self._weeks) >= _KEY_CACHE_LIMIT:  # only garbage has this many weeks
                self._weeks.clear()
            week = self._weeks[week_text] = _check_week(week_text)
        if isinstance(week, str):
            return week
        key = self._keys.get((region, category))
        if key is None:
            if not category or category.isspace():
                return "blank category"
            if len(self._keys) >= _KEY_CACHE_LIMIT:
                self._keys.clear()
            key = self._keys[(region, category)] = ChartKey(
                SOURCE, SERVICE, region, category, "weekly"
            )
        period, problem = week
        return key, period, problem


def _check_week(week_text: str) -> tuple[date, str | None] | str:
    period = _parse_week(week_text)
    if period is None:
        return f"week {week_text!r} is not a date"
    # Every real week is the Sunday ending it; another day would misalign the weekly history.
    problem = None if period.weekday() == 6 else f"week {week_text} is not a Sunday"
    return period, problem


# --------------------------------------------------------------------------- row layouts


class _RowLayout(Protocol):
    """How one file kind maps a row to a chart key and an entry."""

    n_fields: int
    key_width: int  # a row longer than this has every chart-key field complete
    key_of: Callable[[list[str]], Any]
    expected_size: int | None  # None: as many as the chart's rows

    def open_chart(self, raw_key: Any) -> OpenedChart | str: ...

    def entry(self, row: list[str]) -> Entry: ...


def _key_width(key_indices: tuple[int, ...], n_fields: int) -> int:
    # A field is known to be complete when a tab follows it; the last column never has one.
    return min(max(key_indices) + 1, n_fields - 1)


class _GlobalLayout:
    def __init__(self, columns: list[str], what: str) -> None:
        index = _column_index(columns, GLOBAL_REQUIRED_COLUMNS, what)
        key_indices = (index["week"], index["category"])
        self.n_fields = len(columns)
        self.key_width = _key_width(key_indices, self.n_fields)
        self.key_of: Callable[[list[str]], Any] = itemgetter(*key_indices)
        self.expected_size: int | None = WEEKLY_CHART_SIZE
        self._rank = index["weekly_rank"]
        self._show = index["show_title"]
        self._season = index["season_title"]
        self._hours = index["weekly_hours_viewed"]
        self._weeks = index["cumulative_weeks_in_top_10"]
        # Absent from the 2021-11 → 2023-05 header, blank before the week ending 2023-06-18.
        self._runtime = index.get("runtime")
        self._views = index.get("weekly_views")
        self._keys = _WeeklyKeys()

    def open_chart(self, raw_key: tuple[str, str]) -> OpenedChart | str:
        week_text, category = raw_key
        return self._keys.open(WORLD, week_text, category)

    def entry(self, row: list[str]) -> Entry:
        show = _show_title(row[self._show])
        season = _season(row[self._season])
        return Entry(
            rank=_required_int(row[self._rank], "rank"),
            title_id=_title_id(show, season),
            title=show,
            season=season,
            weeks_in_top10=_optional_int(row[self._weeks], "cumulative_weeks_in_top_10"),
            hours=_optional_int(row[self._hours], "weekly_hours_viewed"),
            views=None if self._views is None else _optional_int(row[self._views], "weekly_views"),
            runtime=None
            if self._runtime is None
            else _optional_float(row[self._runtime], "runtime"),
        )


class _CountriesLayout:
    def __init__(self, columns: list[str], what: str) -> None:
        index = _column_index(columns, COUNTRIES_REQUIRED_COLUMNS, what)
        self.key_indices = (index["country_iso2"], index["week"], index["category"])
        self.block_indices = (index["country_iso2"], index["week"])
        self.n_fields = len(columns)
        self.key_width = _key_width(self.key_indices, self.n_fields)
        self.key_of: Callable[[list[str]], Any] = itemgetter(*self.key_indices)
        self.expected_size: int | None = WEEKLY_CHART_SIZE
        entry_indices = (
            index["weekly_rank"],
            index["show_title"],
            index["season_title"],
            index["cumulative_weeks_in_top_10"],
        )
        self._entry_fields = itemgetter(*entry_indices)
        self._entries: dict[tuple[str, str, str, str], Entry] = {}
        # When every entry column follows the key columns (as in the real header), the fast
        # path of `iter_countries_file_by_period` reads a row as its leading fields (the chart)
        # and its "tail" (the entry), which is also the entry's cache key.
        last_key_index = max(self.key_indices)
        self._tail_index = last_key_index + 1 if min(entry_indices) > last_key_index else None
        self._tail_entries: dict[str, Entry] = {}  # the newer generation
        self._older_tail_entries: dict[str, Entry] = {}
        # A run of lines with the same leading fields, up to and including the last key column.
        self.chart_run_pattern: re.Pattern[str] | None = None
        self._tail_entry_fields: Callable[[list[str]], Any] = itemgetter(*entry_indices)
        if self._tail_index is not None:
            leading = r"[^\t\n]*\t" * self._tail_index
            self.chart_run_pattern = re.compile(rf"^({leading}).*(?:\n\1.*)*", re.MULTILINE)
            self._tail_entry_fields = itemgetter(*(i - self._tail_index for i in entry_indices))
        self._keys = _WeeklyKeys()
        # Pass 1: a run of lines with the same leading fields, up to the last block-key column
        # (which may end the line).
        block_leading = rb"[^\t\n]*\t" * max(self.block_indices) + rb"[^\t\n]*"
        self.block_run_pattern = re.compile(
            rb"^(%b)(?![^\t\n]).*(?:\n\1(?![^\t\n]).*)*" % block_leading, re.MULTILINE
        )

    def open_chart(self, raw_key: tuple[str, str, str]) -> OpenedChart | str:
        country, week_text, category = raw_key
        if not _is_country_code(country):
            return f"country_iso2 {country!r} is not a country code"
        return self._keys.open(country, week_text, category)

    def entry(self, row: list[str]) -> Entry:
        fields: tuple[str, str, str, str] = self._entry_fields(row)
        cached = self._entries.get(fields)
        if cached is None:
            cached = _remember(self._entries, fields, self._build_entry(fields))
        return cached

    def entries_of_tails(self, tails: list[str]) -> tuple[Entry, ...] | None:
        """The entries of rows given by their tails (the fields after the key columns), or
        None if one is not clean: it lacks fields or holds an unreadable value (the general
        parser then reports which). Only for a layout with a `chart_run_pattern`."""
        cache = self._tail_entries
        missing = list(filterfalse(cache.__contains__, tails))  # in C, like the lookups below
        if not missing:
            return tuple(map(cache.__getitem__, tails))
        if len(cache) + len(missing) > _ENTRY_GENERATION_SIZE:
            self._older_tail_entries = cache
            cache = self._tail_entries = {}
            missing = tails
        older = self._older_tail_entries
        tail_index = self._tail_index if self._tail_index is not None else self.n_fields
        n_tail_fields = self.n_fields - tail_index
        for tail in missing:
            entry = older.get(tail)
            if entry is None:
                tail_fields = tail.split("\t")
                if len(tail_fields) != n_tail_fields:
                    return None
                try:
                    entry = self._build_entry(self._tail_entry_fields(tail_fields))
                except _RowError:
                    return None
            cache[tail] = entry
        return tuple(map(cache.__getitem__, tails))

    def _build_entry(self, fields: tuple[str, str, str, str]) -> Entry:
        # Runs once per distinct row (a third of the rows): the checks are inlined for speed
        # and say the same as _show_title, _season and _required_int.
        rank_text, show, season_text, weeks_text = fields
        if not show or show.isspace():
            raise _RowError("blank title")
        season = (
            None
            if not season_text or season_text == NO_SEASON or season_text.isspace()
            else season_text
        )
        try:
            rank = int(rank_text)
        except ValueError:
            raise _RowError(f"rank {rank_text!r} is not a number") from None
        try:
            weeks = int(weeks_text) if weeks_text else None
        except ValueError:
            raise _RowError(f"cumulative_weeks_in_top_10 {weeks_text!r} is not a number") from None
        # Positional: keywords cost a third more.
        return Entry(rank, _title_id(show, season), show, season, None, None, weeks)


_Key = TypeVar("_Key")
_Value = TypeVar("_Value")


def _remember(cache: dict[_Key, _Value], key: _Key, value: _Value) -> _Value:
    """Store in a cache that is emptied when full: the working set is one week's rows."""
    if len(cache) >= _ENTRY_CACHE_LIMIT:
        cache.clear()
    cache[key] = value
    return value


class _MostPopularLayout:
    def __init__(self, columns: list[str], snapshot: date, what: str) -> None:
        matches = [_MOST_POPULAR_HOURS.match(name) for name in columns]
        days = next((match.group(1) for match in matches if match), "<N>")
        hours_column = f"hours_viewed_first_{days}_days"
        index = _column_index(columns, (*MOST_POPULAR_REQUIRED_COLUMNS, hours_column), what)
        key_indices = (index["category"],)
        self.n_fields = len(columns)
        self.key_width = _key_width(key_indices, self.n_fields)
        self.key_of: Callable[[list[str]], Any] = itemgetter(*key_indices)
        # All-time lists are a Top 10 per category in every published version; the list is as
        # long as Netflix made it, so the chart expects what the file holds.
        self.expected_size: int | None = None
        self._snapshot = snapshot
        self._days = days
        self._rank = index["rank"]
        self._show = index["show_title"]
        self._season = index["season_title"]
        self._hours = index[hours_column]
        self._hours_column = hours_column
        self._views_column = f"views_first_{days}_days"
        self._views = index.get(self._views_column)
        self._runtime = index.get("runtime")

    def open_chart(self, raw_key: str) -> OpenedChart | str:
        if not raw_key or raw_key.isspace():
            return "blank category"
        category = f"{raw_key} · first {self._days} days"
        return ChartKey(SOURCE, SERVICE, WORLD, category, "alltime"), self._snapshot, None

    def entry(self, row: list[str]) -> Entry:
        show = _show_title(row[self._show])
        season = _season(row[self._season])
        views = None if self._views is None else row[self._views]
        return Entry(
            rank=_required_int(row[self._rank], "rank"),
            title_id=_title_id(show, season),
            title=show,
            season=season,
            hours=_optional_int(row[self._hours], self._hours_column),
            views=None if views is None else _optional_int(views, self._views_column),
            runtime=None
            if self._runtime is None
            else _optional_float(row[self._runtime], "runtime"),
        )


# --------------------------------------------------------------------------- grouping engine


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


def _parse_rows(
    rows: Iterable[list[str]],
    layout: _RowLayout,
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
    # No row's key equals None: the fast path below cannot run before the first chart opens.
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
                        except _RowError as exc:
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
                except _RowError as exc:
                    problems.add_row(f"line {line_no}: {exc}")
            break
        # Not `exc`: a compiled build types a name by its first binding (a _RowError above).
        except csv.Error as damage:  # e.g. a carriage return inside a row
            line_no += 1
            problems.add_row(f"line {line_no}: {damage}")
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


# --------------------------------------------------------------------------- public parsers


def parse_global(lines: Iterable[str], *, what: str = GLOBAL_FILE) -> Iterator[Chart]:
    """Charts of `all-weeks-global.tsv`, in file order (newest week first), one per
    (week, category): ChartKey("netflix", "netflix", "WORLD", category, "weekly").

    `lines` are the file's lines split on "\\n" only (a text file opened with newline="\\n", or
    `body.split("\\n")`). Raises SourceError, when iterated, for a body that is not this file.
    """
    line_iterator = _line_iterator(lines)
    columns, header_line = _read_header(line_iterator, "global", what)
    layout = _GlobalLayout(columns, what)
    reader = csv.reader(line_iterator, **_TSV)
    yield from _parse_rows(reader, layout, first_line_no=header_line + 1, seen=set(), what=what)


def parse_countries(lines: Iterable[str], *, what: str = COUNTRIES_FILE) -> Iterator[Chart]:
    """Charts of `all-weeks-countries.tsv`, in file order, one per (country, week, category):
    ChartKey("netflix", "netflix", country_iso2, "Films" | "TV", "weekly").

    Holds one chart at a time. For period order on the big live file use
    `iter_countries_file_by_period`.
    """
    line_iterator = _line_iterator(lines)
    columns, header_line = _read_header(line_iterator, "countries", what)
    layout = _CountriesLayout(columns, what)
    reader = csv.reader(line_iterator, **_TSV)
    yield from _parse_rows(reader, layout, first_line_no=header_line + 1, seen=set(), what=what)


def parse_most_popular(
    text_or_lines: str | Iterable[str], snapshot: date, *, what: str = MOST_POPULAR_FILE
) -> list[Chart]:
    """The all-time lists of `most-popular.tsv` as dated snapshots, one chart per category:
    ChartKey("netflix", "netflix", "WORLD", "<category> · first 91 days", "alltime").

    The file is undated and Netflix revises its values, so the caller names the `snapshot` day.
    Reads the current form (hours, runtime, views over 91 days) and the pre-June-2023 one
    (hours over 28 days). `expected_size` is the number of rows the file gave the category.
    """
    line_iterator = _line_iterator(text_or_lines)
    columns, header_line = _read_header(line_iterator, "most_popular", what)
    layout = _MostPopularLayout(columns, snapshot, what)
    reader = csv.reader(line_iterator, **_TSV)
    return list(_parse_rows(reader, layout, first_line_no=header_line + 1, seen=set(), what=what))


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


# --------------------------------------------------------------------------- streamed countries

# (week, country_iso2, start offset, end offset, first line number) of one contiguous run of rows
# of one country and week: both categories, as the file writes them together.
_Block = tuple[bytes, bytes, int, int, int]


def iter_countries_file_by_period(path: Path) -> Iterator[Chart]:
    """Charts of a local `all-weeks-countries.tsv`, week ascending, then country code.

    The file is sorted by country, then week descending, and the live one is ~31 MB: pass 1
    records the byte range of each (country, week) block, pass 2 reads the blocks week by week.
    Memory holds the block list, one week's blocks and a bounded entry cache, never the file
    (~17 MB peak on a 31 MB, 490k-row file). Charts equal those of `parse_countries` on the same
    file (parse_error texts included), in another order.
    """
    what = path.name
    with path.open("rb") as binary:
        columns, data_start, first_line_no = _read_binary_header(binary, what)
        layout = _CountriesLayout(columns, what)
        blocks = _scan_country_blocks(binary, layout, data_start, first_line_no)
    if not blocks:
        # No row names a chart: let the line parser report why, with the same message.
        try:
            with path.open(encoding="utf-8", newline="\n") as text:
                yield from parse_countries(text, what=what)
        except UnicodeDecodeError as exc:
            raise SourceError(f"not UTF-8 text: {exc.reason}", source=SOURCE, what=what) from None
        return
    blocks.sort()
    seen: set[Any] = set()  # a chart seen twice shares its week: one week's keys are enough
    with path.open("rb", buffering=0) as raw:
        for _week, week_group in groupby(blocks, itemgetter(0)):
            week_blocks = list(week_group)
            seen.clear()
            datas = [_read_range(raw, start, end) for _, _, start, end, _ in week_blocks]
            # Most weeks are clean: parsed as one piece, a week costs a fraction of its blocks.
            week_charts = _charts_of_clean_week(week_blocks, datas, layout, seen)
            if week_charts is not None:
                yield from week_charts
                continue
            for (_, _, _, _, line_no), data in zip(week_blocks, datas, strict=True):
                yield from _block_charts(data, layout, line_no, seen, what)


def _charts_of_clean_week(
    week_blocks: list[_Block], datas: list[bytes], layout: _CountriesLayout, seen: set[Any]
) -> list[Chart] | None:
    """The charts of one week's blocks read as one piece, or None unless every chart is clean
    (then each block goes through `_block_charts`, which numbers lines for its reports).

    Works on runs of lines sharing their leading columns up to the last key column (one chart
    each): a run is split into its rows' remaining fields ("tails") in one call, so no Python
    code and no string per field runs per row. Needs the real column order (entry columns last).
    """
    run_pattern = layout.chart_run_pattern
    countries = {block[1] for block in week_blocks}
    if run_pattern is None or len(countries) != len(week_blocks):
        return None  # a country's week split apart: its blocks report it
    # Only the file's last line lacks its newline; joined, it must not run into the next block.
    data = b"".join(data if data.endswith(b"\n") else data + b"\n" for data in datas)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\r" in text:  # csv.reader treats carriage returns specially: the blocks' parser decides
        return None
    charts: list[Chart] = []
    opened: set[Any] = set()
    position = 0
    for run in run_pattern.finditer(text):
        start, end = run.span()
        if start != position or end - start >= _CSV_FIELD_LIMIT:
            return None  # a line outside any run, or a field csv might find too long
        position = end + 1
        prefix = run.group(1)
        raw_key = layout.key_of(prefix.split("\t"))  # the leading fields, then ""
        chart_opened = layout.open_chart(raw_key)
        if isinstance(chart_opened, str):
            return None
        # A chart-level report (not a Sunday; rows split apart, also when only a leading field
        # such as country_name differs inside a chart) is numbered by the blocks' parser.
        if chart_opened[2] is not None or raw_key in seen or raw_key in opened:
            return None
        # "P t1\nP t2\n…P tn" split at "\nP" gives t1 … tn.
        tails = text[start + len(prefix) : end].split("\n" + prefix)
        entries = layout.entries_of_tails(tails)
        if entries is None:
            return None
        opened.add(raw_key)
        charts.append(Chart(chart_opened[0], chart_opened[1], entries, WEEKLY_CHART_SIZE, None))
    if position != len(text):
        return None
    seen.update(opened)
    return charts


def _block_charts(
    data: bytes, layout: _CountriesLayout, first_line_no: int, seen: set[Any], what: str
) -> Iterator[Chart]:
    """Pass 2 for one block of a week that is not clean: the general row parser."""
    try:
        lines = data.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        rows, bad_lines = _rows_decoded_leniently(data, first_line_no)
        return _parse_rows(
            rows, layout, first_line_no=first_line_no, seen=seen, what=what, bad_lines=bad_lines
        )
    if lines[-1] == "":
        lines.pop()
    rows = csv.reader(lines, **_TSV)
    return _parse_rows(rows, layout, first_line_no=first_line_no, seen=seen, what=what)


def _read_binary_header(binary: BinaryIO, what: str) -> tuple[list[str], int, int]:
    """Columns, byte offset of the first data line, and its line number."""
    line_no = 0
    while True:
        line = binary.readline()
        if not line:
            raise SourceError("empty body", source=SOURCE, what=what)
        line_no += 1
        if line.strip() and line.strip() != b"\xef\xbb\xbf":
            break
    try:
        header = line.decode("utf-8-sig")
    except UnicodeDecodeError:
        header = line.decode("utf-8", errors="replace")
    return _check_header(header, "countries", what), binary.tell(), line_no + 1


def _scan_country_blocks(
    binary: BinaryIO, layout: _CountriesLayout, data_start: int, first_line_no: int
) -> list[_Block]:
    """Pass 1: the byte range of every contiguous (country, week) block, in file order.

    A block starts at each row that names a valid chart and whose (country, week) differs from
    the block being read; any other row (truncated, bad key, blank, not UTF-8) stays in the
    current block, just as `_parse_rows` gives it to the open chart. A regular expression
    matches a whole run of lines sharing their leading columns at once, so Python code runs
    once per block, not once per line.
    """
    run_pattern = layout.block_run_pattern
    block_of = itemgetter(*layout.block_indices)
    blocks: list[_Block] = []
    current: Any = None
    block_start = data_start
    block_line = first_line_no
    region_start = data_start  # file offset of `region`
    region_line = first_line_no  # line number of the first line of `region`
    carry = b""
    binary.seek(data_start)
    while True:
        chunk = binary.read(_READ_CHUNK)
        if chunk:
            buffer = carry + chunk
            cut = buffer.rfind(b"\n") + 1  # scan whole lines only; the rest waits for more
            region, carry = buffer[:cut], buffer[cut:]
        else:
            region, carry = carry, b""
        counted_to = 0  # newlines of `region` before this position are in `counted_line`
        counted_line = region_line
        for run in run_pattern.finditer(region):
            run_key = block_of(run.group(1).split(b"\t"))
            if run_key == current:
                continue  # same block: whatever these lines hold, they stay in it
            run_start, run_end = run.span()
            boundary = _first_line_naming_a_chart(layout, region, run_start, run_end)
            if boundary is None:
                continue  # no line of the run can open a block: they stay in the current one
            counted_line += region.count(b"\n", counted_to, boundary)
            counted_to = boundary
            if current is not None:
                blocks.append(
                    (current[1], current[0], block_start, region_start + boundary, block_line)
                )
                block_start = region_start + boundary
                block_line = counted_line
            current = run_key
        region_line = counted_line + region.count(b"\n", counted_to)
        region_start += len(region)
        if not chunk:
            break
    if current is not None:
        blocks.append((current[1], current[0], block_start, region_start, block_line))
    return blocks


def _first_line_naming_a_chart(
    layout: _CountriesLayout, region: bytes, start: int, end: int
) -> int | None:
    """Offset in `region` of the first line in region[start:end] that names a valid chart,
    read as csv.reader would read it; None if none does."""
    max_split = max(layout.key_indices) + 1
    while start <= end:
        line_end = region.find(b"\n", start, end)
        if line_end < 0:
            line_end = end
        line = region[start:line_end].rstrip(b"\r")  # csv drops a row's trailing CRs
        if b"\r" not in line:  # csv rejects any other carriage return
            try:
                fields = line.decode("utf-8").split("\t", max_split)
            except UnicodeDecodeError:  # pass 2 reports the line and gives it to the open chart
                fields = []
            if len(fields) > layout.key_width and not isinstance(
                layout.open_chart(layout.key_of(fields)), str
            ):
                return start
        start = line_end + 1
    return None


def _read_range(raw: BinaryIO, start: int, end: int) -> bytes:
    raw.seek(start)
    parts: list[bytes] = []
    remaining = end - start
    while remaining > 0:
        data = raw.read(remaining)
        if not data:  # the last line has no newline: the range ends one byte past the file
            break
        parts.append(data)
        remaining -= len(data)
    return b"".join(parts)


def _rows_decoded_leniently(
    data: bytes, first_line_no: int
) -> tuple[Iterator[list[str]], dict[int, str]]:
    """Rows of a block holding bytes that are not UTF-8, and the line numbers holding them."""
    raw_lines = data.split(b"\n")
    if raw_lines[-1] == b"":
        raw_lines.pop()
    lines: list[str] = []
    bad: dict[int, str] = {}
    for number, raw_line in enumerate(raw_lines, start=first_line_no):
        try:
            lines.append(raw_line.decode("utf-8"))
        except UnicodeDecodeError:
            lines.append(raw_line.decode("utf-8", errors="replace"))
            bad[number] = "not valid UTF-8"
    return csv.reader(lines, **_TSV), bad
