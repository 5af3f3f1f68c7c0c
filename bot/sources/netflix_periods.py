"""Which charts of a Netflix weekly file are new, and whether the file continues what is stored.

The weekly files hold every week since 2021, so each poll re-reads the whole history and keeps
what is new. Three rules decide it, each catching a class of broken files rather than one case:

- New is decided per chart (country × category), not per category: a chart is new when its
  period is after the newest stored one of its key and not before the newest stored period of
  its category (a chart missing or rejected in the newest week still comes in when it arrives;
  a gap in an older week stays closed, or a chart that is broken for good would fail every
  poll). A key with nothing stored takes its whole history: a broken first poll never pins it.
- The file must continue the stored history (`continuity_problem`): its newest week is not older
  than the newest stored one (an old file served again), the newest stored week is in it, and
  every region with stored charts has rows (a file cut short at a country boundary). A region
  stored in the newest week but absent from a newer week of the file is refused for that week.
- Each chart of a new period goes through `ChartHistory` (bot/validate_history.py), fed with the
  older periods of the same file: a chart that repeats an old period or another category's list
  is refused. So is a category the file has never had ("TV (Non English)"), and a chart a new
  period holds twice (both copies: which one is right cannot be told).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from itertools import groupby
from operator import attrgetter

from bot.models import Chart, ChartKey
from bot.ports import Storage
from bot.sources.feed import Refused
from bot.validate_history import ChartHistory

# How many names a reason lists before counting the rest.
_NAMES_SHOWN = 5


async def stored_latest(
    history: Storage, source: str, categories: Iterable[str], *, world: bool
) -> dict[ChartKey, Chart]:
    """The newest accepted chart of each weekly key of these categories (WORLD or countries)."""
    wanted = set(categories)
    latest: dict[ChartKey, Chart] = {}
    for key in await history.chart_keys(source):
        if key.granularity != "weekly" or key.category not in wanted:
            continue
        if (key.region == "WORLD") != world:
            continue
        chart = await history.latest_chart(key)
        if chart is not None:
            latest[key] = chart
    return latest


def periods_of(stored: Mapping[ChartKey, Chart]) -> dict[ChartKey, date]:
    return {key: chart.period for key, chart in stored.items()}


def _names(names: Iterable[str]) -> str:
    ordered = sorted(names)
    shown = ", ".join(ordered[:_NAMES_SHOWN])
    more = len(ordered) - _NAMES_SHOWN
    return f"{shown} and {more} more" if more > 0 else shown


def region_of(key: ChartKey) -> str:
    return key.region


def category_of(key: ChartKey) -> str:
    """What tells the global file's charts apart: they all have the region WORLD."""
    return key.category


def continuity_problem(
    stored: Mapping[ChartKey, date],
    regions_by_period: Mapping[date, set[str]],
    name_of: Callable[[ChartKey], str] = region_of,
) -> str | None:
    """Why a whole file does not continue the stored history, or None (also when none is stored).

    `regions_by_period` says which regions (`name_of` a key) have rows in each period of the file.
    """
    if not stored or not regions_by_period:
        return None
    stored_newest = max(stored.values())
    file_newest = max(regions_by_period)
    if file_newest < stored_newest:
        return (
            f"the file's newest week is {file_newest.isoformat()}, older than the stored"
            f" {stored_newest.isoformat()} (an old file served again?)"
        )
    if stored_newest not in regions_by_period:
        return (
            f"the file has no week {stored_newest.isoformat()}, which is stored: it does not"
            " continue the history"
        )
    in_file = set().union(*regions_by_period.values())
    missing = {name_of(key) for key in stored} - in_file
    if missing:
        return f"file cut short: no rows at all for {_names(missing)}, which have stored charts"
    return None


