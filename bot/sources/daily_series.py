"""Readers for two real daily Top 10 series kept as CSV files (history imports and replays).

the-numbers.com, Netflix US daily Top 10 (2020-04-01 … 2022-03-11)
    Header `As of,Rank,Year to Date Rank,Last Week Rank,Title,Type,Netflix Exclusive,
    Netflix Release Date,Days In Top 10,Viewership Score`, CRLF, `As of` written M/D/YYYY.
    One list mixing films and TV → ChartKey("the-numbers", "netflix", "US", "Overall", "daily").
    `Days In Top 10` → `days_in_top10`. "Viewership Score" is a running sum of (11 − rank), not
    FlixPatrol-style points, so it is not mapped to `points`. Titles carry no season and long ones
    are truncated with "…": the title id is the normalised title. On five days of July 2021 two
    rows carry the same truncated title ("The Twilight Saga: Breaking…", parts 1 and 2); both rows
    are kept and the gate rejects those days for the duplicate title.

FlixPatrol Netflix Netherlands, scraped every morning (2025-10-17 … 2026-07-24)
    Header `commit,commit_time_utc,list,rank,name,id,description`: one row per title per commit
    of a scraper's repository. Decisions, from the data:
    - Several commits can fall on one UTC day (four on 2025-10-17, the scraper being fixed): the
      LAST commit of each UTC day is that day's scrape; earlier ones are superseded.
    - The chart day is the commit's UTC day MINUS ONE. The scrape runs between 06:30 and 10:00
      UTC (08:30–12:00 in Amsterdam), and since May 2025 FlixPatrol publishes only the previous
      day's list. The data agrees: films with a known Netflix release day first appear in the
      commit two days later (Frankenstein, released Friday 2025-11-07, first in the commit of
      2025-11-09; A House of Dynamite 10-24 → 10-26; Wake Up Dead Man 12-12 → 12-14; The Rip
      2026-01-16 → 01-18), i.e. on the list of the day after release, when Netflix's in-app
      Top 10 first counts a release.
    - Lists map to FlixPatrol's categories: `movies` → "Movies", `series` → "TV Shows";
      ChartKey("flixpatrol", "netflix", "NL", category, "daily").
    - In every commit of this file the `series` list repeats the `movies` list title for title
      (all films: Frankenstein, Troll 2 …; no series ever appears, not even Stranger Things 5 in
      December 2025). Such a TV Shows chart gets a `parse_error` saying so, and the gate rejects it:
      publishing films as a TV Top 10 would be a false alert.
    - The title id is the normalised name, NOT the `id` column. Those ids come from the
      scraper's own TMDB lookup, not from FlixPatrol, and are unstable (dates are commit days):
      "Our Girls", #1 for a week, flips between tmdb:movie:1079529 and 1457705 and back
      (2025-12-29 … 2026-01-12); "Accused" has another id for one day only, the day it was #1
      (2026-03-02); "Enola Holmes" got the id of "Enola Holmes 3" while both were listed
      (2026-07-07, 07-08, 07-10); and failed lookups get `flix-fallback-m7`, a list position
      rather than a title. Keyed on those ids a title would leave and re-enter the chart
      whenever its id flipped: false alerts.
    - The first commit (2025-10-17 14:15 UTC) has names "1.0", "2.0" … (a scraper bug). They are
      kept as titles and the gate rejects a chart made of them; in the whole file that commit is
      superseded by the day's last one. Some commits hold 7 to 9 rows; the gate rejects those.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Final

from bot.models import Chart, ChartKey, Entry, make_title_id, normalise_title
from bot.sources.csv_import import error_body_reason
from bot.sources.errors import SourceError

TOP10_SIZE: Final = 10

THE_NUMBERS_SOURCE: Final = "the-numbers"
THE_NUMBERS_KEY: Final = ChartKey(THE_NUMBERS_SOURCE, "netflix", "US", "Overall", "daily")
THE_NUMBERS_COLUMNS: Final = ("As of", "Rank", "Title", "Days In Top 10", "Viewership Score")

FLIXPATROL_SOURCE: Final = "flixpatrol"
FLIXPATROL_NL_REGION: Final = "NL"
FLIXPATROL_SCRAPE_COLUMNS: Final = ("commit", "commit_time_utc", "list", "rank", "name", "id")
FLIXPATROL_LIST_CATEGORIES: Final = {"movies": "Movies", "series": "TV Shows"}
# FlixPatrol publishes only the previous day's list (since May 2025); the scrape runs mornings.
FLIXPATROL_SCRAPE_LAG: Final = timedelta(days=1)


# A UTF-8 lead byte and its continuation bytes, each read as a Latin-1 character.
_DOUBLE_ENCODED = re.compile("[\xc2-\xf4][\x80-\xbf]+")


def repair_double_encoding(text: str) -> str:
    """Undo UTF-8 that was decoded as Latin-1 and encoded again ("DâElia" → "D’Elia").

    Only runs of a lead byte followed by continuation bytes that holds a C1 control character
    (U+0080–U+009F, which no real title has) and decodes as UTF-8 are changed, so "Pokémon" or
    "Amélie" stay as they are, and a title the source cut with "…" after such a run is mended too.
    """

    def mend(run: re.Match[str]) -> str:
        bytes_read = run.group()
        if not any("\x80" <= char <= "\x9f" for char in bytes_read):
            return bytes_read
        try:
            return bytes_read.encode("latin-1").decode("utf-8")
        except UnicodeDecodeError:
            return bytes_read

    return _DOUBLE_ENCODED.sub(mend, text)


def _header_cells(first_line: str) -> list[str]:
    cells = next(csv.reader([first_line.rstrip("\r\n")]), [])
    return [cell.lstrip("\ufeff").strip() for cell in cells]


def is_the_numbers_header(first_line: str) -> bool:
    """Whether a file's first line is the-numbers' Netflix daily Top 10 header."""
    names = set(_header_cells(first_line))
    return all(column in names for column in THE_NUMBERS_COLUMNS)


def is_flixpatrol_scrape_header(first_line: str) -> bool:
    """Whether a file's first line is the FlixPatrol scrape-history header."""
    names = set(_header_cells(first_line))
    return all(column in names for column in FLIXPATROL_SCRAPE_COLUMNS)


