"""Family rules: how many regions of one chart family have a title at #1, folded per period
into "#1 in N regions" threshold events and the family's most-regions-at-#1 record.

A family is a ChartKey without its region. The record's history is the family's periods: every
period folded has regions at #1 to count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from bot.diff.config import DiffConfig
from bot.diff.order import event_order
from bot.diff.records import challenge
from bot.diff.state import FamilyNotice, FamilyState, RecordMark
from bot.events import Event, EventType, Record
from bot.models import ALL_REGIONS, WORLD, Chart, ChartKey, Entry
from bot.ports import Family

# Qualifier of a countries_at_number_one event fired because a title is #1 in every region.
ALL_REGIONS_QUALIFIER = "all"


def detect_family_events(
    state: FamilyState | None,
    family: Family,
    period: date,
    charts: Sequence[Chart],
    config: DiffConfig,
) -> tuple[list[Event], FamilyState]:
    """Fold every accepted regional chart of one family and period into "#1 in N regions" events.

    May be called again for the same period as more regions arrive: the counts are compared with
    the same previous period, and neither thresholds nor a title's record already announced for
    the period are repeated.
    """
    if state is not None and period < state.period:
        return [], state

    # Regions in code order, so the display title of a title comes from the same region every time.
    number_ones: dict[str, Entry | None] = {}
    for chart in sorted(charts, key=lambda c: c.key.region):
        if chart.key.region != WORLD:
            number_ones.setdefault(chart.key.region, chart.number_one())
    total_regions = len(number_ones)
    counts: dict[str, int] = {}
    shown: dict[str, Entry] = {}
    for entry in number_ones.values():
        if entry is not None:
            counts[entry.title_id] = counts.get(entry.title_id, 0) + 1
            shown.setdefault(entry.title_id, entry)

    if state is None:
        previous_counts: Mapping[str, int] | None = None
        periods_seen = 1
        announced: dict[str, FamilyNotice] = {}
        record = None
    elif period > state.period:
        previous_counts = state.counts
        periods_seen = state.periods_seen + 1
        announced = {}
        record = state.record
    else:
        previous_counts = state.previous_counts
        periods_seen = state.periods_seen
        announced = dict(state.announced)
        record = state.record

    source, service, category, granularity = family
    key = ChartKey(source, service, ALL_REGIONS, category, granularity)

    def family_event(entry: Entry, **details: Any) -> Event:
        return Event(
            chart=key,
            period=period,
            title_id=entry.title_id,
            title=entry.title,
            season=entry.season,
            rank=1,
            value=counts[entry.title_id],
            unit="regions",
            total_regions=total_regions,
            **details,
        )

    events: list[Event] = []
    if previous_counts is not None:
        for title_id, count in counts.items():
            notice = announced.get(title_id, FamilyNotice(0, False))
            crossed = _threshold_crossed(
                previous_counts.get(title_id, 0), count, total_regions, notice, config
            )
            if crossed is None:
                continue
            reached, is_all, qualifier = crossed
            announced[title_id] = FamilyNotice(reached, notice.all_regions or is_all, notice.record)
            events.append(
                family_event(
                    shown[title_id],
                    type=EventType.COUNTRIES_AT_NUMBER_ONE,
                    qualifier=qualifier,
                )
            )

    if counts:
        leader_id = min(counts, key=lambda title_id: (-counts[title_id], title_id))
        leader = shown[leader_id]
        mark = RecordMark(leader_id, leader.title, leader.season, counts[leader_id], period)
        records = {Record.MOST_REGIONS_AT_NUMBER_ONE: record} if record is not None else {}
        first_period = state.first_period if state is not None else period
        announce = (
            previous_counts is not None
            and periods_seen >= config.record_min_periods
            and period - first_period >= config.record_min_history
        )
        passed = challenge(records, Record.MOST_REGIONS_AT_NUMBER_ONE, mark, announce)
        record = records[Record.MOST_REGIONS_AT_NUMBER_ONE]
        notice = announced.get(leader_id, FamilyNotice(0, False))
        if passed is not None and not notice.record:
            announced[leader_id] = notice._replace(record=True)
            events.append(
                family_event(
                    leader,
                    type=EventType.RECORD_BROKEN,
                    record=Record.MOST_REGIONS_AT_NUMBER_ONE,
                    previous=passed,
                    qualifier=Record.MOST_REGIONS_AT_NUMBER_ONE.value,
                    since=first_period,
                )
            )

    events.sort(key=event_order)
    new_state = FamilyState(
        period=period,
        periods_seen=periods_seen,
        previous_counts=previous_counts,
        counts=counts,
        announced=announced,
        record=record,
        first_period=state.first_period if state is not None else period,
    )
    return events, new_state


def _threshold_crossed(
    before: int, count: int, total_regions: int, notice: FamilyNotice, config: DiffConfig
) -> tuple[int, bool, str] | None:
    """The best threshold a title's count of regions at #1 crossed and was not yet announced:
    (value, whether it is "every region", qualifier); "every region" wins a tie."""
    candidates = [
        (threshold, False, str(threshold))
        for threshold in config.countries_thresholds
        if before < threshold <= count and threshold > notice.highest
    ]
    # "#1 in every region" only counts where there are as many regions as the lowest threshold.
    enough_regions = bool(config.countries_thresholds) and total_regions >= min(
        config.countries_thresholds
    )
    if (
        enough_regions
        and count == total_regions
        and before < total_regions
        and total_regions > notice.highest
        and not notice.all_regions
    ):
        candidates.append((total_regions, True, ALL_REGIONS_QUALIFIER))
    return max(candidates) if candidates else None
