"""Streak rules: how long a title has been #1 or in the chart, announced at milestones.

A run's length counts calendar periods from its first one to this chart inclusive, so periods
missing inside a bridged gap count too. When the #1 reaches a milestone at #1 and in the chart with
the same length (a title #1 since it entered), only the #1 streak is told: one line, not two.
"""

from __future__ import annotations

from datetime import date

from bot.diff.config import highest_crossed
from bot.diff.step import ChartStep
from bot.events import Event, EventType


def number_one_since(step: ChartStep) -> date | None:
    """The first period of the current #1's unbroken run at #1."""
    number_one = step.number_one
    if number_one is None:
        return None
    before = step.before
    if before is not None and number_one.title_id == before.number_one_id():
        return before.number_one_since or step.period
    return step.period


def number_one_streak(step: ChartStep, since: date | None) -> list[Event]:
    """number_one_streak when the #1's run at #1 reaches a milestone."""
    before = step.before
    number_one = step.number_one
    if before is None or number_one is None or since is None:
        return []
    run_now = step.periods_since(since)
    reached = highest_crossed(
        step.config.streak_milestones(step.chart.key.granularity),
        step.periods_since(since, before.last_period),
        run_now,
    )
    if reached is None:
        return []
    return [
        step.entry_event(
            EventType.NUMBER_ONE_STREAK,
            number_one,
            rank=1,
            value=run_now,
            unit=step.unit,
            qualifier=str(reached),
        )
    ]


def top10_streaks(step: ChartStep) -> list[Event]:
    """top10_streak for every title whose unbroken run in the chart reaches a milestone."""
    before = step.before
    if before is None:
        return []
    milestones = step.config.streak_milestones(step.chart.key.granularity)
    events: list[Event] = []
    for entry in step.chart.entries:
        since = step.entries[entry.title_id].since
        run_now = step.periods_since(since)
        reached = highest_crossed(
            milestones, step.periods_since(since, before.last_period), run_now
        )
        if reached is not None:
            events.append(
                step.entry_event(
                    EventType.TOP10_STREAK,
                    entry,
                    rank=entry.rank,
                    value=run_now,
                    unit=step.unit,
                    qualifier=str(reached),
                )
            )
    return events


def streaks(step: ChartStep, number_one_since: date | None) -> list[Event]:
    """The #1 streak and the Top-10 streaks, without a Top-10 streak that says the same as the
    #1 streak (same title, same length)."""
    at_number_one = number_one_streak(step, number_one_since)
    said = {(event.title_id, event.value) for event in at_number_one}
    in_chart = [e for e in top10_streaks(step) if (e.title_id, e.value) not in said]
    return [*at_number_one, *in_chart]
