"""Storage write throughput: save charts in batches and print entry rows per second.

    .venv/bin/python bench/storage_write.py [--charts 49000] [--batch 200] [--tsv PATH]

By default the charts are Netflix's real per-country weekly Top 10 (all-weeks-countries.tsv from
/work/shared/data, 6,580 charts), replayed under several pretend services until --charts is
reached, in the order a replay stores them (week by week). Titles therefore recur across regions
and weeks as in real history. Without the file, synthetic charts are used. Prints a figure;
asserts nothing about time.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import random
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.models import Chart, ChartKey, Entry, make_title_id
from bot.ports import Batch
from storage.sqlite import SqliteBackend

DEFAULT_TSV = Path("/work/shared/data/netflix/all-weeks-countries.tsv")


def real_charts(tsv: Path, count: int) -> list[Chart]:
    rows_by_chart: dict[tuple[str, str, str], list[dict[str, str]]] = defaultdict(list)
    with tsv.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            rows_by_chart[(row["week"], row["category"], row["country_iso2"])].append(row)
    # Each copy is a pretend service with its own titles, so copies do not collide.
    charts: list[Chart] = []
    copy = 0
    while len(charts) < count:
        service = "netflix" if copy == 0 else f"service-{copy}"
        for (week, category, region), rows in sorted(rows_by_chart.items()):
            if len(charts) == count:
                break
            entries = []
            for row in rows:
                season = None if row["season_title"] == "N/A" else row["season_title"]
                title = row["show_title"] if copy == 0 else f"{row['show_title']} ({copy})"
                entries.append(
                    Entry(
                        rank=int(row["weekly_rank"]),
                        title_id=make_title_id(title, season),
                        title=title,
                        season=season,
                        weeks_in_top10=int(row["cumulative_weeks_in_top_10"]),
                    )
                )
            key = ChartKey("netflix", service, region, category, "weekly")
            charts.append(Chart(key, date.fromisoformat(week), tuple(entries)))
        copy += 1
    return charts


def synthetic_charts(count: int, seed: int = 7) -> list[Chart]:
    rng = random.Random(seed)
    titles = [(f"title-{n}", f"Título {n}", None if n % 3 else "Season 1") for n in range(6000)]
    charts: list[Chart] = []
    for index in range(count):
        picks = rng.sample(titles, 10)
        entries = tuple(
            Entry(rank, title_id, title, season, points=11 - rank, days_in_top10=rank)
            for rank, (title_id, title, season) in enumerate(picks, start=1)
        )
        # 7 services x 70 regions a day, each key once per day.
        day = date.fromordinal(date(2022, 1, 1).toordinal() + index // 490)
        service, region = f"service-{index % 7}", f"R{index // 7 % 70:02d}"
        key = ChartKey("flixpatrol", service, region, "TV", "daily")
        charts.append(Chart(key, day, entries))
    return charts


async def run(charts: list[Chart], batch_size: int, db_path: Path) -> tuple[float, float]:
    """Wall-clock and CPU seconds (this process: the event loop and aiosqlite's thread)."""
    storage = await SqliteBackend.open(db_path)
    try:
        await storage.migrate()
        started, cpu_started = time.perf_counter(), time.process_time()
        for start in range(0, len(charts), batch_size):
            batch = Batch(accepted=charts[start : start + batch_size])
            await storage.save_batch(batch, queue_deliveries=False)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    finally:
        await storage.close()
    return elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--charts", type=int, default=49_000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--tsv", type=Path, default=DEFAULT_TSV, help="Netflix countries TSV")
    parser.add_argument("--synthetic", action="store_true", help="random titles instead")
    parser.add_argument("--db", type=Path, default=None, help="database file (default: temp dir)")
    args = parser.parse_args()
    if args.synthetic or not args.tsv.exists():
        kind, charts = "synthetic", synthetic_charts(args.charts)
    else:
        kind, charts = "real Netflix countries", real_charts(args.tsv, args.charts)
    rows = sum(chart.rows for chart in charts)
    with tempfile.TemporaryDirectory() as scratch:
        db_path = args.db or Path(scratch) / "bench.db"
        elapsed, cpu = asyncio.run(run(charts, args.batch, db_path))
    # On a shared machine the wall clock includes other processes' turns; CPU time does not.
    print(
        f"storage write ({kind}): {len(charts):,} charts, {rows:,} entry rows,"
        f" batches of {args.batch}: {elapsed:.2f} s wall = {rows / elapsed:,.0f} rows/s;"
        f" {cpu:.2f} s CPU = {rows / cpu:,.0f} rows/CPU-s"
    )
    summary = {
        "charts": len(charts),
        "rows": rows,
        "batch": args.batch,
        "seconds": round(elapsed, 2),
        "rows_per_s": round(rows / elapsed),
        "cpu_s": round(cpu, 2),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
