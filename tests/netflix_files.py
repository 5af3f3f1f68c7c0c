"""Real excerpts of Netflix's files (tests/fixtures/netflix/) and helpers for their tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path

from bot.models import WORLD, Chart, ChartKey

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "netflix"
GLOBAL_CURRENT = "all-weeks-global.tsv"
GLOBAL_7_COLUMNS = "all-weeks-global.2021-11_2023-05-header.tsv"
GLOBAL_STAGGERED = "all-weeks-global.2023-07_2024-11-header.tsv"
GLOBAL_OVERRIDE = "all-weeks-global.2024-11_2025-06-header.tsv"
COUNTRIES = "all-weeks-countries.tsv"
MOST_POPULAR_91 = "most-popular.tsv"
MOST_POPULAR_28 = "most-popular.2022-02-09.tsv"

GLOBAL_CATEGORIES = {"Films (English)", "Films (Non-English)", "TV (English)", "TV (Non-English)"}
SNAPSHOT = date(2026, 7, 21)


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def fixture_lines(name: str) -> list[str]:
    return fixture_text(name).split("\n")


def charts_by_label(charts: Iterable[Chart]) -> dict[str, Chart]:
    return {chart.label(): chart for chart in charts}


def global_key(category: str) -> ChartKey:
    return ChartKey("netflix", "netflix", WORLD, category, "weekly")


def week(text: str) -> date:
    return date.fromisoformat(text)


def find_chart(charts: Iterable[Chart], region: str, category: str, period: str) -> Chart:
    matches = [
        chart
        for chart in charts
        if chart.key.region == region
        and chart.key.category == category
        and chart.period == week(period)
    ]
    assert len(matches) == 1, (region, category, period, len(matches))
    return matches[0]


def line_index(lines: list[str], *fields: str) -> int:
    """Index of the only line whose leading fields are `fields`."""
    prefix = "\t".join(fields) + "\t"
    found = [index for index, line in enumerate(lines) if line.startswith(prefix)]
    assert len(found) == 1, (fields, found)
    return found[0]


def replace_field(line: str, position: int, value: str) -> str:
    fields = line.split("\t")
    fields[position] = value
    return "\t".join(fields)
