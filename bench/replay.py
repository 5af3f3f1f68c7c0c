"""Replay benchmark: a per-country history the size of the live Netflix file, plus the global file.

Builds ~490k per-country rows by repeating the 35 real weeks of all-weeks-countries.tsv shifted
forward (sorted like the live file: by country, newest week first), then runs
`top10bot replay --db <file on disk> --format jsonl` in a child process over it and the global file.
Prints rows/s end to end, the ratio to a bare csv.reader pass over the same files, and peak RSS.

    .venv/bin/python bench/replay.py [--data ../shared/data/netflix] [--rows 490000] [--runs 3]

With --runs N the replay runs N times, each into a new database, and the figures are those of the
median run (this machine's speed drifts by a fifth between identical runs); every run's time is
printed too.
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "netflix"


def build_countries_file(source: Path, target: Path, rows_wanted: int) -> int:
    """Repeat the real weeks shifted forward until the file holds about `rows_wanted` rows."""
    with source.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader)
        by_country: dict[str, list[list[str]]] = defaultdict(list)
        for row in reader:
            by_country[row[1]].append(row)
    weeks = sorted({row[2] for rows in by_country.values() for row in rows})
    span = timedelta(weeks=len(weeks))
    rows_per_week = sum(len(rows) for rows in by_country.values()) / len(weeks)
    total_weeks = max(len(weeks), round(rows_wanted / rows_per_week))
    written = 0
    with target.open("w", encoding="utf-8", newline="") as out:
        out.write("\t".join(header))
        for country in sorted(by_country, key=lambda c: by_country[c][0][0]):
            rows = by_country[country]
            blocks: list[str] = []
            for shift in range((total_weeks + len(weeks) - 1) // len(weeks)):
                for row in rows:
                    week = date.fromisoformat(row[2]) + shift * span
                    index = shift * len(weeks) + weeks.index(row[2])
                    if index >= total_weeks:
                        continue
                    blocks.append("\t".join([*row[:2], week.isoformat(), *row[3:]]))
            # Live file order: newest week first within a country.
            blocks.sort(key=lambda line: line.split("\t", 3)[2], reverse=True)
            for line in blocks:
                out.write("\n" + line)
                written += 1
    return written


def csv_pass(paths: list[Path]) -> tuple[int, float]:
    start = time.perf_counter()
    rows = 0
    for path in paths:
        with path.open(encoding="utf-8", newline="") as handle:
            for _ in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
                rows += 1
    return rows, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--rows", type=int, default=490_000)
    parser.add_argument("--runs", type=int, default=1, help="replays to run; the median is shown")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="top10bot-bench-") as tmp:
        workdir = Path(tmp)
        countries = workdir / "all-weeks-countries.tsv"
        country_rows = build_countries_file(
            args.data / "all-weeks-countries.tsv", countries, args.rows
        )
        files = [countries, args.data / "all-weeks-global.tsv"]
        csv_rows, csv_seconds = csv_pass(files)
        runs: list[tuple[float, int, float, float]] = []  # (s, events, database MB, peak RSS MB)
        for run in range(max(1, args.runs)):
            db = workdir / f"bench-{run}.db"
            cli = [sys.executable, "-m", "bot", "replay", "--db", str(db), "--format", "jsonl"]
            start = time.perf_counter()
            child = subprocess.Popen(
                [*cli, *map(str, files)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
            )
            assert child.stdout is not None
            read_chunk = functools.partial(child.stdout.read, 1 << 20)
            events = sum(chunk.count(b"\n") for chunk in iter(read_chunk, b""))
            # wait4 gives this child's own peak RSS (getrusage(RUSAGE_CHILDREN) is the maximum
            # over every child so far, and counts the memory the kernel charged to the pipe).
            _, status, usage = os.wait4(child.pid, 0)
            seconds = time.perf_counter() - start
            child.returncode = os.waitstatus_to_exitcode(status)
            if child.returncode not in (0, 1):
                sys.stderr.write(f"replay failed with exit code {child.returncode}\n")
                return 1
            db_mb = sum(p.stat().st_size for p in workdir.glob(f"bench-{run}.db*")) / 1e6
            runs.append((seconds, events, db_mb, usage.ru_maxrss / 1024))
            for path in workdir.glob(f"bench-{run}.db*"):
                path.unlink()
        if len(runs) > 1:
            print("runs: " + ", ".join(f"{run[0]:.2f} s ({run[3]:.0f} MB)" for run in runs))
        seconds, events, db_mb, _ = sorted(runs)[len(runs) // 2]
        peak_mb = max(run[3] for run in runs)
        rows_per_s = (csv_rows - len(files)) / seconds
        figures = {
            "rows": csv_rows - len(files),
            "country_rows": country_rows,
            "events": events,
            "seconds": round(seconds, 2),
            "rows_per_s": round(rows_per_s),
            "csv_reader_rows_per_s": round(csv_rows / csv_seconds),
            "ratio_to_csv_reader": round(csv_seconds / seconds, 4),
            "peak_rss_mb": round(peak_mb, 1),
            "db_mb": round(db_mb, 1),
            "cpu_count": os.cpu_count(),
            "runs": len(runs),
        }
        print(
            f"rows: {figures['rows']:,} ({country_rows:,} per-country + global), events: {events:,}"
        )
        print(f"end to end: {seconds:.2f} s = {rows_per_s:,.0f} rows/s (target >= 100,000)")
        print(
            f"bare csv.reader: {figures['csv_reader_rows_per_s']:,} rows/s; "
            f"ratio replay/csv.reader = {figures['ratio_to_csv_reader']:.4f}"
        )
        print(
            f"peak RSS of the replay process (largest of the runs): {peak_mb:.1f} MB"
            f" (target < 300 MB); db {db_mb:.1f} MB"
        )
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
