"""The gate against a source's own history: a new period that is really another chart.

A file such as Netflix's `all-weeks-*.tsv` holds every week since 2021, read oldest first. While
it is read, `ChartHistory` remembers each chart's ranked titles; each chart of a new period is then
judged against everything before it. A chart is rejected when

- its titles, in the same order, are those of another chart already seen: an older period of the
  same key ("an old week relabelled"), or a chart of another category or region (a copied list).
  The period just before is not judged here: the same order two periods running is rare but real
  (the-numbers repeats itself on 23 of 710 days), and `validate_chart` already rejects an exact
  copy of it (counters that did not move);
- at least SHARED_TITLES of its titles charted in another category of the same region over the
  last few periods (series where films belong: categories swapped). A week of real churn keeps
  only 4 of 10 titles of the week before at times, so half would miss a swap.

Neither happens in real data: in Netflix's files (global 2021-06-27 … 2026-07-19, per-country
2021-07-04 … 2022-02-27) no chart shared more than one title with another category's last four
charts, and no chart repeated the ranked list of another chart except the one just before it or
another region's of the same period (Guadeloupe and Martinique; `validate_batch` judges those).

The only checks here are equalities and overlaps with real charts, never churn: a real 10/10 change
passes. Pure: the caller feeds charts in period order (`observe`) and asks about new ones (`judge`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Final

from bot.models import Chart, ChartKey

# How many recent periods of the other categories a chart's titles are compared with.
RECENT_PERIODS: Final = 4
# Titles shared with another category's recent charts that make a chart that category's list:
# real charts share at most one (measured on the files named above), a swapped one most of them.
SHARED_TITLES: Final = 3

_Region = tuple[str, str, str, str]  # (source, service, region, granularity)


def ranked_titles(chart: Chart) -> tuple[str, ...]:
    return tuple(entry.title_id for entry in sorted(chart.entries, key=lambda e: e.rank))


def _region_of(key: ChartKey) -> _Region:
    return (key.source, key.service, key.region, key.granularity)


class ChartHistory:
    """The charts of one source seen so far, as much of them as the rules need."""

    def __init__(self) -> None:
        self._lists: dict[tuple[str, ...], list[tuple[ChartKey, date]]] = defaultdict(list)
        self._last_period: dict[ChartKey, date] = {}
        # Per region and category: the titles of its newest RECENT_PERIODS periods.
        self._recent: dict[_Region, dict[str, dict[date, frozenset[str]]]] = defaultdict(dict)
        self._seen: set[tuple[ChartKey, date]] = set()

    def observe(self, chart: Chart) -> None:
        """Remember a chart; a period of a key already seen keeps its first chart (the stored
        one, when the caller feeds what is stored first)."""
        if not chart.entries or (chart.key, chart.period) in self._seen:
            return
        self._seen.add((chart.key, chart.period))
        self._lists[ranked_titles(chart)].append((chart.key, chart.period))
        self._last_period[chart.key] = max(
            chart.period, self._last_period.get(chart.key, chart.period)
        )
        periods = self._recent[_region_of(chart.key)].setdefault(chart.key.category, {})
        periods[chart.period] = frozenset(entry.title_id for entry in chart.entries)
        if len(periods) > RECENT_PERIODS:
            del periods[min(periods)]

    def judge(self, chart: Chart) -> str | None:
        """Why a chart of a new period is another chart in disguise, or None."""
        if not chart.entries:
            return None
        return self._copy_reason(chart) or self._other_category_reason(chart)

    def _copy_reason(self, chart: Chart) -> str | None:
        just_before = self._last_period.get(chart.key)
        for key, period in self._lists.get(ranked_titles(chart), ()):
            if key == chart.key:
                if period < chart.period and period != just_before:
                    return (
                        f"same titles in the same order as {period.isoformat()}"
                        " (an old period relabelled)"
                    )
            elif key.region == chart.key.region or period != chart.period:
                return (
                    f"same titles in the same order as {key.region} {key.category}"
                    f" {period.isoformat()} (another chart copied)"
                )
        return None

    def _other_category_reason(self, chart: Chart) -> str | None:
        titles = {entry.title_id for entry in chart.entries}
        by_category = self._recent.get(_region_of(chart.key), {})
        for category in sorted(by_category):
            if category == chart.key.category:
                continue
            seen: set[str] = set()
            for period_titles in by_category[category].values():
                seen |= period_titles
            shared = len(titles & seen)
            if shared >= SHARED_TITLES:
                return (
                    f"{shared} of {len(titles)} titles charted in {category} in its last"
                    " periods (categories swapped?)"
                )
        return None


def _title_set(chart: Chart) -> set[str]:
    return {entry.title_id for entry in chart.entries}


def closer_to_another_category(
    chart: Chart, own: Chart | None, others: Iterable[Chart]
) -> str | None:
    """Why a chart is another category's list under its heading, or None.

    For sources whose categories may share titles (FlixPatrol's Movies and Kids Movies, or an
    Overall list): a chart is refused only when it shares SHARED_TITLES or more titles with the
    newest stored list of another category of its region, and more than with its own newest list.
    A real list resembles its own yesterday more than any other list does.
    """
    if own is None or not chart.entries:
        return None
    titles = _title_set(chart)
    kept = len(titles & _title_set(own))
    for other in others:
        shared = len(titles & _title_set(other))
        if shared >= SHARED_TITLES and shared > kept:
            return (
                f"{shared} of {len(titles)} titles are from the {other.key.category} list of"
                f" {other.period.isoformat()}, only {kept} from its own (categories swapped?)"
            )
    return None
