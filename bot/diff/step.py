"""One periodic chart being folded, with what the per-rule functions compare it with."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bot.diff.config import DiffConfig, periods_between
from bot.diff.state import ChartState, HeldEntry
from bot.events import Event, EventType
from bot.models import Chart, Entry


@dataclass(frozen=True, slots=True)
class ChartStep:
    """A periodic chart and what its rules compare it with; each rule is a function of this."""

    chart: Chart
    config: DiffConfig
    # The key's state before this chart: None for its first chart. Records and hours go on
    # from it whatever the gap.
    state: ChartState | None
    # The chart "before" this one for movement and streaks: None for a baseline (the first
    # chart, or one after a gap longer than max_gap_periods), which gives no such events.
    before: ChartState | None
    entries: Mapping[str, HeldEntry]  # this chart's titles, as the next state holds them
    number_one: Entry | None
    step: timedelta  # between two consecutive periods
    unit: str  # of streak lengths: "days" or "weeks"

    @property
    def period(self) -> date:
        return self.chart.period

    def periods_since(self, first: date, last: date | None = None) -> int:
        """Periods from `first` to `last` (default: this chart's), both included."""
        return periods_between(first, self.period if last is None else last, self.step)

    def event(
        self, event_type: EventType, title_id: str, title: str, season: str | None, **details: Any
    ) -> Event:
        return Event(event_type, self.chart.key, self.period, title_id, title, season, **details)

    def entry_event(self, event_type: EventType, entry: Entry, **details: Any) -> Event:
        return self.event(event_type, entry.title_id, entry.title, entry.season, **details)
