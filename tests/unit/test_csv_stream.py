"""A canonical CSV on disk, streamed: the same charts as the in-memory parser, in any row order,
with one period in memory; an unusable file refused before its first chart."""

from __future__ import annotations

import random
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.sources import csv_stream
from bot.sources.csv_import import parse_canonical_csv
from bot.sources.csv_stream import iter_canonical_csv, iter_canonical_csv_file
from bot.sources.errors import SourceError
from bot.sources.files import ChartFile, FileKind, read_charts

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "csv"
HEADER = "date,service,region,category,rank,title,points"


def days_of_charts(days: int, regions: tuple[str, ...] = ("US", "KR", "GB")) -> list[str]:
    """Rows of `days` daily Top 10s per region, in date order; titles shift by one a day."""
    return [
        f"2024-01-{day:02d},netflix,{region},TV,{rank},Show {rank + day},{rank}"
        for day in range(1, days + 1)
        for region in regions
        for rank in range(1, 11)
    ]


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class CountedLines:
    """A line source that counts, per pass, the lines read so far."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.read: list[int] = []

    def __call__(self) -> Iterator[str]:
        self.read.append(0)
        pass_number = len(self.read) - 1
        for line in self.lines:
            self.read[pass_number] += 1
            yield line


@pytest.mark.parametrize(
    "name", ["example.csv", "netflix-global-excerpt.csv", "netflix-countries-excerpt.csv"]
)
@pytest.mark.parametrize("run_rows", [7, 100_000])
def test_real_files_stream_into_the_charts_the_whole_file_parser_gives(
    name: str, run_rows: int
) -> None:
    path = FIXTURES / name
    whole = parse_canonical_csv(path.read_text(encoding="utf-8").splitlines(), what=str(path))

    assert list(iter_canonical_csv_file(path, run_rows=run_rows)) == whole


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("run_rows", [1, 13, 100_000])
def test_rows_in_any_order_give_the_same_charts_sorted_on_disk_or_in_memory(
    tmp_path: Path, seed: int, run_rows: int
) -> None:
    rows = days_of_charts(6)
    rows[5] = "2024-01-01,netflix,US,TV,6,Show 7,x"  # a malformed row: its chart keeps the reason
    random.Random(seed).shuffle(rows)
    lines = [HEADER, *rows]
    path = write(tmp_path / "shuffled.csv", lines)

    streamed = list(iter_canonical_csv_file(path, run_rows=run_rows))

    assert streamed == parse_canonical_csv(lines, what=str(path))
    assert [chart.period for chart in streamed] == sorted(chart.period for chart in streamed)
    assert len(streamed) == 18
    assert sum(chart.parse_error is not None for chart in streamed) == 1


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary directory the importer's runs go to, for this test alone."""
    path = tmp_path / "scratch"
    path.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(path))
    return path


def test_a_file_out_of_date_order_is_sorted_in_runs_on_disk_that_are_removed_after(
    scratch: Path,
) -> None:
    rows = days_of_charts(4)
    lines = [HEADER, *reversed(rows)]

    charts = iter_canonical_csv(CountedLines(lines), what="reversed.csv", run_rows=25)
    first = next(charts)
    (run_dir,) = scratch.iterdir()
    runs = sorted(path.name for path in run_dir.iterdir())
    rest = list(charts)

    assert runs == [f"run-{n}.csv" for n in range(5)]  # 120 rows in runs of 25
    assert [first, *rest] == parse_canonical_csv(lines, what="reversed.csv")
    assert list(scratch.iterdir()) == []


def test_runs_grow_with_the_file_rather_than_open_more_than_max_runs_files(
    scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_stream, "MAX_RUNS", 3)
    lines = [HEADER, *reversed(days_of_charts(4))]

    charts = iter_canonical_csv(CountedLines(lines), what="reversed.csv", run_rows=1)
    first = next(charts)
    (run_dir,) = scratch.iterdir()
    runs = sorted(path.name for path in run_dir.iterdir())

    assert runs == ["run-0.csv", "run-1.csv", "run-2.csv"]  # 120 rows: 3 runs of 40, not 120
    assert [first, *charts] == parse_canonical_csv(lines, what="reversed.csv")


def test_a_file_in_date_order_yields_its_first_charts_before_its_last_row_is_read() -> None:
    source = CountedLines([HEADER, *days_of_charts(30)])

    charts = iter_canonical_csv(source, what="history.csv")
    first = next(charts)

    # Pass 1 read every line (it keeps nothing); pass 2 had read the first day and one row of
    # the second when the first day's charts were complete.
    assert source.read == [901, 32]
    assert (first.period.day, first.key.region) == (1, "GB")
    assert sum(1 for _ in charts) == 89
    assert source.read == [901, 901]


@pytest.mark.parametrize(
    ("bad_row", "reason"),
    [
        ("2024-01-30,netflix,US,TV,1,X,1", None),  # a good row: the file is fine
        ("30/01/2024,netflix,US,TV,1,X,1", "line 902: date '30/01/2024' is not YYYY-MM-DD"),
        ("2024-01-30,,US,TV,1,X,1", "line 902: empty service"),
    ],
)
def test_a_row_that_belongs_to_no_chart_refuses_the_file_before_its_first_chart(
    bad_row: str, reason: str | None
) -> None:
    source = CountedLines([HEADER, *days_of_charts(30), bad_row])
    charts = iter_canonical_csv(source, what="history.csv")

    if reason is None:
        assert next(charts).period.day == 1
        return
    with pytest.raises(SourceError) as caught:
        next(charts)

    assert (caught.value.reason, caught.value.what) == (reason, "history.csv")
    assert len(source.read) == 1  # never read a second time


def test_bytes_that_are_not_utf8_refuse_the_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    text = "\n".join([HEADER, *days_of_charts(2), "2024-01-03,netflix,US,TV,1,Amélie,1"])
    path.write_bytes(text.encode("latin-1"))

    with pytest.raises(SourceError, match="not UTF-8 text"):
        list(read_charts(ChartFile(path, FileKind.CANONICAL_CSV)))


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("", "empty body"),
        ("<!DOCTYPE html>\n<html>Not Found", "HTML page instead of a chart file"),
        (HEADER, "header without any rows"),
        ("date,service,region,category,rank", "not a canonical CSV: missing column(s) title"),
    ],
)
def test_unusable_files_raise_source_error(tmp_path: Path, body: str, reason: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(body, encoding="utf-8")

    with pytest.raises(SourceError) as caught:
        next(iter_canonical_csv_file(path))

    assert caught.value.reason == reason


def test_crlf_line_endings_and_a_byte_order_mark_read_as_in_memory(tmp_path: Path) -> None:
    lines = [HEADER, *days_of_charts(2)]
    path = tmp_path / "windows.csv"
    path.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))

    assert list(iter_canonical_csv_file(path)) == parse_canonical_csv(lines, what=str(path))
