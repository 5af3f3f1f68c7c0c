"""The cells of a row: numbers, titles, seasons, weeks and country codes, checked and read.

A cell that cannot be read raises RowError: its chart gets the reason, the rest of the file
goes on.
"""

from __future__ import annotations

import math
from datetime import date

from bot.models import ChartKey
from bot.sources.netflix.header import SERVICE, SOURCE

# `season_title` of films (and of a few single-season shows).
NO_SEASON = "N/A"
# Distinct weeks or keys a file may name before the caches of WeeklyKeys are emptied: a real
# file has a few hundred weeks and keys, so only garbage gets there.
_KEY_CACHE_LIMIT = 10_000

# The key and period a row names, with a problem of the whole chart (a week that is no Sunday).
OpenedChart = tuple[ChartKey, date, str | None]


class RowError(Exception):
    """One row cannot be read: its chart gets the reason, the rest of the file goes on."""


def required_int(text: str, column: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise RowError(f"{column} {text!r} is not a number") from None


def optional_int(text: str, column: str) -> int | None:
    return required_int(text, column) if text else None


def optional_float(text: str, column: str) -> float | None:
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise RowError(f"{column} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise RowError(f"{column} {text!r} is not a number")
    return value


def show_title(text: str) -> str:
    if not text or text.isspace():
        raise RowError("blank title")
    return text


def season_of(text: str) -> str | None:
    if not text or text == NO_SEASON or text.isspace():
        return None
    return text


def _parse_week(text: str) -> date | None:
    # date.fromisoformat also takes "20220227" and "2022-W08-7"; the files only use YYYY-MM-DD.
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def is_country_code(text: str) -> bool:
    return len(text) == 2 and text.isascii() and text.isalpha() and text.isupper()


class WeeklyKeys:
    """Opens weekly charts: a file names few distinct weeks and keys, each thousands of times,
    so each is validated and built once."""

    def __init__(self) -> None:
        self._weeks: dict[str, tuple[date, str | None] | str] = {}
        self._keys: dict[tuple[str, str], ChartKey] = {}

    def open(self, region: str, week_text: str, category: str) -> OpenedChart | str:
        """The key and period a row names, with a chart-level problem; or the row's problem."""
        week = self._weeks.get(week_text)
        if week is None:
            if len(self._weeks) >= _KEY_CACHE_LIMIT:  # only garbage has this many weeks
                self._weeks.clear()
            week = self._weeks[week_text] = _check_week(week_text)
        if isinstance(week, str):
            return week
        key = self._keys.get((region, category))
        if key is None:
            if not category or category.isspace():
                return "blank category"
            if len(self._keys) >= _KEY_CACHE_LIMIT:
                self._keys.clear()
            key = self._keys[(region, category)] = ChartKey(
                SOURCE, SERVICE, region, category, "weekly"
            )
        period, problem = week
        return key, period, problem


def _check_week(week_text: str) -> tuple[date, str | None] | str:
    period = _parse_week(week_text)
    if period is None:
        return f"week {week_text!r} is not a date"
    # Every real week is the Sunday ending it; another day would misalign the weekly history.
    problem = None if period.weekday() == 6 else f"week {week_text} is not a Sunday"
    return period, problem
