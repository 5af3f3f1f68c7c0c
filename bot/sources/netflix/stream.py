"""The per-country file read from disk in period order, one week in memory at a time."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any, BinaryIO

from bot.models import Chart
from bot.sources.errors import SourceError
from bot.sources.netflix.header import SOURCE, TSV, check_header
from bot.sources.netflix.layouts import CountriesLayout
from bot.sources.netflix.parse import parse_countries
from bot.sources.netflix.rows import parse_rows

READ_CHUNK = 1 << 20  # bytes read at a time by pass 1

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
        layout = CountriesLayout(columns, what)
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
            for (_, _, _, _, line_no), data in zip(week_blocks, datas, strict=True):
                yield from _block_charts(data, layout, line_no, seen, what)


def _block_charts(
    data: bytes, layout: CountriesLayout, first_line_no: int, seen: set[Any], what: str
) -> Iterator[Chart]:
    """Pass 2 for one block of a week that is not clean: the general row parser."""
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
) -> list[_Block]:
    """Pass 1: the byte range of every contiguous (country, week) block, in file order.

    A block starts at each row that names a valid chart and whose (country, week) differs from
    the block being read; any other row (truncated, bad key, blank, not UTF-8) stays in the
    current block, just as `parse_rows` gives it to the open chart. A regular expression
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
        chunk = binary.read(READ_CHUNK)
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
    layout: CountriesLayout, region: bytes, start: int, end: int
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
    return csv.reader(lines, **TSV), bad
