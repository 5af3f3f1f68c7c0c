"""A canonical CSV on disk, read as a stream of charts in period order, never loaded whole.

Pass 1 reads every row once, keeping nothing: it raises SourceError for anything that makes the
file unusable (an error page, a bad header, a row that belongs to no chart, bytes that are not
UTF-8), so a bad file is refused before any of its charts is stored, as when the whole file was
parsed first. It also notes whether the dates never go backwards.

Pass 2 groups the rows into charts period by period (bot.sources.csv_import.charts_by_period):
only one period's rows are held, and each period's charts are handed on as soon as the next
period begins. A file written in date order (an export, a daily scrape appended to) is read
again as it is. Any other order (e.g. one chart's whole history after another's) is first sorted
by date on disk: runs of RUN_ROWS rows are sorted in memory and written to temporary files,
then merged; rows of one date keep their file order, so the charts are exactly those of
`parse_canonical_csv` on the same text. Memory stays bounded by one period and one run
whatever the file's size.
"""

from __future__ import annotations

import csv
import heapq
import itertools
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Final

from bot.models import Chart
from bot.sources.csv_import import SOURCE, Row, charts_by_period, open_rows, period_reader
from bot.sources.errors import SourceError

# Rows sorted in memory at a time when a file is not in date order (~30 MB for rows of seven
# short cells, measured)...
RUN_ROWS: Final = 25_000
# ...unless that would make more temporary files than this, all open at once for the merge: runs
# then grow with the file (beyond 6.4M rows at 25,000 a run).
MAX_RUNS: Final = 256

LineSource = Callable[[], Iterator[str]]
# A row on its way through the sort: (period as an ordinal, line number, cells).
_Keyed = tuple[int, int, list[str]]


def iter_canonical_csv_file(path: Path, *, run_rows: int = RUN_ROWS) -> Iterator[Chart]:
    """Charts of a canonical CSV file, period ascending, then key."""

    def lines() -> Iterator[str]:
        return _file_lines(path)

    return iter_canonical_csv(lines, what=str(path), run_rows=run_rows)


def iter_canonical_csv(
    lines: LineSource, *, what: str, run_rows: int = RUN_ROWS
) -> Iterator[Chart]:
    """Charts of the canonical CSV that `lines()` reads (called once per pass), period
    ascending, then key. Raises SourceError before the first chart for an unusable file."""
    in_date_order, row_count = _check(lines, what)
    header, rows = open_rows(lines(), what=what)
    if not in_date_order:
        run_rows = max(run_rows, -(-row_count // MAX_RUNS))
        rows = _sorted_by_period(header, rows, what=what, run_rows=run_rows)
    yield from charts_by_period(header, rows, what=what)


def _file_lines(path: Path) -> Iterator[str]:
    """The file's lines without their ending, as `read().split("\\n")` gives them: universal
    newlines (CRLF and CR become LF), a byte order mark dropped."""
    with path.open("r", encoding="utf-8-sig") as handle:
        for line in handle:
            yield line[:-1] if line.endswith("\n") else line


def _check(lines: LineSource, what: str) -> tuple[bool, int]:
    """Pass 1: raise SourceError if the file is unusable; else whether it is in date order,
    and how many rows it has."""
    try:
        header, rows = open_rows(lines(), what=what)
        period_of = period_reader(header, what=what)
        in_order, latest, count = True, None, 0
        for row in rows:
            period = period_of(row)
            count += 1
            if latest is not None and period < latest:
                in_order = False
            latest = period if latest is None else max(latest, period)
    except UnicodeDecodeError as exc:
        raise SourceError(f"not UTF-8 text: {exc.reason}", source=SOURCE, what=what) from None
    if not count:
        raise SourceError("header without any rows", source=SOURCE, what=what)
    return in_order, count


def _sorted_by_period(
    header: list[str], rows: Iterable[Row], *, what: str, run_rows: int
) -> Iterator[Row]:
    """The rows by period, then file order: runs sorted in memory, merged from disk."""

    period_of = period_reader(header, what=what)

    def keyed(row: Row) -> _Keyed:
        return period_of(row).toordinal(), row[0], row[1]

    items = (keyed(row) for row in rows)
    first = list(itertools.islice(items, run_rows))
    next_item = next(items, None)
    if next_item is None:  # one run: no need for the disk
        first.sort(key=_order)
        yield from ((line, cells) for _, line, cells in first)
        return
    with tempfile.TemporaryDirectory(prefix="top10bot-import-") as tmp:
        runs: list[Path] = []

        def spill(chunk: list[_Keyed]) -> None:
            chunk.sort(key=_order)
            runs.append(_write_run(Path(tmp) / f"run-{len(runs)}.csv", chunk))

        spill(first)
        del first  # one run in memory at a time: each is let go before the next is read
        rest = itertools.chain([next_item], items)
        while chunk := list(itertools.islice(rest, run_rows)):
            spill(chunk)
            del chunk
        handles = [run.open("r", encoding="utf-8", newline="") for run in runs]
        try:
            merged = heapq.merge(*(_read_run(handle) for handle in handles), key=_order)
            yield from ((line, cells) for _, line, cells in merged)
        finally:
            for handle in handles:
                handle.close()


def _order(item: _Keyed) -> tuple[int, int]:
    return item[0], item[1]  # line numbers are unique: the cells are never compared


def _write_run(path: Path, chunk: list[_Keyed]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        # Every cell quoted: a cell keeps any character it holds on the way back.
        writer = csv.writer(handle, lineterminator="\n", quoting=csv.QUOTE_ALL)
        writer.writerows([ordinal, line, *cells] for ordinal, line, cells in chunk)
    return path


def _read_run(handle: Iterable[str]) -> Iterator[_Keyed]:
    for record in csv.reader(handle):
        yield int(record[0]), int(record[1]), record[2:]
