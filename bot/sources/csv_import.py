"""The canonical CSV: the documented way to bring any chart history into top10bot.

One row per ranked title, with a header naming the columns (any order, matched by name):

    date,service,region,category,rank,title              required
    season,title_id,points,days_in_top10,weeks_in_top10,hours,views,runtime,granularity   optional

- `date` is YYYY-MM-DD: the day of a daily chart, the Sunday ending the week of a weekly one.
- `region` is an ISO 3166-1 alpha-2 code (any case, stored upper-case) or `WORLD`
  ("world" and "worldwide" in any case are accepted too).
- `granularity` is `daily` (the default when the column is absent or the cell empty) or `weekly`.
- `title_id` defaults to the normalised title plus season (`bot.models.make_title_id`), so a file
  without ids still keys streaks on (title, season).
- Numbers are plain integers (`runtime` is a decimal number of hours); an empty cell means unknown.

Rows are grouped into one chart per (service, region, category, granularity, date), all with
source "csv". Every chart is a Top 10: its expected size is 10 whatever the file holds, so a chart
with more (or fewer) ranks is rejected by the gate instead of silently redefining the chart.

Failures are split the way the gate needs them:
- a file that is not a canonical CSV at all (empty, HTML, `null`, wrong header) or a row that
  cannot even be placed in a chart (bad date, service, category or granularity) raises
  `SourceError`: nothing in it can be trusted to be complete;
- a row that belongs to a known chart but is malformed (bad rank, bad number, bad region, wrong
  number of fields) sets that chart's `parse_error` with the line number; the gate rejects that
  chart and every other chart of the file goes on.

Writing charts out in this form is bot.sources.csv_export's.
"""

from __future__ import annotations

import csv
import functools
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Final

from bot.models import WORLD, Chart, ChartKey, Entry, Granularity, make_title_id
from bot.sources.errors import SourceError, body_problem
from bot.sources.regions import resolve_region

SOURCE: Final = "csv"
TOP10_SIZE: Final = 10

REQUIRED_COLUMNS: Final = ("date", "service", "region", "category", "rank", "title")
OPTIONAL_COLUMNS: Final = (
    "season",
    "title_id",
    "points",
    "days_in_top10",
    "weeks_in_top10",
    "hours",
    "views",
    "runtime",
    "granularity",
)
_INTEGER_COLUMNS: Final = ("points", "days_in_top10", "weeks_in_top10", "hours", "views")
CSV_GRANULARITIES: Final[dict[str, Granularity]] = {"daily": "daily", "weekly": "weekly"}
_WORLD_WORDS: Final = frozenset({"world", "worldwide"})


def error_body_reason(text: str) -> str | None:
    """Why a body that should be a chart file is an error page instead, or None if it may be one."""
    return body_problem(text)


def _header_names(first_line: str) -> list[str]:
    return _normalise_header(next(csv.reader([first_line.rstrip("\r\n")]), []))


def _normalise_header(cells: list[str]) -> list[str]:
    return [name.lstrip("\ufeff").strip().lower() for name in cells]


def canonical_header_matches(first_line: str) -> bool:
    """Whether a file's first line is a canonical CSV header (every required column present)."""
    names = set(_header_names(first_line))
    return all(column in names for column in REQUIRED_COLUMNS)


def _parse_region(raw: str) -> tuple[str, str | None]:
    """(stored region, problem or None). An unusable region keeps its upper-cased text."""
    text = raw.strip()
    if text.casefold() in _WORLD_WORDS:
        return WORLD, None
    upper = text.upper()
    if len(upper) == 2 and upper.isascii() and upper.isalpha():
        resolved = resolve_region(upper)
        if resolved == upper:
            return upper, None
        if resolved is not None:
            return upper, f"region {text!r} is not an ISO 3166-1 alpha-2 code ({resolved}?)"
    return upper, f"region {text!r} is not an ISO 3166-1 alpha-2 code or WORLD"


