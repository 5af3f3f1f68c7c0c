"""Row layouts: how each file kind maps a row to the key of its chart and to an entry.

Columns are looked up by name: the global header changed four times and only the names
survived every change.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from functools import lru_cache
from operator import itemgetter
from typing import Any, Protocol

from bot.models import WORLD, ChartKey, Entry, make_title_id
from bot.sources.netflix.cells import (
    OpenedChart,
    WeeklyKeys,
    is_country_code,
    optional_float,
    optional_int,
    required_int,
    season_of,
    show_title,
)
from bot.sources.netflix.header import (
    COUNTRIES_REQUIRED_COLUMNS,
    GLOBAL_REQUIRED_COLUMNS,
    MOST_POPULAR_REQUIRED_COLUMNS,
    SERVICE,
    SOURCE,
    column_index,
)

WEEKLY_CHART_SIZE = 10
_MOST_POPULAR_HOURS = re.compile(r"hours_viewed_first_(\d+)_days\Z")
# The same (show, season) pair occurs in hundreds of rows; normalising it is the costliest step.
_title_id = lru_cache(maxsize=32_768)(make_title_id)


class RowLayout(Protocol):
    """How one file kind maps a row to a chart key and an entry."""

    n_fields: int
    key_width: int  # a row longer than this has every chart-key field complete
    key_of: Callable[[list[str]], Any]
    expected_size: int | None  # None: as many as the chart's rows

    def open_chart(self, raw_key: Any) -> OpenedChart | str: ...

    def entry(self, row: list[str]) -> Entry: ...


def _key_width(key_indices: tuple[int, ...], n_fields: int) -> int:
    # A field is known to be complete when a tab follows it; the last column never has one.
    return min(max(key_indices) + 1, n_fields - 1)


class GlobalLayout:
    def __init__(self, columns: list[str], what: str) -> None:
        index = column_index(columns, GLOBAL_REQUIRED_COLUMNS, what)
        key_indices = (index["week"], index["category"])
        self.n_fields = len(columns)
        self.key_width = _key_width(key_indices, self.n_fields)
        self.key_of: Callable[[list[str]], Any] = itemgetter(*key_indices)
        self.expected_size: int | None = WEEKLY_CHART_SIZE
        self._rank = index["weekly_rank"]
        self._show = index["show_title"]
        self._season = index["season_title"]
        self._hours = index["weekly_hours_viewed"]
        self._weeks = index["cumulative_weeks_in_top_10"]
        # Absent from the 2021-11 → 2023-05 header, blank before the week ending 2023-06-18.
        self._runtime = index.get("runtime")
        self._views = index.get("weekly_views")
        self._keys = WeeklyKeys()

    def open_chart(self, raw_key: tuple[str, str]) -> OpenedChart | str:
        week_text, category = raw_key
        return self._keys.open(WORLD, week_text, category)

    def entry(self, row: list[str]) -> Entry:
        show = show_title(row[self._show])
        season = season_of(row[self._season])
        return Entry(
            rank=required_int(row[self._rank], "rank"),
            title_id=_title_id(show, season),
            title=show,
            season=season,
            weeks_in_top10=optional_int(row[self._weeks], "cumulative_weeks_in_top_10"),
            hours=optional_int(row[self._hours], "weekly_hours_viewed"),
            views=None if self._views is None else optional_int(row[self._views], "weekly_views"),
            runtime=None
            if self._runtime is None
            else optional_float(row[self._runtime], "runtime"),
        )


class CountriesLayout:
    def __init__(self, columns: list[str], what: str) -> None:
        index = column_index(columns, COUNTRIES_REQUIRED_COLUMNS, what)
        self.key_indices = (index["country_iso2"], index["week"], index["category"])
        # What pass 1 of `iter_countries_file_by_period` cuts the file on: (country, week).
        self.block_indices = (index["country_iso2"], index["week"])
        self.n_fields = len(columns)
        self.key_width = _key_width(self.key_indices, self.n_fields)
        self.key_of: Callable[[list[str]], Any] = itemgetter(*self.key_indices)
        self.expected_size: int | None = WEEKLY_CHART_SIZE
        entry_indices = (
            index["weekly_rank"],
            index["show_title"],
            index["season_title"],
            index["cumulative_weeks_in_top_10"],
        )
        self._entry_fields = itemgetter(*entry_indices)
        self._keys = WeeklyKeys()

    def open_chart(self, raw_key: tuple[str, str, str]) -> OpenedChart | str:
        country, week_text, category = raw_key
        if not is_country_code(country):
            return f"country_iso2 {country!r} is not a country code"
        return self._keys.open(country, week_text, category)

    def entry(self, row: list[str]) -> Entry:
        return _country_entry(*self._entry_fields(row))


class MostPopularLayout:
    def __init__(self, columns: list[str], snapshot: date, what: str) -> None:
        matches = [_MOST_POPULAR_HOURS.match(name) for name in columns]
        days = next((match.group(1) for match in matches if match), "<N>")
        hours_column = f"hours_viewed_first_{days}_days"
        index = column_index(columns, (*MOST_POPULAR_REQUIRED_COLUMNS, hours_column), what)
        key_indices = (index["category"],)
        self.n_fields = len(columns)
        self.key_width = _key_width(key_indices, self.n_fields)
        self.key_of: Callable[[list[str]], Any] = itemgetter(*key_indices)
        # All-time lists are a Top 10 per category in every published version; the list is as
        # long as Netflix made it, so the chart expects what the file holds.
        self.expected_size: int | None = None
        self._snapshot = snapshot
        self._days = days
        self._rank = index["rank"]
        self._show = index["show_title"]
        self._season = index["season_title"]
        self._hours = index[hours_column]
        self._hours_column = hours_column
        self._views_column = f"views_first_{days}_days"
        self._views = index.get(self._views_column)
        self._runtime = index.get("runtime")

    def open_chart(self, raw_key: str) -> OpenedChart | str:
        if not raw_key or raw_key.isspace():
            return "blank category"
        category = f"{raw_key} · first {self._days} days"
        return ChartKey(SOURCE, SERVICE, WORLD, category, "alltime"), self._snapshot, None

    def entry(self, row: list[str]) -> Entry:
        show = show_title(row[self._show])
        season = season_of(row[self._season])
        views = None if self._views is None else row[self._views]
        return Entry(
            rank=required_int(row[self._rank], "rank"),
            title_id=_title_id(show, season),
            title=show,
            season=season,
            hours=optional_int(row[self._hours], self._hours_column),
            views=None if views is None else optional_int(views, self._views_column),
            runtime=None
            if self._runtime is None
            else optional_float(row[self._runtime], "runtime"),
        )


# A per-country row's entry repeats across countries and weeks (same title, rank and week count):
# built once and shared (the live file's ~490k rows hold ~22k distinct entries).
@lru_cache(maxsize=32_768)
def _country_entry(rank_text: str, show_text: str, season_text: str, weeks_text: str) -> Entry:
    show = show_title(show_text)
    season = season_of(season_text)
    return Entry(
        rank=required_int(rank_text, "rank"),
        title_id=_title_id(show, season),
        title=show,
        season=season,
        weeks_in_top10=optional_int(weeks_text, "cumulative_weeks_in_top_10"),
    )
