"""A show's rank chart drawn from its rank tallies and the appearances of its span only
(bot.pictures.service.show_picture) is the chart its whole history gives."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.i18n import ENGLISH
from bot.models import ChartKey
from bot.pictures.title_chart import (
    Appearance,
    span_of_appearances,
    span_of_tallies,
    title_rank_chart,
)
from bot.ports import RankPoint, RankTally

START = date(2023, 1, 1)
KEYS = (
    [
        ChartKey("netflix", "netflix", region, "TV", "weekly")  # type: ignore[arg-type]
        for region in ("world", "KR", "US")
    ]
    + [
        ChartKey("flixpatrol", "netflix", region, "Overall", "daily")  # type: ignore[arg-type]
        for region in ("world", "KR", "JP", "all")
    ]
    + [ChartKey("netflix", "netflix", "world", "TV", "alltime")]
)  # type: ignore[arg-type]


def tallies_of(appearances: list[Appearance]) -> list[RankTally]:
    periods: dict[tuple[str, ChartKey, int], list[date]] = {}
    for title_id, point in appearances:
        periods.setdefault((title_id, point.key, point.rank), []).append(point.period)
    return [
        RankTally(title_id, key, rank, len(days), min(days), max(days))
        for (title_id, key, rank), days in sorted(periods.items())
    ]


appearance = st.builds(
    lambda title, key, day, rank: (
        title,
        RankPoint(
            KEYS[key],
            START + timedelta(days=day * (7 if KEYS[key].granularity == "weekly" else 1)),
            rank,
        ),
    ),
    st.sampled_from(["s1", "s2"]),
    st.integers(0, len(KEYS) - 1),
    st.integers(0, 400),
    st.integers(1, 10),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(appearance, max_size=120, unique_by=lambda a: (a[0], a[1].key, a[1].period)))
def test_the_span_from_tallies_draws_the_chart_of_the_whole_history(
    appearances: list[Appearance],
) -> None:
    span = span_of_tallies(tallies_of(appearances))
    assert span == span_of_appearances(appearances)
    whole = title_rank_chart("Show", appearances, ENGLISH)
    if span is None:
        assert whole is None
        return
    # What the store returns for title_history(title_id, since=span.first).
    read = [(title_id, point) for title_id, point in appearances if point.period >= span.first]
    assert title_rank_chart("Show", read, ENGLISH, span) == whole


def test_a_chart_stored_after_the_span_was_worked_out_stays_out_of_the_picture() -> None:
    weekly = KEYS[0]
    history: list[Appearance] = [
        ("s1", RankPoint(weekly, START + timedelta(weeks=week), 1)) for week in range(3)
    ]
    span = span_of_tallies(tallies_of(history))
    assert span is not None
    later = [*history, ("s1", RankPoint(weekly, START + timedelta(weeks=3), 2))]

    assert title_rank_chart("Show", later, ENGLISH, span) == title_rank_chart(
        "Show", history, ENGLISH
    )
