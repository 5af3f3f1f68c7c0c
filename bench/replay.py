"""Replay benchmark: a per-country history the size of the live Netflix file, plus the global file.

Builds ~490k per-country rows by repeating the 35 real weeks of all-weeks-countries.tsv shifted
forward (sorted like the live file: by country, newest week first), then runs
`top10bot replay --db <file on disk> --format jsonl > <file>` in a child process over it and the
global file.
Prints rows/s end to end, the ratio to a bare csv.reader pass over the same files, and peak RSS;
the last line holds the figures as one JSON object. A regression guard, not a target: replay is a
one-time backfill, and only its peak RSS (< 300 MB) is a limit.

    .venv/bin/python bench/replay.py [--data ../shared/data/netflix] [--rows 490000] [--runs 3]

With --runs N the replay runs N times, each into a new database and each after its own csv.reader
pass, and the figures are medians (this machine's speed drifts by a fifth between identical runs;
the ratio of a run to the pass just before it drifts less); every run's time is printed too.
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
        runs: list[tuple[float, int, float, float]] = []  # (s, events, database MB, peak RSS MB)
        # A csv.reader pass before each run: the ratio of the two is steadier than either time
        # when the machine's speed drifts.
        csv_seconds_per_run: list[float] = []
        for run in range(max(1, args.runs)):
            csv_rows, csv_seconds = csv_pass(files)
            csv_seconds_per_run.append(csv_seconds)
            db = workdir / f"bench-{run}.db"
            cli = [sys.executable, "-m", "bot", "replay", "--db", str(db), "--format", "jsonl"]
            # The events go to a file, as `top10bot replay … > events.jsonl` would write them:
            # read through a pipe by this process, they made it a third thread wanting one of
            # the two cores while the replay uses both, and every full pipe stalled the replay.
            output = workdir / f"events-{run}.jsonl"
            with output.open("wb") as sink:
                start = time.perf_counter()
                child = subprocess.Popen(
                    [*cli, *map(str, files)], stdout=sink, stderr=subprocess.DEVNULL
                )
                # wait4 gives this child's own peak RSS (getrusage(RUSAGE_CHILDREN) is the
                # maximum over every child so far).
                _, status, usage = os.wait4(child.pid, 0)
                seconds = time.perf_counter() - start
            with output.open("rb") as written:
                read_chunk = functools.partial(written.read, 1 << 20)
                events = sum(chunk.count(b"\n") for chunk in iter(read_chunk, b""))
            output.unlink()
            child.returncode = os.waitstatus_to_exitcode(status)
            if child.returncode not in (0, 1):
                sys.stderr.write(f"replay failed with exit code {child.returncode}\n")
                return 1
            db_mb = sum(p.stat().st_size for p in workdir.glob(f"bench-{run}.db*")) / 1e6
            runs.append((seconds, events, db_mb, usage.ru_maxrss / 1024))
            for path in workdir.glob(f"bench-{run}.db*"):
                path.unlink()
        ratios = [csv_s / run[0] for csv_s, run in zip(csv_seconds_per_run, runs, strict=True)]
        if len(runs) > 1:
            print(
                "runs: "
                + ", ".join(
                    f"{run[0]:.2f} s ({run[3]:.0f} MB, ratio {ratio:.4f})"
                    for run, ratio in zip(runs, ratios, strict=True)
                )
            )
        seconds, events, db_mb, _ = sorted(runs)[len(runs) // 2]
        csv_seconds = sorted(csv_seconds_per_run)[len(runs) // 2]
        ratio = sorted(ratios)[len(runs) // 2]
        peak_mb = max(run[3] for run in runs)
        rows_per_s = (csv_rows - len(files)) / seconds
        figures = {
            "rows": csv_rows - len(files),
            "country_rows": country_rows,
            "events": events,
            "seconds": round(seconds, 2),
            "rows_per_s": round(rows_per_s),
            "csv_reader_rows_per_s": round(csv_rows / csv_seconds),
            "ratio_to_csv_reader": round(ratio, 4),
            "peak_rss_mb": round(peak_mb, 1),
            "db_mb": round(db_mb, 1),
            "cpu_count": os.cpu_count(),
            "runs": len(runs),
        }
        print(
            f"rows: {figures['rows']:,} ({country_rows:,} per-country + global), events: {events:,}"
        )
        print(f"end to end: {seconds:.2f} s = {rows_per_s:,.0f} rows/s")
        print(
            f"bare csv.reader: {figures['csv_reader_rows_per_s']:,} rows/s (median); "
            f"ratio replay/csv.reader = {figures['ratio_to_csv_reader']:.4f} (median of the"
            " runs' ratios, each to the pass just before it)"
        )
        print(
            f"peak RSS of the replay process (largest of the runs): {peak_mb:.1f} MB"
            f" (target < 300 MB); db {db_mb:.1f} MB"
        )
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
