"""`import` of a canonical CSV streams: charts are stored while the file is still being read, and
a file refused for a row near its end stores nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import pipeline as pipeline_module
from bot.__main__ import main
from bot.diff import DiffConfig
from bot.events import Event
from bot.models import ChartKey
from bot.pipeline import Pipeline
from bot.sources.csv_stream import iter_canonical_csv
from storage import open_backend

HEADER = "date,service,region,category,rank,title,points"
REGIONS = ("US", "KR", "GB", "DE")


def history_rows(days: int) -> list[str]:
    """Daily Top 10s of four countries, in date order; a new title enters every day."""
    return [
        f"2024-01-{day:02d},netflix,{region},TV,{rank},Show {rank + day},{100 - rank}"
        for day in range(1, days + 1)
        for region in REGIONS
        for rank in range(1, 11)
    ]


async def test_the_first_charts_are_stored_before_the_last_row_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline_module, "FLUSH_CHARTS", 8)  # a batch every two days
    lines = [HEADER, *history_rows(20)]
    read_in_pass: list[int] = []

    def counted_lines() -> Iterator[str]:
        read_in_pass.append(0)
        for line in lines:
            read_in_pass[-1] += 1
            yield line

    storage = await open_backend(f"sqlite:///{tmp_path / 'history.db'}")
    stored_when: list[tuple[int, bool]] = []  # (lines read by pass 2, first chart stored?)
    first_key = ChartKey("csv", "netflix", "DE", "TV", "daily")

    async def after_each_batch(events: list[Event]) -> None:
        stored = await storage.latest_chart(first_key) is not None
        stored_when.append((read_in_pass[-1], stored))

    try:
        pipeline = Pipeline(storage, DiffConfig(), queue_deliveries=False, sink=after_each_batch)
        stats = await pipeline.process(iter_canonical_csv(counted_lines, what="history.csv"))
        latest = await storage.latest_chart(first_key)
    finally:
        await storage.close()

    assert (stats.accepted, stats.rejected) == (80, 0)
    assert latest is not None and latest.period.day == 20
    assert len(read_in_pass) == 2 and read_in_pass[1] == len(lines)
    # The first batch with events (days 1-2 stored, day 3 read) was in the store when pass 2
    # had read less than a fifth of the file.
    reads, stored = stored_when[0]
    assert stored and reads < len(lines) / 5
    assert len(stored_when) >= 8


async def stored_keys(db: Path) -> list[ChartKey]:
    storage = await open_backend(f"sqlite:///{db}")
    try:
        return await storage.chart_keys()
    finally:
        await storage.close()


@pytest.mark.parametrize("last_date", ["2024-01-06", "06/01/2024"])
def test_an_import_refused_for_its_last_row_stores_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], last_date: str
) -> None:
    csv_path = tmp_path / "history.csv"
    rows = [HEADER, *history_rows(5), "2024-01-06,netflix,US,TV,1,X,1,extra,cells"]
    rows.append(f"{last_date},netflix,US,TV,2,Y,1")
    csv_path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    db = tmp_path / "history.db"

    code = main(["import", str(csv_path), "--db", str(db)])

    err = capsys.readouterr().err
    assert code == 1  # a malformed row rejects its chart; a row of no chart, the file
    keys = asyncio.run(stored_keys(db))
    if last_date == "2024-01-06":
        assert "rejected: csv/netflix/US/TV/daily@2024-01-06: line 202: 9 fields" in err
        assert len(keys) == len(REGIONS)
    else:
        assert f"rejected: {csv_path}: line 203: date '06/01/2024' is not YYYY-MM-DD" in err
        assert keys == []  # not one chart of the file was stored