@dataclass(slots=True)
class _Draft:
    key: ChartKey
    period: date
    entries: list[Entry] = field(default_factory=list)
    problem: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def note(self, problem: str) -> None:
        if self.problem is None:
            self.problem = problem

    def build(self) -> Chart:
        return Chart(
            key=self.key,
            period=self.period,
            entries=tuple(sorted(self.entries, key=lambda entry: entry.rank)),
            expected_size=TOP10_SIZE,
            parse_error=self.problem,
            extra=self.extra,
        )


@dataclass(frozen=True, slots=True)
class _Row:
    line: int
    cells: dict[str, str]  # by column name; missing cells are empty
    shape_problem: str | None  # too few or too many fields: the cells may be shifted


def _read_rows(
    lines: Iterable[str], required: Sequence[str], *, source: str, what: str
) -> Iterator[_Row]:
    """Check the body and header, then yield the non-blank rows with their line numbers."""
    line_list = list(lines)
    reason = error_body_reason("\n".join(line_list[:20]))
    if reason is not None:
        raise SourceError(reason, source=source, what=what)
    reader = csv.reader(line_list)
    header = [cell.lstrip("\ufeff").strip() for cell in next(reader, [])]
    missing = [column for column in required if column not in header]
    if missing:
        raise SourceError(
            f"wrong header: missing column(s) {', '.join(missing)}", source=source, what=what
        )
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        line = reader.line_num
        problem = None
        if len(cells) != len(header):
            problem = f"line {line}: {len(cells)} fields, expected {len(header)}"
        padded = cells + [""] * (len(header) - len(cells))
        yield _Row(line, dict(zip(header, padded, strict=False)), problem)


def _parse_us_date(text: str, line: int, *, what: str) -> date:
    try:
        month, day, year = (int(part) for part in text.strip().split("/"))
        return date(year, month, day)
    except ValueError as exc:
        raise SourceError(
            f"line {line}: date {text!r} is not M/D/YYYY", source=THE_NUMBERS_SOURCE, what=what
        ) from exc


def _int_cell(text: str) -> int | None:
    """An integer cell; None when empty. Raises ValueError when it holds something else."""
    stripped = text.strip()
    return int(stripped) if stripped else None


def _sorted_charts(drafts: Iterable[_Draft]) -> list[Chart]:
    return sorted((draft.build() for draft in drafts), key=lambda chart: (chart.period, chart.key))


