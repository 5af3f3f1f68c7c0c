"""A chart's neighbours in history: the previous period (for movement) and the titles that come
back to it. Shared by /top10, the live messages and the chart cards, so all mark the same movement
(bot.chart_movement)."""

from __future__ import annotations

from bot.diff import period_step
from bot.models import Chart
from bot.ports import Storage

# Movement against a chart from long ago would mislead; the diff engine bridges 2 missing periods.
MAX_PREVIOUS_GAP_PERIODS = 3


async def previous_chart(storage: Storage, chart: Chart) -> Chart | None:
    """The chart of the period before (a gap of up to two missing periods bridged); None for
    all-time lists and after a longer gap."""
    granularity = chart.key.granularity
    if granularity not in ("daily", "weekly"):
        return None
    step = period_step(granularity)
    previous = await storage.latest_chart(chart.key, on_or_before=chart.period - step)
    if previous is None or chart.period - previous.period > step * MAX_PREVIOUS_GAP_PERIODS:
        return None
    return previous


async def returning_titles(storage: Storage, chart: Chart, previous: Chart) -> set[str]:
    """Titles new to `chart` since `previous` that were in this chart before `previous`: as the
    source counts (Netflix's cumulative weeks, a daily source's days, even before the stored
    history begins), else as the stored history shows."""
    before = {e.title_id for e in previous.entries}
    returning: set[str] = set()
    unknown: list[str] = []  # new here, and the source does not say whether they were before
    for entry in chart.entries:
        if entry.title_id in before:
            continue
        counted = entry.weeks_in_top10 or entry.days_in_top10
        if counted is not None and counted > 1:
            returning.add(entry.title_id)
        else:
            unknown.append(entry.title_id)
    if unknown:
        # One query for all of them: a title's tallies say when it first held each rank here.
        tallies = await storage.rank_tallies(unknown, chart.key)
        returning.update(t.title_id for t in tallies if t.first < previous.period)
    return returning


async def chart_neighbours(storage: Storage, chart: Chart) -> tuple[Chart | None, set[str]]:
    """What a chart's movement is measured against: the previous chart (or None) and the titles
    returning to it. /top10, the live messages and the chart cards all ask here."""
    previous = await previous_chart(storage, chart)
    returning = await returning_titles(storage, chart, previous) if previous else set()
    return previous, returning