def missing_in_newest(
    stored: Mapping[ChartKey, date],
    regions_by_period: Mapping[date, set[str]],
    name_of: Callable[[ChartKey], str] = region_of,
) -> list[Refused]:
    """Refusals for the keys stored in the newest stored week whose region has no rows in a
    newer week of the file: that chart is missing, not gone from the Top 10."""
    if not stored or not regions_by_period:
        return []
    stored_newest = max(stored.values())
    file_newest = max(regions_by_period)
    if file_newest <= stored_newest:
        return []
    present = regions_by_period[file_newest]
    missing = sorted(
        key
        for key, period in stored.items()
        if period == stored_newest and name_of(key) not in present
    )
    reason = (
        f"missing from the file's week {file_newest.isoformat()}"
        f" (it was in {stored_newest.isoformat()}); taken when the file brings it"
    )
    return [Refused((key,), file_newest, reason) for key in missing]


@dataclass(slots=True)
class NewPeriods:
    """Selects the new charts of one weekly file read oldest period first; what it refused is
    in `refused` once `select` is exhausted."""

    stored: Mapping[ChartKey, Chart]  # the newest stored chart of each key
    categories: tuple[str, ...]
    today: date
    refused: list[Refused] = field(default_factory=list)
    history: ChartHistory = field(default_factory=ChartHistory)
    _category_latest: dict[str, date] = field(default_factory=dict)
    _unknown: dict[ChartKey, date] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # What is stored is the truth the file is judged against: a file that relabels its
        # own history (every week's categories swapped) still meets the stored lists first.
        for key, chart in sorted(self.stored.items(), key=lambda item: item[1].period):
            self.history.observe(chart)
            latest = self._category_latest.get(key.category)
            self._category_latest[key.category] = (
                chart.period if latest is None else max(latest, chart.period)
            )

    def is_new(self, chart: Chart) -> bool:
        stored = self.stored.get(chart.key)
        if stored is None:
            return True
        category_latest = self._category_latest.get(chart.key.category, stored.period)
        return chart.period > stored.period and chart.period >= category_latest

    def select(self, charts: Iterable[Chart]) -> Iterator[Chart]:
        # One period at a time (a week of the per-country file is a few hundred charts): a
        # chart the file holds twice is only known once the period has been read.
        for _, group in groupby(charts, key=attrgetter("period")):
            period_charts = list(group)
            twice = _repeated_keys(period_charts)
            for chart in period_charts:
                if self._admit(chart, twice):
                    yield chart
        known = ", ".join(self.categories)
        for key, period in sorted(self._unknown.items()):
            reason = f"category {key.category!r} is not one this file has ({known})"
            self.refused.append(Refused((key,), period, reason))

    def _admit(self, chart: Chart, twice: dict[ChartKey, str]) -> bool:
        """Whether a chart goes to the gate; if it is new and refused here, why is in `refused`."""
        if chart.key.category not in self.categories:
            self._unknown[chart.key] = max(chart.period, self._unknown.get(chart.key, chart.period))
            return False
        if not self.is_new(chart):
            self.history.observe(chart)
            return False
        if chart.key in twice:
            doubled = twice[chart.key]
            if doubled:  # both copies are refused, the reason stored once
                self.refused.append(Refused((chart.key,), chart.period, doubled))
                twice[chart.key] = ""
            return False
        reason = None
        if chart.period > self.today:
            reason = f"period {chart.period.isoformat()} is after today ({self.today.isoformat()})"
        else:
            reason = self.history.judge(chart)
            self.history.observe(chart)
        if reason is not None:
            self.refused.append(Refused((chart.key,), chart.period, reason))
            return False
        return True


def _repeated_keys(charts: list[Chart]) -> dict[ChartKey, str]:
    """The keys a period holds twice, each with the reason to refuse it."""
    counts = Counter(chart.key for chart in charts)
    reasons: dict[ChartKey, str] = {}
    for chart in charts:
        if counts[chart.key] > 1:
            problem = reasons.get(chart.key) or chart.parse_error
            reasons[chart.key] = problem or ""
    return {
        key: "the file holds this chart twice" + (f" ({problem})" if problem else "")
        for key, problem in reasons.items()
    }
