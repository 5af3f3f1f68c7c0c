"""Movement rules: a new or lost #1, titles that entered, left or climbed the chart.

Each compares the chart with the one before it, so a baseline chart (no `before`) gives none.
"""

from __future__ import annotations

from bot.diff.step import ChartStep
from bot.events import Event, EventType
from bot.models import Entry


def is_debut(entry: Entry) -> bool:
    """The source counts this as the title's first period in its Top 10 (Netflix's cumulative
    weeks, a daily source's days). A source that does not say gives no debut: a re-entry must
    not be told as one."""
    return entry.weeks_in_top10 == 1 or entry.days_in_top10 == 1


def number_one_changes(step: ChartStep) -> list[Event]:
    """new_number_one for a title that took #1, lost_number_one for the one that held it."""
    before = step.before
    if before is None:
        return []
    events: list[Event] = []
    previous_id = before.number_one_id()
    number_one = step.number_one
    if number_one is not None and number_one.title_id != previous_id:
        held = before.entries.get(number_one.title_id)
        events.append(
            step.entry_event(
                EventType.NEW_NUMBER_ONE,
                number_one,
                rank=1,
                previous_rank=held.rank if held is not None else None,
                debut=held is None and is_debut(number_one),
            )
        )
    if previous_id is not None and (number_one is None or number_one.title_id != previous_id):
        now = step.entries.get(previous_id)
        # Named as this chart names it when it is still in the chart.
        shown = now if now is not None else before.entries[previous_id]
        events.append(
            step.event(
                EventType.LOST_NUMBER_ONE,
                previous_id,
                shown.title,
                shown.season,
                rank=now.rank if now is not None else None,
                previous_rank=1,
            )
        )
    return events


def climbed(step: ChartStep) -> list[Event]:
    """Titles that gained at least `climb_places` places at once (reaching #1 is told apart)."""
    if step.before is None:
        return []
    previous = step.before.entries
    events: list[Event] = []
    for entry in step.chart.entries:
        held = previous.get(entry.title_id)
        if (
            held is not None
            and entry.rank != 1
            and held.rank - entry.rank >= step.config.climb_places
        ):
            events.append(
                step.entry_event(EventType.CLIMBED, entry, rank=entry.rank, previous_rank=held.rank)
            )
    return events


def entered(step: ChartStep) -> list[Event]:
    """Titles not in the chart before; a debut at #1 is told by new_number_one alone."""
    if step.before is None:
        return []
    previous = step.before.entries
    return [
        step.entry_event(EventType.ENTERED, entry, rank=entry.rank, debut=is_debut(entry))
        for entry in step.chart.entries
        if entry.title_id not in previous and entry.rank != 1
    ]


def left(step: ChartStep) -> list[Event]:
    """Titles of the chart before that this one lacks, by title_id (they have no rank now)."""
    if step.before is None:
        return []
    return [
        step.event(EventType.LEFT, title_id, held.title, held.season, previous_rank=held.rank)
        for title_id, held in sorted(step.before.entries.items())
        if title_id not in step.entries
    ]