@dataclass(slots=True)
class _ChartDraft:
    key: ChartKey
    period: date
    entries: list[Entry] = field(default_factory=list)
    problem: str | None = None

    def note(self, problem: str) -> None:
        if self.problem is None:  # the first problem is the one worth fixing first
            self.problem = problem

    def build(self) -> Chart:
        return Chart(
            key=self.key,
            period=self.period,
            entries=tuple(sorted(self.entries, key=lambda entry: entry.rank)),
            expected_size=TOP10_SIZE,
            parse_error=self.problem,
        )


def _optional_int(row: dict[str, str], column: str, line: int) -> tuple[int | None, str | None]:
    text = row.get(column, "").strip()
    if not text:
        return None, None
    try:
        return int(text), None
    except ValueError:
        return None, f"line {line}: {column} {text!r} is not a whole number"


def _optional_float(row: dict[str, str], column: str, line: int) -> tuple[float | None, str | None]:
    text = row.get(column, "").strip()
    if not text:
        return None, None
    try:
        return float(text), None
    except ValueError:
        return None, f"line {line}: {column} {text!r} is not a number"


@functools.lru_cache(maxsize=4096)
def _place(
    date_text: str, granularity_text: str, service: str, category: str, region_text: str
) -> tuple[ChartKey, date, str | None] | str:
    """(key, period, region problem or None) of a row's chart cells, or why the row cannot be
    placed in any chart. Cached: a file repeats the same few thousand combinations."""
    date_text = date_text.strip()
    try:
        period = date.fromisoformat(date_text)
    except ValueError:
        return f"date {date_text!r} is not YYYY-MM-DD"
    granularity_text = granularity_text.strip().lower() or "daily"
    granularity = CSV_GRANULARITIES.get(granularity_text)
    if granularity is None:
        return f"granularity {granularity_text!r} is not daily or weekly"
    service, category = service.strip(), category.strip()
    for column, value in (("service", service), ("category", category)):
        if not value:
            return f"empty {column}"
    region, region_problem = _parse_region(region_text)
    return ChartKey(SOURCE, service, region, category, granularity), period, region_problem


def _chart_place(row: dict[str, str], line: int, what: str) -> tuple[ChartKey, date, str | None]:
    """The chart a row belongs to, or SourceError when the row cannot be placed in any chart."""
    placed = _place(
        row["date"], row.get("granularity", ""), row["service"], row["category"], row["region"]
    )
    if isinstance(placed, str):
        raise SourceError(f"line {line}: {placed}", source=SOURCE, what=what)
    key, period, region_problem = placed
    return key, period, f"line {line}: {region_problem}" if region_problem else None


def _entry(row: dict[str, str], line: int) -> tuple[Entry | None, list[str]]:
    problems: list[str] = []
    rank_text = row["rank"].strip()
    try:
        rank = int(rank_text)
    except ValueError:
        return None, [f"line {line}: rank {rank_text!r} is not a whole number"]
    numbers: dict[str, int | None] = {}
    for column in _INTEGER_COLUMNS:
        numbers[column], problem = _optional_int(row, column, line)
        if problem:
            problems.append(problem)
    runtime, problem = _optional_float(row, "runtime", line)
    if problem:
        problems.append(problem)
    title = row["title"].strip()
    season = row.get("season", "").strip() or None
    title_id = row.get("title_id", "").strip() or make_title_id(title, season)
    entry = Entry(
        rank=rank,
        title_id=title_id,
        title=title,
        season=season,
        points=numbers["points"],
        days_in_top10=numbers["days_in_top10"],
        weeks_in_top10=numbers["weeks_in_top10"],
        hours=numbers["hours"],
        views=numbers["views"],
        runtime=runtime,
    )
    return entry, problems


# A row as the parsers read it: (line number of its end, its cells). Blank rows are left out.
Row = tuple[int, list[str]]


