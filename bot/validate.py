"""The gate between fetching and diffing: a chart is diffed only if it passes here.

Pure functions: a rejected chart is stored with the reason returned here and produces no events
(so "left the Top 10" can only ever come from a complete, accepted chart).

Two levels:
- `validate_chart` judges one chart on its own (and against the chart before it): the parser's
  `parse_error`, the period asked for, ranks exactly 1..N, titles present, distinct and not
  numbers standing in for titles, no control characters or U+FFFD in them, a stale copy of the
  previous period, and cumulative week counts that did not move as the weeks since it allow.
- `validate_batch` looks at all charts of one fetch together, for signals that only make sense
  in combination with churn.

Churn is never a reason on its own. Real charts change a lot: in Netflix's per-country file
(weeks ending 2021-07-04 … 2022-02-27) 9 or 10 of 10 titles changed from one week to the next in
34 charts, all 10 in one (Ireland, Films, 2021-07-25); in the global file 6+ new titles happen in
~18% of weeks. Identical lists in two countries are real too (Guadeloupe and Martinique in three
weeks, Ecuador and Peru for Films on 2021-11-28, El Salvador and Nicaragua for TV on 2022-02-20) —
but never together with a complete change. A real chart rejected is a lost alert, so churn only
counts alongside another signal: the list equals another region's list, or every chart of the
fetch changed at once.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date

from bot.models import Chart, ChartKey, Entry

# Fewer charts than this cannot show that "everything changed" is the fetch's fault.
MIN_CHARTS_FOR_FETCH_CHURN = 5
# A title made only of digits ("1.0", "2", "3,0"). Real titles can be numbers ("180" was a Dutch
# #2 in April 2026, "1917", "1922"), so only a chart where most titles are numbers is suspicious.
_NUMBER_TITLE = re.compile(r"\d+(?:[.,]\d+)?")
# C0 and C1 control characters and DEL never belong in a title (a TSV row carries its tabs
# between fields, never inside one); U+FFFD is what a decoder leaves for bytes it could not read.
_BAD_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f\ufffd]")


def _ranks_reason(chart: Chart) -> str | None:
    ranks = [entry.rank for entry in chart.entries]
    expected_ranks = list(range(1, chart.expected_size + 1))
    if ranks == expected_ranks:
        return None
    expected = f"expected ranks 1..{chart.expected_size}"
    seen: set[int] = set()
    for rank in ranks:
        if rank in seen:
            return f"duplicate rank {rank}"
        seen.add(rank)
    if chart.rows != chart.expected_size:
        noun = "row" if chart.rows == 1 else "rows"
        return f"{chart.rows} {noun}, {expected}"
    outside = sorted(rank for rank in seen if not 1 <= rank <= chart.expected_size)
    if outside:
        missing = min(set(expected_ranks) - seen)
        return f"rank {outside[0]} instead of {missing}, {expected}"
    return None


def _ranks_text(ranks: list[int]) -> str:
    if len(ranks) == 2:
        return f"{ranks[0]} and {ranks[1]}"
    return ", ".join(str(rank) for rank in ranks[:-1]) + f" and {ranks[-1]}"


def _titles_reason(entries: Sequence[Entry]) -> str | None:
    titles = [entry.title.strip() for entry in entries]
    if "" in titles:
        return f"empty title at rank {entries[titles.index('')].rank}"
    for entry in entries:
        for text in (entry.title, entry.season or ""):
            bad = _BAD_CHARACTER.search(text)
            if bad is not None:
                what = (
                    "U+FFFD (a byte that was not text)"
                    if bad.group() == "\ufffd"
                    else (f"control character U+{ord(bad.group()):04X}")
                )
                return f"{what} in the title at rank {entry.rank}"
    numeric = [match for match in map(_NUMBER_TITLE.fullmatch, titles) if match]
    if len(numeric) * 2 > len(entries):
        matches = ", ".join(match.group() for match in numeric[:2])
        return f"titles look like ranks ({matches}, …)"
    ranks_by_id: dict[str, list[int]] = defaultdict(list)
    for entry in entries:
        ranks_by_id[entry.title_id].append(entry.rank)
    for entry in entries:
        ranks = ranks_by_id[entry.title_id]
        if len(ranks) > 1:
            return f"duplicate title {entry.title!r} at ranks {_ranks_text(sorted(ranks))}"
    return None


def _carries_counters(chart: Chart) -> bool:
    """Whether entries carry numbers that must move from one period to the next."""
    return any(
        value is not None
        for entry in chart.entries
        for value in (
            entry.points,
            entry.days_in_top10,
            entry.weeks_in_top10,
            entry.hours,
            entry.views,
        )
    )


def validate_chart(
    chart: Chart, previous: Chart | None = None, *, expected_period: date | None = None
) -> str | None:
    """None when the chart may be diffed, else the reason it is rejected.

    `previous` is the accepted chart of the same key just before this one (for a backfill: the
    one before the imported period, not the newest stored). It is used to spot a stale copy: the
    very same rows, counters included, under a later period. Same titles in the same order are
    not enough (the-numbers' US list repeats itself on 23 of 710 days) — but days and weeks in the
    Top 10, points and hours always move, so identical counters mean the source served the old
    page again. Charts without counters are never judged this way.
    """
    if previous is not None and previous.key != chart.key:
        raise ValueError(f"previous chart {previous.label()} is not of {chart.key}")
    if chart.parse_error:
        return chart.parse_error
    if expected_period is not None and chart.period != expected_period:
        return f"period {chart.period.isoformat()}, expected {expected_period.isoformat()}"
    reason = _ranks_reason(chart) or _titles_reason(chart.entries)
    if reason:
        return reason
    if previous is None or previous.period >= chart.period:
        return None
    if _carries_counters(chart) and previous.entries == chart.entries:
        return f"same rows and counts as {previous.period.isoformat()} (stale copy)"
    return _weeks_counter_reason(chart, previous)


def _weeks_counter_reason(chart: Chart, previous: Chart) -> str | None:
    """Netflix's weeks in the Top 10 are cumulative: a title of the previous chart that is still
    there gained one week per week elapsed, at most. In the real global and per-country files
    every one of the 44,026 such pairs one week apart gained exactly one. Fewer (or none) means
    an older period under a new date; more means another chart's counts (another country's list)."""
    elapsed = (chart.period - previous.period).days // 7 if chart.key.granularity == "weekly" else 0
    before = {entry.title_id: entry.weeks_in_top10 for entry in previous.entries}
    for entry in sorted(chart.entries, key=lambda e: e.rank):
        weeks_before = before.get(entry.title_id)
        if weeks_before is None or entry.weeks_in_top10 is None:
            continue
        change = (
            f"weeks in the Top 10 of {entry.title!r} went from {weeks_before} on"
            f" {previous.period.isoformat()} to {entry.weeks_in_top10}"
        )
        if entry.weeks_in_top10 <= weeks_before:
            return f"{change} (an old period relabelled?)"
        if elapsed and entry.weeks_in_top10 - weeks_before > elapsed:
            return f"{change} (another chart's counts?)"
    return None


def _title_ids(chart: Chart) -> tuple[str, ...]:
    """The chart's title_ids in rank order."""
    return tuple(entry.title_id for entry in sorted(chart.entries, key=lambda e: e.rank))


