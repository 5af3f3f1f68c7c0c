"""Hours milestones: each title's hours summed over every chart of its key, announced at the
thresholds of `hours_milestones` (never on the key's first chart, which sets the totals)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from bot.diff.config import highest_crossed
from bot.diff.step import ChartStep
from bot.events import Event, EventType


class HoursAfter(NamedTuple):
    events: list[Event]
    cumulative_hours: Mapping[str, int]  # as the next state holds them


def hours_milestones(step: ChartStep) -> HoursAfter:
    state = step.state
    totals_before: Mapping[str, int] = state.cumulative_hours if state is not None else {}
    if all(entry.hours is None for entry in step.chart.entries):
        # States never change once built: a chart without hours shares its predecessor's
        # totals instead of copying a map of every title the key ever charted.
        return HoursAfter([], totals_before)
    totals = dict(totals_before)
    events: list[Event] = []
    for entry in step.chart.entries:
        if entry.hours is None:
            continue
        hours_before = totals.get(entry.title_id, 0)
        hours_after = totals[entry.title_id] = hours_before + entry.hours
        reached = highest_crossed(step.config.hours_milestones, hours_before, hours_after)
        if state is not None and reached is not None:
            events.append(
                step.entry_event(
                    EventType.HOURS_MILESTONE,
                    entry,
                    rank=entry.rank,
                    value=hours_after,
                    unit="hours",
                    qualifier=str(reached),
                )
            )
    return HoursAfter(events, totals)