def open_rows(lines: Iterable[str], *, what: str) -> tuple[list[str], Iterator[Row]]:
    """The header and the data rows of a canonical CSV, read lazily from `lines`.

    Raises SourceError at once for a body that is an error page or a header that is not a
    canonical CSV's; the rows are only read as they are asked for.
    """
    line_iter = iter(lines)
    head = list(itertools.islice(line_iter, 20))
    reason = error_body_reason("\n".join(head))
    if reason is not None:
        raise SourceError(reason, source=SOURCE, what=what)
    reader = csv.reader(itertools.chain(head, line_iter))
    header = _normalise_header(next(reader, []))
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise SourceError(
            f"not a canonical CSV: missing column(s) {', '.join(missing)}", source=SOURCE, what=what
        )
    known = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS)
    unknown = [name for name in header if name not in known]
    if unknown:
        # A misspelt optional column ("day_in_top10") would otherwise drop its data silently.
        raise SourceError(f"unknown column(s) {', '.join(unknown)}", source=SOURCE, what=what)
    if len(set(header)) != len(header):
        raise SourceError("a column is named twice in the header", source=SOURCE, what=what)

    def rows() -> Iterator[Row]:
        for cells in reader:
            if any(cell.strip() for cell in cells):  # blank lines carry nothing, not even an error
                yield reader.line_num, cells

    return header, rows()


def period_reader(header: list[str], *, what: str) -> Callable[[Row], date]:
    """A function giving the period of a row's chart, or raising SourceError when the row
    belongs to no chart. It reads only the five cells that place a row (a pass over a large
    file that only checks it should not pay for building every row)."""
    date_at, granularity_at, service_at, category_at, region_at = (
        header.index(column) if column in header else len(header)
        for column in ("date", "granularity", "service", "category", "region")
    )

    def period(row: Row) -> date:
        line, cells = row
        # Cells past the header are no column's; a missing cell (or column) reads as "".
        known = cells[: len(header)]
        padded = known + [""] * (len(header) + 1 - len(known))
        placed = _place(
            padded[date_at],
            padded[granularity_at],
            padded[service_at],
            padded[category_at],
            padded[region_at],
        )
        if isinstance(placed, str):
            raise SourceError(f"line {line}: {placed}", source=SOURCE, what=what)
        return placed[1]

    return period


def charts_by_period(header: list[str], rows: Iterable[Row], *, what: str) -> Iterator[Chart]:
    """Charts of rows given in period order, period by period, each period's sorted by key.

    Only the charts of one period are held: they are complete once a later period begins. Rows
    of one chart need not be next to each other within their period.
    """
    drafts: dict[ChartKey, _ChartDraft] = {}
    current: date | None = None
    for line, cells in rows:
        padded = cells + [""] * (len(header) - len(cells))
        row = dict(zip(header, padded, strict=False))
        key, period, problem = _chart_place(row, line, what)
        if period != current:
            if current is not None and period < current:
                raise SourceError(
                    f"line {line}: {period} comes after {current}: rows out of date order"
                    " (did the file change while it was read?)",
                    source=SOURCE,
                    what=what,
                )
            yield from _built(drafts)
            drafts, current = {}, period
        draft = drafts.get(key)
        if draft is None:
            draft = drafts[key] = _ChartDraft(key, period)
        if problem:
            draft.note(problem)
        if len(cells) != len(header):
            # A truncated last line or a stray comma: the cells may be shifted, trust none.
            draft.note(f"line {line}: {len(cells)} fields, expected {len(header)}")
            continue
        entry, problems = _entry(row, line)
        for found in problems:
            draft.note(found)
        if entry is not None:
            draft.entries.append(entry)
    yield from _built(drafts)


def _built(drafts: dict[ChartKey, _ChartDraft]) -> Iterator[Chart]:
    for key in sorted(drafts):
        yield drafts[key].build()


def parse_canonical_csv(lines: Iterable[str], *, what: str) -> list[Chart]:
    """Parse a canonical CSV held in memory into charts sorted by period, then key.

    `lines` may keep or drop their line endings (a file handle or `str.splitlines()`).
    Raises SourceError for an unusable file; a malformed row sets its chart's `parse_error`.
    A file on disk is streamed instead (bot.sources.csv_stream).
    """
    header, rows = open_rows(lines, what=what)
    # Every row is placed (in file order, so the first unusable row is the one reported)
    # before any chart is built; a stable sort keeps file order within a period.
    period = period_reader(header, what=what)
    placed = [(period(row), row) for row in rows]
    if not placed:
        raise SourceError("header without any rows", source=SOURCE, what=what)
    placed.sort(key=lambda pair: pair[0])
    return list(charts_by_period(header, (row for _, row in placed), what=what))
