"""Chart history in dictionaries, read as the SQLite backend reads it (storage.codec shares the
rules: ordering, JSON forms), so that what SQLite cannot store cannot be stored here either."""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from bot.models import Chart, ChartKey, Rejection
from bot.ports import Family, RankPoint, RankTally, StateJson, StoredRejection, TitleHit
from storage import codec


@dataclass(frozen=True, slots=True)
class EncodedStates:
    """A batch's engine states as JSON text: encoding raises for a state SQLite could not store
    either, so it is done before anything of the batch is stored."""

    charts: dict[ChartKey, str]
    families: dict[Family, str]

    @classmethod
    def of(
        cls, charts: dict[ChartKey, StateJson], families: dict[Family, StateJson]
    ) -> EncodedStates:
        return cls(
            {key: codec.encode_state(state) for key, state in charts.items()},
            {family: codec.encode_state(state) for family, state in families.items()},
        )


class MemoryCharts:
    """Charts, the title index, rejections, engine states and meta; nothing survives the process."""

    def __init__(self) -> None:
        self._charts: dict[ChartKey, dict[date, Chart]] = {}
        self._periods: dict[ChartKey, list[date]] = {}  # sorted, for latest_chart
        # Every key with a chart, kept sorted as it grows: the SQL stores' chart_keys table.
        self._keys: list[ChartKey] = []
        # How many stored entries mention each title: a title leaves the index at zero, like the
        # SQL store's clean-up after a chart is replaced.
        self._titles: Counter[TitleHit] = Counter()
        self._titles_version = 0  # changes with the set of titles (the SQL stores' triggers)
        self._rejections: list[StoredRejection] = []
        self._chart_states: dict[ChartKey, str] = {}
        self._family_states: dict[Family, str] = {}
        self._meta: dict[str, str] = {}

    def write(
        self, charts: list[Chart], rejections: list[Rejection], states: EncodedStates, now: datetime
    ) -> None:
        """Store what a batch holds."""
        for chart in charts:
            self._put_chart(codec.stored_form(chart))
        for rejection in rejections:
            self._rejections.append(
                StoredRejection(
                    key=rejection.chart.key,
                    period=rejection.chart.period,
                    reason=rejection.reason,
                    rows=rejection.chart.rows,
                    rejected_at=now,
                )
            )
        self._chart_states.update(states.charts)
        self._family_states.update(states.families)

    def _put_chart(self, chart: Chart) -> None:
        if chart.key not in self._charts:
            bisect.insort(self._keys, chart.key)
        by_period = self._charts.setdefault(chart.key, {})
        old = by_period.get(chart.period)
        known = len(self._titles)
        if old is None:
            bisect.insort(self._periods.setdefault(chart.key, []), chart.period)
        else:
            self._titles.subtract(_title_hits(old))
            self._titles = +self._titles  # drop titles no stored entry mentions any more
            if len(self._titles) != known:
                self._titles_version += 1
        by_period[chart.period] = chart
        before = len(self._titles)
        self._titles.update(_title_hits(chart))
        if len(self._titles) != before:
            self._titles_version += 1

    async def load_chart_state(self, key: ChartKey) -> StateJson | None:
        encoded = self._chart_states.get(key)
        return codec.decode_state(encoded) if encoded is not None else None

    async def load_chart_states(self, keys: Sequence[ChartKey]) -> dict[ChartKey, StateJson]:
        return {
            key: codec.decode_state(self._chart_states[key])
            for key in keys
            if key in self._chart_states
        }

    async def load_family_state(self, family: Family) -> StateJson | None:
        encoded = self._family_states.get(family)
        return codec.decode_state(encoded) if encoded is not None else None

    async def latest_chart(self, key: ChartKey, on_or_before: date | None = None) -> Chart | None:
        periods = self._periods.get(key, [])
        end = len(periods) if on_or_before is None else bisect.bisect_right(periods, on_or_before)
        if end == 0:
            return None
        return _copy(self._charts[key][periods[end - 1]])

    async def has_chart(self, key: ChartKey, period: date) -> bool:
        return period in self._charts.get(key, {})

    async def chart_keys(self, source: str | None = None) -> list[ChartKey]:
        return [key for key in self._keys if source is None or key.source == source]

    async def family_charts(self, family: Family, period: date) -> list[Chart]:
        found = [
            by_period[period]
            for key, by_period in self._charts.items()
            if key.family() == family and period in by_period
        ]
        return [_copy(chart) for chart in sorted(found, key=lambda chart: chart.key)]

    async def latest_period(self, family: Family) -> date | None:
        newest = [self._periods[key][-1] for key in self._charts if key.family() == family]
        return max(newest, default=None)

    async def recent_rejections(self, limit: int = 20) -> list[StoredRejection]:
        codec.check_limit(limit)
        # Newest first by time, then by storage order, as the SQL store orders them.
        numbered = sorted(
            enumerate(self._rejections),
            key=lambda item: (item[1].rejected_at, item[0]),
            reverse=True,
        )
        return [rejection for _, rejection in numbered[:limit]]

    async def search_titles(self, text: str, limit: int = 25) -> list[TitleHit]:
        codec.check_limit(limit)
        needle = codec.folded_title(text)
        hits = [hit for hit in self._titles if needle in codec.folded_title(hit.title)]
        return sorted(hits, key=lambda hit: codec.search_order(hit, needle))[:limit]

    async def titles_version(self) -> int:
        return self._titles_version

    async def all_titles(self) -> list[TitleHit]:
        return sorted(self._titles, key=codec.title_order)

    async def title_history(self, title_id: str, since: date | None = None) -> list[RankPoint]:
        appearances = [
            (period, key, entry.rank, position)
            for key, by_period in self._charts.items()
            for period, chart in by_period.items()
            if period >= (since or date.min)
            for position, entry in enumerate(chart.entries)
            if entry.title_id == title_id
        ]
        appearances.sort()
        return [RankPoint(key, period, rank) for period, key, rank, _ in appearances]

    async def rank_tallies(
        self, title_ids: Sequence[str], key: ChartKey | None = None
    ) -> list[RankTally]:
        wanted = set(title_ids)
        tallies: dict[tuple[str, ChartKey, int], list[date]] = {}
        for chart_key, by_period in self._charts.items():
            if key is not None and chart_key != key:
                continue
            for period, chart in by_period.items():
                for entry in chart.entries:
                    if entry.title_id in wanted:
                        tallies.setdefault((entry.title_id, chart_key, entry.rank), []).append(
                            period
                        )
        return [
            RankTally(title_id, key, rank, len(periods), min(periods), max(periods))
            for (title_id, key, rank), periods in sorted(tallies.items())
        ]

    async def get_meta(self, name: str) -> str | None:
        return self._meta.get(name)

    async def set_meta(self, name: str, value: str) -> None:
        self._meta[name] = value


def _title_hits(chart: Chart) -> list[TitleHit]:
    return [TitleHit(entry.title_id, entry.title, entry.season) for entry in chart.entries]


def _copy(chart: Chart) -> Chart:
    """A chart whose extra dict the caller may change without touching the store."""
    return codec.stored_form(chart)
