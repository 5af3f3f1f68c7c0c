"""One chart folded into the state of its key: the rules in order, and the next state."""

from __future__ import annotations

from bot.diff import hours, movement, records, streaks
from bot.diff.config import DiffConfig, period_step
from bot.diff.order import event_order
from bot.diff.state import ChartState, HeldEntry
from bot.diff.step import ChartStep
from bot.events import Event, EventType
from bot.models import Chart


def detect_chart_events(
    state: ChartState | None, chart: Chart, config: DiffConfig
) -> tuple[list[Event], ChartState]:
    """Fold one accepted chart into the state of its key: the events it causes and the new state."""
    if state is not None and chart.period <= state.last_period:
        return [], state
    if chart.key.granularity == "alltime":
        return _fold_all_time(state, chart)
    return _fold_periodic(state, chart, config)


def _fold_periodic(
    state: ChartState | None, chart: Chart, config: DiffConfig
) -> tuple[list[Event], ChartState]:
    period = chart.period
    step_length = period_step(chart.key.granularity)
    before: ChartState | None = None
    if state is not None:
        missing = (period - state.last_period) // step_length - 1
        if missing <= config.max_gap_periods:
            before = state
    previous = before.entries if before is not None else {}
    entries: dict[str, HeldEntry] = {}
    for entry in chart.entries:
        held = previous.get(entry.title_id)
        since = held.since if held is not None else period
        entries[entry.title_id] = HeldEntry(entry.rank, entry.title, entry.season, since)
    step = ChartStep(
        chart=chart,
        config=config,
        state=state,
        before=before,
        entries=entries,
        number_one=chart.number_one(),
        step=step_length,
        unit="weeks" if chart.key.granularity == "weekly" else "days",
    )

    number_one_since = streaks.number_one_since(step)
    records_after = records.chart_records(step, number_one_since)
    hours_after = hours.hours_milestones(step)
    events = [
        *movement.number_one_changes(step),
        *movement.climbed(step),
        *movement.entered(step),
        *movement.left(step),
        *streaks.streaks(step, number_one_since),
        *records_after.events,
        *hours_after.events,
    ]
    events.sort(key=event_order)  # stable: already in order when ranks are
    new_state = ChartState(
        last_period=period,
        periods_seen=state.periods_seen + 1 if state is not None else 1,
        entries=entries,
        number_one_since=number_one_since,
        records=records_after.records,
        record_periods=records_after.record_periods,
        cumulative_hours=hours_after.cumulative_hours,
        first_period=state.first_period if state is not None else period,
    )
    return events, new_state


def _fold_all_time(state: ChartState | None, chart: Chart) -> tuple[list[Event], ChartState]:
    """All-time lists only say which titles joined the list or moved up in it."""
    period = chart.period
    previous = state.entries if state is not None else {}
    events: list[Event] = []
    entries: dict[str, HeldEntry] = {}
    for entry in chart.entries:
        held = previous.get(entry.title_id)
        since = held.since if held is not None else period
        entries[entry.title_id] = HeldEntry(entry.rank, entry.title, entry.season, since)
        if state is None or (held is not None and entry.rank >= held.rank):
            continue
        value: int | None = None
        unit: str | None = None
        if entry.views is not None:
            value, unit = entry.views, "views"
        elif entry.hours is not None:
            value, unit = entry.hours, "hours"
        events.append(
            Event(
                EventType.ALL_TIME_LIST,
                chart.key,
                period,
                entry.title_id,
                entry.title,
                entry.season,
                rank=entry.rank,
                previous_rank=held.rank if held is not None else None,
                value=value,
                unit=unit,
            )
        )
    events.sort(key=event_order)
    new_state = ChartState(
        last_period=period,
        periods_seen=state.periods_seen + 1 if state is not None else 1,
        entries=entries,
        number_one_since=None,
        records={},
        record_periods={},
        cumulative_hours={},
        first_period=state.first_period if state is not None else period,
    )
    return events, new_state
