"""Charts and folds shared by the diff engine's tests (tests/unit/test_diff_*.py)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta

from bot.diff import (
    ChartState,
    DiffConfig,
    detect_chart_events,
    period_step,
)
from bot.events import Event, EventType
from bot.models import WORLD, Chart, ChartKey, Entry, Granularity

DAILY = ChartKey("flixpatrol", "netflix", "US", "TV Shows", "daily")
WEEKLY = ChartKey("netflix", "netflix", WORLD, "TV (English)", "weekly")
ALLTIME = ChartKey("netflix", "netflix", WORLD, "TV (English)", "alltime")
TEN = tuple("abcdefghij")
DAY_ONE = date(2024, 3, 1)
WEEK_ONE = date(2024, 3, 3)  # a Sunday, as Netflix dates its weeks

E = EventType


def day(n: int) -> date:
    return DAY_ONE + timedelta(days=n - 1)


def week(n: int) -> date:
    return WEEK_ONE + timedelta(weeks=n - 1)


def display(title_id: str) -> str:
    return f"Title {title_id.upper()}"


def make_chart(
    period: date,
    titles: Sequence[str] = TEN,
    *,
    key: ChartKey = DAILY,
    hours: Sequence[int | None] | None = None,
    views: Sequence[int | None] | None = None,
    seasons: dict[str, str] | None = None,
) -> Chart:
    entries = tuple(
        Entry(
            rank=position + 1,
            title_id=title_id,
            title=display(title_id),
            season=(seasons or {}).get(title_id),
            hours=hours[position] if hours is not None else None,
            views=views[position] if views is not None else None,
        )
        for position, title_id in enumerate(titles)
    )
    return Chart(key=key, period=period, entries=entries)


def fold(
    charts: Iterable[Chart], config: DiffConfig | None = None
) -> tuple[list[list[Event]], ChartState | None]:
    """Fold charts in order; return each chart's events and the final state."""
    config = config or DiffConfig()
    state: ChartState | None = None
    per_chart: list[list[Event]] = []
    for chart in charts:
        events, state = detect_chart_events(state, chart, config)
        per_chart.append(events)
    return per_chart, state


def brief(events: Iterable[Event]) -> list[tuple[str, str, int | None, int | None]]:
    return [(e.type.value, e.title_id, e.rank, e.previous_rank) for e in events]


def of_type(events: Iterable[Event], event_type: EventType) -> list[Event]:
    return [e for e in events if e.type is event_type]


def streak_length(state: ChartState, title_id: str, granularity: Granularity = "daily") -> int:
    held = state.entries[title_id]
    return (state.last_period - held.since) // period_step(granularity) + 1


def run_orders(*runs: tuple[str, int]) -> list[Chart]:
    """Daily charts where each (title, days) in turn sits at #1 for that many days."""
    charts: list[Chart] = []
    for leader, days in runs:
        order = (leader, *[t for t in (*TEN, "k") if t != leader][:9])
        for _ in range(days):
            charts.append(make_chart(day(len(charts) + 1), order))
    return charts