def _changed_completely(chart: Chart, before: Chart | None) -> bool | None:
    """None when there is nothing to compare with."""
    if before is None or not before.entries or not chart.entries:
        return None
    return {entry.title_id for entry in chart.entries}.isdisjoint(
        entry.title_id for entry in before.entries
    )


def _predecessors(
    charts: Sequence[Chart], previous: Mapping[ChartKey, Chart]
) -> dict[int, Chart | None]:
    """For each chart, the chart before it: the batch's own earlier period of the same key when
    the batch spans several periods (a history import), else the stored previous chart."""
    by_key: dict[ChartKey, list[int]] = defaultdict(list)
    for index, chart in enumerate(charts):
        by_key[chart.key].append(index)
    before: dict[int, Chart | None] = {}
    for key, indexes in by_key.items():
        last: Chart | None = previous.get(key)
        if len(indexes) > 1:  # a history import; a live fetch has one period
            indexes.sort(key=lambda i: charts[i].period)
        for index in indexes:
            chart = charts[index]
            if last is not None and last.period >= chart.period:
                before[index] = None  # a revision of a stored period: no change to judge
            else:
                before[index] = last
                last = chart
    return before


def _other_name(chart: Chart, other: Chart) -> str:
    if other.key.service == chart.key.service:
        return other.key.region
    if other.key.region == chart.key.region:
        return other.key.service
    return f"{other.key.service}/{other.key.region}"


