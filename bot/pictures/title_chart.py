"""Which lines a title's rank chart shows: pure, from the title's chart history.

One source and granularity per picture (the one with the most appearances: a show that Netflix
ranks weekly and FlixPatrol daily gets the richer history), the worldwide chart first, then the
countries where it charted most, at most MAX_SERIES lines, over its most recent run.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from bot.diff import period_step
from bot.i18n import Translator
from bot.models import ALL_REGIONS, WORLD, ChartKey, Granularity
from bot.pictures.model import RankSeries, TitleRankChart
from bot.ports import RankPoint, RankTally
from bot.render import category_label, region_label, service_name, source_name

# Lines on one chart: more become unreadable on a phone.
MAX_SERIES = 5
# Worldwide lines (one per worldwide list the title entered) among them.
MAX_WORLDWIDE_SERIES = 2
# The span shown, ending at the title's latest appearance: half a year of weeks, two months of
# days. An older run of the show (a first season years ago) would squeeze the recent one flat.
MAX_PERIODS: dict[Granularity, int] = {"weekly": 26, "daily": 60}
# Ties between countries that charted equally long and high: the largest markets first.
MARKET_ORDER = ("US", "GB", "KR", "JP", "IN", "BR", "DE", "FR", "MX", "CA", "ES", "IT", "AU")

# (title_id, one appearance of it in a chart)
Appearance = tuple[str, RankPoint]
# (source, service, granularity): charts that share one calendar and one way of ranking.
Stream = tuple[str, str, Granularity]


@dataclass(frozen=True, slots=True)
class Span:
    """What a show's rank chart covers: one stream, from `first` to `last`."""

    stream: Stream
    first: date
    last: date


def _stream(key: ChartKey) -> Stream | None:
    """The stream of a chart that can be drawn (not an all-time list, not every region)."""
    if key.granularity == "alltime" or key.region == ALL_REGIONS:
        return None
    return (key.source, key.service, key.granularity)


def _span(runs: dict[Stream, tuple[int, date, date]]) -> Span | None:
    """From each stream's (appearances, earliest, latest): the richest stream, over its most
    recent MAX_PERIODS."""
    if not runs:
        return None
    stream = max(runs, key=lambda s: (runs[s][0], s[2] == "weekly", s))
    _, earliest, last = runs[stream]
    granularity = stream[2]
    first = max(earliest, last - period_step(granularity) * (MAX_PERIODS[granularity] - 1))
    return Span(stream, first, last)


def span_of_appearances(appearances: Sequence[Appearance]) -> Span | None:
    runs: dict[Stream, tuple[int, date, date]] = {}
    for _, point in appearances:
        stream = _stream(point.key)
        if stream is not None:
            count, earliest, latest = runs.get(stream, (0, point.period, point.period))
            runs[stream] = (count + 1, min(earliest, point.period), max(latest, point.period))
    return _span(runs)


def span_of_tallies(tallies: Sequence[RankTally]) -> Span | None:
    """The same span as span_of_appearances, from the show's rank tallies (a few hundred rows,
    where a hit's appearances are tens of thousands): so only the span's appearances are read."""
    runs: dict[Stream, tuple[int, date, date]] = {}
    for tally in tallies:
        stream = _stream(tally.key)
        if stream is not None:
            count, earliest, latest = runs.get(stream, (0, tally.first, tally.last))
            runs[stream] = (
                count + tally.periods,
                min(earliest, tally.first),
                max(latest, tally.last),
            )
    return _span(runs)


def title_rank_chart(
    show_name: str, appearances: Sequence[Appearance], tr: Translator, span: Span | None = None
) -> TitleRankChart | None:
    """The chart of a show's ranks, in the reader's language, or None when it has no daily or
    weekly history. `span`: worked out beforehand (span_of_tallies), `appearances` may then
    hold only those from its first period on."""
    span = span if span is not None else span_of_appearances(appearances)
    if span is None:
        return None
    source, service, granularity = span.stream
    step = period_step(granularity)
    first, last = span.first, span.last
    points = [p for _, p in appearances if _stream(p.key) == span.stream]
    ranks: dict[ChartKey, dict[date, int]] = {}
    for point in points:
        # (A chart stored after the span was worked out falls outside it.)
        if first <= point.period <= last:
            by_period = ranks.setdefault(point.key, {})
            # Two seasons in one chart: the show's best place.
            by_period[point.period] = min(point.rank, by_period.get(point.period, point.rank))
    chosen = _choose_charts(ranks)
    worldwide = [key for key in chosen if key.region == WORLD]
    series = tuple(
        RankSeries(
            _label(key, tr, several_worldwide=len(worldwide) > 1),
            tuple(sorted(ranks[key].items())),
        )
        for key in chosen
    )
    periods = []
    period = first
    while period <= last:
        periods.append(period)
        period += step
    where = source_name(source, tr)
    if source != service:
        where += f" · {service_name(service)}"
    weekly = granularity == "weekly"
    years = "–".join(str(year) for year in sorted({first.year, last.year}))
    rank_word = tr._("weekly rank") if weekly else tr._("daily rank")
    return TitleRankChart(
        title=show_name,
        subtitle=f"{where} · {rank_word}",
        granularity=granularity,
        series=series,
        periods=tuple(periods),
        period_labels=tuple(tr.day_month(period) for period in periods),
        axis_label=(
            tr._("week ending · {years}", years=years)
            if weekly
            else tr._("day · {years}", years=years)
        ),
    )


def _choose_charts(ranks: dict[ChartKey, dict[date, int]]) -> list[ChartKey]:
    """Worldwide lists first (longest run first), then one chart per country, the countries
    with the longest and highest runs first."""

    def standing(key: ChartKey) -> tuple[int, float, int, str, ChartKey]:
        by_period = ranks[key]
        mean_rank = sum(by_period.values()) / len(by_period)
        market = MARKET_ORDER.index(key.region) if key.region in MARKET_ORDER else 99
        return (-len(by_period), mean_rank, market, key.region, key)

    worldwide = sorted((k for k in ranks if k.region == WORLD), key=standing)
    chosen = worldwide[:MAX_WORLDWIDE_SERIES]
    seen_regions: set[str] = set()
    for key in sorted((k for k in ranks if k.region != WORLD), key=standing):
        if len(chosen) >= MAX_SERIES:
            break
        if key.region not in seen_regions:  # one line per country: its best list
            seen_regions.add(key.region)
            chosen.append(key)
    return chosen


def _label(key: ChartKey, tr: Translator, *, several_worldwide: bool) -> str:
    name = region_label(key.region, tr)
    if key.region == WORLD and several_worldwide:
        return f"{name} · {category_label(key.category, tr)}"
    return name


def picture_filename(prefix: str, text: str) -> str:
    """'rank-squid-game.png': ASCII letters, digits and dashes only (a title in Hangul keeps
    only the prefix: every platform accepts the name)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", folded).strip("-")[:48].strip("-")
    return f"{prefix}-{slug}.png" if slug else f"{prefix}.png"


def describe(chart: TitleRankChart) -> str:
    """Alt text: what the picture shows, in one sentence."""
    places = ", ".join(series.label for series in chart.series)
    return f"{chart.title}: {chart.subtitle} ({places})"
