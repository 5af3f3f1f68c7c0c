"""Import benchmark: peak RSS of `top10bot import` over a canonical CSV of N rows.

Generates a canonical CSV of about N rows of daily Top 10 charts (90 countries × 3 services × 2
categories = 540 charts, 5,400 rows a day; titles rise, hold and fade day by day, each country
ranking them a little differently), then runs `top10bot import --db <file on disk>` on it in a
child process and reads the child's own peak RSS (os.wait4). The last line holds the figures as
one JSON object.

    .venv/bin/python bench/import_rss.py --rows 1000000 [--order date|chart] [--repo PATH]

--order date (the default) writes the rows day by day, as an export does; --order chart writes
each chart's whole history before the next chart's, so the importer has to sort the file by date
(on disk) first. --repo runs the import of another checkout (e.g. main) with this interpreter.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent

# 90 ISO 3166-1 alpha-2 codes: roughly the countries the chart sites follow.
_COUNTRY_CODES = """
AE AR AT AU BE BG BH BO BR BS CA CH CL CO CR CY CZ DE DK DO EC EE EG ES FI FR GB GR GT HK HN HR
HU ID IE IL IN IS IT JM JO JP KE KR KW LB LT LU LV MA MT MU MX MY NG NI NL NO NZ OM PA PE PH PK
PL PT PY QA RO RS SA SE SG SI SK SV TH TR TT TW UA US UY VE VN ZA NP LK KZ BD
"""
COUNTRIES = tuple(_COUNTRY_CODES.split())
SERVICES = ("netflix", "disney", "amazon-prime")
CATEGORIES = ("TV Shows", "Movies")
_TITLE_WORDS = """
Silent Harbor Crimson Empire Last Summer Midnight Garden Broken Crown Hidden River Golden Winter
Shadow Queen Lost City Wild Hearts Iron Night Paper Moon Glass House Secret Doctor
"""
WORDS = tuple(_TITLE_WORDS.split())
ROWS_PER_DAY = len(COUNTRIES) * len(SERVICES) * len(CATEGORIES) * 10
FIRST_DAY = date(2021, 1, 1)


@dataclass(slots=True)
class Title:
    name: str
    score: float


class Charts:
    """One (service, category)'s titles, evolving day by day; each country ranks them with its
    own fixed taste, so countries mostly agree and sometimes differ."""

    def __init__(self, service: str, category: str, rng: random.Random) -> None:
        self._rng = rng
        self._label = f"{service[:1].upper()}{category[:1]}"
        self._next = 0
        self.titles = [self._new_title() for _ in range(25)]

    def _new_title(self) -> Title:
        self._next += 1
        words = self._rng.sample(WORDS, 2)
        return Title(
            f"{words[0]} {words[1]} {self._label}{self._next}", self._rng.uniform(0.3, 1.5)
        )

    def next_day(self) -> None:
        for title in self.titles:
            title.score *= self._rng.uniform(0.88, 1.02)
        self.titles = [title for title in self.titles if title.score > 0.05]
        while len(self.titles) < 25 or self._rng.random() < 0.3:
            self.titles.append(self._new_title())

    def top10(self, country: int) -> list[tuple[str, int]]:
        """(title, points) of one country's chart: points follow the day's scores, so no two
        days' charts are the same list with the same counts."""

        def taste(index: int, title: Title) -> float:
            return title.score * (1 + ((country * 7919 + index * 104729) % 97) / 200)

        ranked = sorted((taste(i, title), title.name) for i, title in enumerate(self.titles))
        return [(name, round(score * 10_000)) for score, name in reversed(ranked[-10:])]


def day_rows(days: int, seed: int = 19) -> Iterator[tuple[date, list[list[str]]]]:
    rng = random.Random(seed)
    charts = {(s, c): Charts(s, c, rng) for s in SERVICES for c in CATEGORIES}
    for offset in range(days):
        day = FIRST_DAY + timedelta(days=offset)
        rows: list[list[str]] = []
        for (service, category), chart in charts.items():
            chart.next_day()
            for index, country in enumerate(COUNTRIES):
                for rank, (name, points) in enumerate(chart.top10(index), start=1):
                    cells = [day.isoformat(), service, country, category, str(rank), name]
                    rows.append([*cells, str(points)])
        yield day, rows


HEADER = ["date", "service", "region", "category", "rank", "title", "points"]


def write_csv(path: Path, rows_wanted: int, order: str) -> int:
    days = max(1, round(rows_wanted / ROWS_PER_DAY))
    written = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        if order == "date":
            for _, rows in day_rows(days):
                writer.writerows(rows)
                written += len(rows)
            return written
        # --order chart: each chart's rows, all days, before the next chart's. Built through
        # one temporary file per service to keep this process small.
        with tempfile.TemporaryDirectory(prefix="top10bot-bench-sort-") as tmp:
            with contextlib.ExitStack() as stack:
                parts = {
                    s: csv.writer(
                        stack.enter_context((Path(tmp) / s).open("w", newline="")),
                        lineterminator="\n",
                    )
                    for s in SERVICES
                }
                for _, rows in day_rows(days):
                    for row in rows:
                        parts[row[1]].writerow(row)
            for service in SERVICES:
                with (Path(tmp) / service).open(encoding="utf-8", newline="") as part:
                    by_chart: dict[tuple[str, str], list[list[str]]] = {}
                    for row in csv.reader(part):
                        by_chart.setdefault((row[2], row[3]), []).append(row)
                for chart_rows in by_chart.values():
                    writer.writerows(chart_rows)
                    written += len(chart_rows)
                del by_chart
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--order", choices=("date", "chart"), default="date")
    parser.add_argument("--repo", type=Path, default=HERE.parent, help="checkout to import with")
    parser.add_argument("--keep", type=Path, help="keep the generated CSV at this path")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="top10bot-bench-") as tmp:
        workdir = Path(tmp)
        csv_path = args.keep or workdir / "history.csv"
        started = time.perf_counter()
        if not (args.keep and csv_path.exists()):
            write_csv(csv_path, args.rows, args.order)
        with csv_path.open("rb") as handle:
            rows = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")) - 1
        print(
            f"csv: {rows:,} rows, {csv_path.stat().st_size / 1e6:.0f} MB, written in"
            f" {time.perf_counter() - started:.1f} s"
        )
        db = workdir / "import.db"
        repo = args.repo.resolve()
        env = {**os.environ, "PYTHONPATH": str(repo)}
        cli = [sys.executable, "-m", "bot", "import", str(csv_path), "--db", str(db)]
        start = time.perf_counter()
        child = subprocess.Popen(cli, cwd=repo, env=env, stdout=subprocess.PIPE)
        assert child.stdout is not None
        summary = child.stdout.read().decode().strip()
        # wait4 gives this child's own peak RSS (getrusage(RUSAGE_CHILDREN) is the maximum over
        # every child so far).
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        print(summary)
        if code not in (0, 1):
            sys.stderr.write(f"import failed with exit code {code}\n")
            return 1
        figures = {
            "rows": rows,
            "order": args.order,
            "csv_mb": round(csv_path.stat().st_size / 1e6, 1),
            "import_s": round(seconds, 1),
            "rows_per_s": round(rows / seconds),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "db_mb": round(sum(p.stat().st_size for p in workdir.glob("import.db*")) / 1e6, 1),
            "exit_code": code,
            "repo": str(repo),
        }
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
