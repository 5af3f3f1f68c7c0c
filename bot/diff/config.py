"""The engine's thresholds, and the arithmetic of periods and thresholds its rules share."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise

from bot.models import Granularity


@dataclass(frozen=True, slots=True)
class DiffConfig:
    """Thresholds of the engine. Threshold tuples must be positive and strictly increasing."""

    climb_places: int = 5  # places gained at once to count as `climbed`
    # Streak lengths (in periods) announced by number_one_streak / top10_streak.
    daily_milestones: tuple[int, ...] = (3, 5, 7, 10, 14, 21, 30, 50, 75, 100, 150, 200, 365)
    weekly_milestones: tuple[int, ...] = (2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 26, 52)
    countries_thresholds: tuple[int, ...] = (10, 25, 50, 75)  # regions at #1 to announce
    # Periods in which a record was measured (family: periods folded) before it is announced.
    record_min_periods: int = 8
    # Days of history a chart (family) must have before a record is announced: its first period
    # at least this long before the period that breaks it, so a record is worth the word.
    record_min_history_days: int = 365
    # Cumulative hours per title and chart announced by hours_milestone.
    hours_milestones: tuple[int, ...] = (
        100_000_000,
        250_000_000,
        500_000_000,
        1_000_000_000,
        2_000_000_000,
    )
    max_gap_periods: int = 2  # missing periods bridged before a chart becomes a new baseline

    def __post_init__(self) -> None:
        for name in (
            "daily_milestones",
            "weekly_milestones",
            "countries_thresholds",
            "hours_milestones",
        ):
            values: tuple[int, ...] = getattr(self, name)
            if any(low >= high for low, high in pairwise(values)) or any(v < 1 for v in values):
                raise ValueError(f"DiffConfig.{name} must be positive and strictly increasing")
        if self.record_min_history_days < 0:
            raise ValueError("DiffConfig.record_min_history_days must not be negative")
        if self.max_gap_periods < 0:
            raise ValueError("DiffConfig.max_gap_periods must not be negative")

    @property
    def record_min_history(self) -> timedelta:
        return timedelta(days=self.record_min_history_days)

    def streak_milestones(self, granularity: Granularity) -> tuple[int, ...]:
        return self.weekly_milestones if granularity == "weekly" else self.daily_milestones


def period_step(granularity: Granularity) -> timedelta:
    """The distance between two consecutive periods of a chart."""
    if granularity == "daily":
        return timedelta(days=1)
    if granularity == "weekly":
        return timedelta(days=7)
    # All-time lists are dated snapshots published whenever the source updates them.
    raise ValueError(f"{granularity!r} charts have no regular period step")


def periods_between(first: date, last: date, step: timedelta) -> int:
    """Calendar periods from `first` to `last`, both included; 0 when `last` is before `first`.

    A run's length: missing periods inside a bridged gap count, as the gap rule says.
    """
    if last < first:
        return 0
    return (last - first) // step + 1


def highest_crossed(thresholds: tuple[int, ...], before: int, after: int) -> int | None:
    """The highest threshold t with before < t <= after, if any (thresholds sorted ascending)."""
    at_or_below = bisect_right(thresholds, after)
    if at_or_below and thresholds[at_or_below - 1] > before:
        return thresholds[at_or_below - 1]
    return None
