"""The per-country file read from disk in period order, one week in memory at a time."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any, BinaryIO

from bot.models import Chart
from bot.sources.errors import SourceError
from bot.sources.netflix.header import SOURCE, TSV, check_header, cut_short_problem
from bot.sources.netflix.layouts import CountriesLayout
from bot.sources.netflix.parse import parse_countries
from bot.sources.netflix.rows import parse_rows

# (week, country_iso2, start offset, end offset, first line number) of one contiguous run of rows
# of one country and week: both categories, as the file writes them together.
_Block = tuple[bytes, bytes, int, int, int]


@dataclass(frozen=True, slots=True)
class CountriesScan:
    """What pass 1 learnt about a local `all-weeks-countries.tsv` before any chart is read."""

    path: Path
    layout: CountriesLayout
    blocks: list[_Block]
    # Why the file looks cut short at its end (a last line with too few fields, a last block
    # with fewer rows than the others), or None.
    cut_short: str | None

    def countries_by_week(self) -> dict[date, set[str]]:
        """The country codes with rows in each week (weeks that are not dates left out)."""
        found: dict[date, set[str]] = defaultdict(set)
        for week, country, *_ in self.blocks:
            try:
                found[date.fromisoformat(week.decode("ascii"))].add(country.decode("ascii"))
            except (UnicodeDecodeError, ValueError):
                continue  # its rows are reported by the parser
        return dict(found)

    def charts(self) -> Iterator[Chart]:
        """The charts, week ascending, then country code."""
        return _charts_by_period(self)


def scan_countries_file(path: Path) -> CountriesScan:
    """Pass 1 over a local `all-weeks-countries.tsv`: its blocks, and whether it is cut short."""
    what = path.name
    with path.open("rb") as binary:
        columns, data_start, first_line_no = _read_binary_header(binary, what)
        layout = CountriesLayout(columns, what)
        blocks, cut_short = _scan_country_blocks(binary, layout, data_start, first_line_no)
    return CountriesScan(path, layout, blocks, cut_short)


def iter_countries_file_by_period(path: Path) -> Iterator[Chart]:
    """Charts of a local `all-weeks-countries.tsv`, week ascending, then country code.

    The file is sorted by country, then week descending, and the live one is ~31 MB: pass 1
    records the byte range of each (country, week) block, pass 2 reads the blocks week by week.
    Memory holds the block list, one week's blocks and a bounded entry cache, never the file
    (~17 MB peak on a 31 MB, 490k-row file). Charts equal those of `parse_countries` on the same
    file (parse_error texts included), in another order.
    """
    return scan_countries_file(path).charts()


def _charts_by_period(scan: CountriesScan) -> Iterator[Chart]:
    path, layout, blocks = scan.path, scan.layout, list(scan.blocks)
    what = path.name
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
            seen.clear()
            for _, _, start, end, line_no in week_group:
                yield from _block_charts(_read_range(raw, start, end), layout, line_no, seen, what)


def _block_charts(
    data: bytes, layout: CountriesLayout, first_line_no: int, seen: set[Any], what: str
) -> Iterator[Chart]:
    """Pass 2 for one block: its rows parsed into charts."""
    try:
        lines = data.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        rows, bad_lines = _rows_decoded_leniently(data, first_line_no)
        return parse_rows(
            rows, layout, first_line_no=first_line_no, seen=seen, what=what, bad_lines=bad_lines
        )
    if lines[-1] == "":
        lines.pop()
    rows = csv.reader(lines, **TSV)
    return parse_rows(rows, layout, first_line_no=first_line_no, seen=seen, what=what)


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
    return check_header(header, "countries", what), binary.tell(), line_no + 1


def _scan_country_blocks(
    binary: BinaryIO, layout: CountriesLayout, data_start: int, first_line_no: int
) -> tuple[list[_Block], str | None]:
    """Pass 1: the byte range of every contiguous (country, week) block, in file order, and why
    the file looks cut short at its end (or None).

    A block starts at each line that names a valid chart of another (country, week) than the
    block being read; every other line (truncated, bad key, blank, not UTF-8) stays in the
    current block, just as `parse_rows` gives it to the open chart. Lines before the first
    block belong to it.
    """
    block_of = itemgetter(*layout.block_indices)
    block_width = max(layout.block_indices) + 1
    blocks: list[_Block] = []
    current: tuple[bytes, bytes] | None = None  # (country, week) of the block being read
    block_start = offset = data_start
    block_line = first_line_no
    most_rows = rows = 0  # rows of the longest block so far, of the block being read
    last_line = b""
    last_line_no = 0
    binary.seek(data_start)
    for line_no, line in enumerate(binary, start=first_line_no):
        fields = line.split(b"\t", block_width)
        if (
            len(fields) >= block_width
            and block_of(fields) != current
            and _names_a_chart(layout, line)
        ):
            if current is not None:
                blocks.append((current[1], current[0], block_start, offset, block_line))
                block_start, block_line = offset, line_no
                most_rows = max(most_rows, rows)
            current = block_of(fields)
            rows = 0
        if line.strip():
            rows += 1
            last_line, last_line_no = line, line_no
        offset += len(line)
    if current is not None:
        blocks.append((current[1], current[0], block_start, offset, block_line))
    cut = cut_short_problem(last_line, last_line_no, layout.n_fields)
    if cut is None and blocks and rows < most_rows:
        country, week = (part.decode("utf-8", "backslashreplace") for part in current or ())
        cut = (
            f"file cut short: its last block ({country} {week}) has {rows} rows, others {most_rows}"
        )
    return blocks, cut


def _names_a_chart(layout: CountriesLayout, line: bytes) -> bool:
    """Whether a line names a valid chart, read as csv.reader would read it."""
    text = line.rstrip(b"\n").rstrip(b"\r")  # csv drops a row's trailing carriage returns
    if b"\r" in text:  # csv rejects any other carriage return
        return False
    try:
        fields = text.decode("utf-8").split("\t", max(layout.key_indices) + 1)
    except UnicodeDecodeError:  # pass 2 reports the line and gives it to the open chart
        return False
    return len(fields) > layout.key_width and not isinstance(
        layout.open_chart(layout.key_of(fields)), str
    )


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
    return csv.reader(lines, **TSV), bad