def _shared(first: Chart, second: Chart) -> int:
    return len({e.title_id for e in first.entries} & {e.title_id for e in second.entries})


def _copied_from_apart(
    charts: Sequence[Chart], indexes: list[int], before: Mapping[int, Chart | None]
) -> dict[int, str]:
    """Of charts with the same list, those that copied it from a region whose list was apart
    from theirs the period before (at most half the titles shared): two markets do not come to
    the same list at once. The copy is the chart that moved furthest from its own previous list.
    """
    reasons: dict[int, str] = {}
    for index in indexes:
        chart, mine = charts[index], before.get(index)
        if mine is None:
            continue
        own = _shared(chart, mine)
        for other in indexes:
            theirs = before.get(other)
            if other == index or theirs is None or charts[other].key == chart.key:
                continue
            apart = _shared(mine, theirs)
            if apart * 2 <= len(chart.entries) and own <= _shared(charts[other], theirs):
                name = _other_name(chart, charts[other])
                reasons[index] = (
                    f"identical to {name}, whose list of {theirs.period.isoformat()} shared only"
                    f" {apart} titles with this one's (copied?)"
                )
                break
    return reasons


def validate_batch(charts: Sequence[Chart], previous: Mapping[ChartKey, Chart]) -> dict[int, str]:
    """Batch-level rejections: index in `charts` → reason. Charts not listed are not rejected by
    the batch (each still goes through `validate_chart`).

    (a) A chart whose ranked titles equal another region's (or service's) chart of the same
        source, category and period, while it changed completely from its previous chart, is a
        copy of the wrong list: "identical to <region> and fully changed".
        A chart with the same list as another region whose previous list was apart from its own
        (at most half the titles shared), while it moved further from its own previous list than
        the other did, is the copy: "identical to <region>, whose list … (copied?)". The real
        identical lists (above) had previous lists sharing 8 to 10 of 10 titles.
    (b) When at least MIN_CHARTS_FOR_FETCH_CHURN charts have a previous chart and every one of
        them changed all its titles at once, the fetch is wrong, not the world: all of them are
        rejected ("every chart of this fetch changed completely").
    """
    before = _predecessors(charts, previous)
    changed = {index: _changed_completely(charts[index], before[index]) for index in before}
    reasons: dict[int, str] = {}

    groups: dict[tuple[object, ...], list[int]] = defaultdict(list)
    for index, chart in enumerate(charts):
        if chart.entries:
            family = (chart.key.source, chart.key.granularity, chart.key.category, chart.period)
            groups[(*family, _title_ids(chart))].append(index)
    for indexes in groups.values():
        if len(indexes) < 2:
            continue  # no other chart has this list (the common case)
        for index in indexes:
            chart = charts[index]
            twins = [charts[i] for i in indexes if charts[i].key != chart.key]
            if twins and changed[index]:
                names = ", ".join(sorted({_other_name(chart, twin) for twin in twins}))
                reasons[index] = f"identical to {names} and fully changed"
        for index, reason in _copied_from_apart(charts, indexes, before).items():
            reasons.setdefault(index, reason)

    compared = [index for index, value in changed.items() if value is not None]
    if len(compared) >= MIN_CHARTS_FOR_FETCH_CHURN and all(changed[i] for i in compared):
        for index in compared:
            reasons.setdefault(index, "every chart of this fetch changed completely")
    return reasons