def parse_the_numbers(lines: Iterable[str], *, what: str) -> list[Chart]:
    """the-numbers' Netflix US daily Top 10 → one "Overall" chart per day, by period."""
    drafts: dict[date, _Draft] = {}
    rows = _read_rows(lines, THE_NUMBERS_COLUMNS, source=THE_NUMBERS_SOURCE, what=what)
    for row in rows:
        cells = row.cells
        period = _parse_us_date(cells["As of"], row.line, what=what)
        draft = drafts.setdefault(period, _Draft(THE_NUMBERS_KEY, period))
        if row.shape_problem:
            draft.note(row.shape_problem)
            continue
        title = repair_double_encoding(cells["Title"].strip())
        try:
            rank = int(cells["Rank"].strip())
        except ValueError:
            draft.note(f"line {row.line}: rank {cells['Rank']!r} is not a whole number")
            continue
        days_text = cells["Days In Top 10"]
        try:
            days = _int_cell(days_text)
        except ValueError:
            draft.note(f"line {row.line}: days in top 10 {days_text!r} is not a whole number")
            days = None
        draft.entries.append(
            Entry(rank=rank, title_id=make_title_id(title, None), title=title, days_in_top10=days)
        )
    if not drafts:
        raise SourceError("header without any rows", source=THE_NUMBERS_SOURCE, what=what)
    return _sorted_charts(drafts.values())


@dataclass(slots=True)
class _Commit:
    sha: str
    committed_at: datetime
    order: int  # position in the file: breaks ties between equal commit times
    rows: list[_Row] = field(default_factory=list)


def _commit_time(text: str, line: int, *, what: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise SourceError(
            f"line {line}: commit time {text!r} is not an ISO timestamp",
            source=FLIXPATROL_SOURCE,
            what=what,
        ) from exc
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)  # the column is named _utc
    return moment.astimezone(UTC)


def _scrape_entry(row: _Row) -> Entry | str:
    """The row's entry, or the problem that prevents reading it."""
    rank_text = row.cells["rank"]
    try:
        rank = int(rank_text.strip())
    except ValueError:
        return f"line {row.line}: rank {rank_text!r} is not a whole number"
    name = row.cells["name"].strip()
    # Not row.cells["id"]: the scraper's TMDB ids flip for one title (see the module docstring).
    return Entry(rank=rank, title_id=make_title_id(name, None), title=name)


def _titles_in_order(draft: _Draft) -> list[str]:
    return [normalise_title(e.title) for e in sorted(draft.entries, key=lambda e: e.rank)]


def _charts_of_commit(commit: _Commit) -> list[_Draft]:
    period = commit.committed_at.date() - FLIXPATROL_SCRAPE_LAG
    extra = {"commit": commit.sha, "committed_at": commit.committed_at.isoformat()}
    drafts: dict[str, _Draft] = {}
    for row in commit.rows:
        list_name = row.cells["list"].strip()
        category = FLIXPATROL_LIST_CATEGORIES.get(list_name.lower(), list_name)
        key = ChartKey(FLIXPATROL_SOURCE, "netflix", FLIXPATROL_NL_REGION, category, "daily")
        draft = drafts.setdefault(category, _Draft(key, period, extra=dict(extra)))
        if list_name.lower() not in FLIXPATROL_LIST_CATEGORIES:
            draft.note(f"line {row.line}: unknown list {list_name!r}")
        if row.shape_problem:
            draft.note(row.shape_problem)
            continue
        entry = _scrape_entry(row)
        if isinstance(entry, str):
            draft.note(entry)
        else:
            draft.entries.append(entry)
    movies, shows = drafts.get("Movies"), drafts.get("TV Shows")
    if movies and shows and movies.entries and _titles_in_order(movies) == _titles_in_order(shows):
        shows.note("the TV Shows list repeats the Movies list title for title (scraper bug)")
    return list(drafts.values())


def parse_flixpatrol_nl_scrape(lines: Iterable[str], *, what: str) -> list[Chart]:
    """FlixPatrol Netflix NL scrape history → one chart per list per day (the last commit of
    each UTC day, dated the day before the commit), sorted by period."""
    commits: dict[str, _Commit] = {}
    rows = _read_rows(lines, FLIXPATROL_SCRAPE_COLUMNS, source=FLIXPATROL_SOURCE, what=what)
    for row in rows:
        sha = row.cells["commit"].strip()
        commit = commits.get(sha)
        if commit is None:
            committed_at = _commit_time(row.cells["commit_time_utc"], row.line, what=what)
            commit = commits[sha] = _Commit(sha, committed_at, order=len(commits))
        commit.rows.append(row)
    if not commits:
        raise SourceError("header without any rows", source=FLIXPATROL_SOURCE, what=what)
    last_of_day: dict[date, _Commit] = {}
    for commit in commits.values():
        day = commit.committed_at.date()
        kept = last_of_day.get(day)
        if kept is None or (commit.committed_at, commit.order) > (kept.committed_at, kept.order):
            last_of_day[day] = commit
    return _sorted_charts(
        draft for commit in last_of_day.values() for draft in _charts_of_commit(commit)
    )
