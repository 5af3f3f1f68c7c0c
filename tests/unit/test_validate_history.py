"""The gate against history: copies of other charts, swapped categories, files that do not
continue what is stored, and which charts of a weekly file are new."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.models import Chart, ChartKey
from bot.sources.csv_import import parse_canonical_csv
from bot.sources.http import Validators
from bot.sources.netflix import cut_short_problem
from bot.sources.netflix_periods import NewPeriods, continuity_problem, missing_in_newest
from bot.validate_history import ChartHistory

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def load_csv(name: str) -> list[Chart]:
    path = FIXTURES / "csv" / name
    charts = parse_canonical_csv(path.read_text(encoding="utf-8").splitlines(), what=name)
    return sorted(charts, key=lambda chart: (chart.period, chart.key))


GLOBAL = load_csv("netflix-global-excerpt.csv")
COUNTRIES = load_csv("netflix-countries-excerpt.csv")
PERIODS = sorted({chart.period for chart in GLOBAL})
WEEK = timedelta(days=7)


def judged(charts: list[Chart]) -> dict[str, str]:
    """Each chart judged against the ones before it, as a first import does."""
    history = ChartHistory()
    reasons: dict[str, str] = {}
    for chart in charts:
        reason = history.judge(chart)
        if reason is not None:
            reasons[chart.label()] = reason
        history.observe(chart)
    return reasons


def chart_of(category: str, period: date, charts: list[Chart] = GLOBAL) -> Chart:
    return next(c for c in charts if c.key.category == category and c.period == period)


def history_until(period: date, charts: list[Chart] = GLOBAL) -> ChartHistory:
    history = ChartHistory()
    for chart in charts:
        if chart.period <= period:
            history.observe(chart)
    return history


@pytest.mark.parametrize("charts", [GLOBAL, COUNTRIES], ids=["global", "countries"])
def test_no_real_chart_is_judged_a_copy(charts: list[Chart]) -> None:
    assert judged(charts) == {}


def test_an_old_week_relabelled_is_refused() -> None:
    last = PERIODS[-1]
    old = chart_of("TV (English)", PERIODS[0])
    relabelled = replace(old, period=last + WEEK)
    reason = history_until(last).judge(relabelled)
    assert reason == f"same titles in the same order as {PERIODS[0]} (an old period relabelled)"


def test_the_week_just_before_is_left_to_the_stale_copy_rule() -> None:
    last = PERIODS[-1]
    again = replace(chart_of("TV (English)", last), period=last + WEEK)
    assert history_until(last).judge(again) is None


def test_another_categorys_list_is_refused() -> None:
    last = PERIODS[-1]
    films = chart_of("Films (English)", last)
    as_tv = replace(films, key=replace(films.key, category="TV (English)"), period=last + WEEK)
    reason = history_until(last).judge(as_tv)
    assert reason is not None and "Films (English)" in reason


def test_swapped_categories_of_a_new_week_are_refused() -> None:
    """Next week's real TV list under the Films label shares most titles with last week's TV."""
    before, after = PERIODS[-2], PERIODS[-1]
    tv = chart_of("TV (English)", after)
    as_films = replace(tv, key=replace(tv.key, category="Films (English)"))
    reason = history_until(before).judge(as_films)
    assert reason is not None
    assert reason.endswith(
        "titles charted in TV (English) in its last periods (categories swapped?)"
    )


def test_a_complete_change_alone_is_not_a_copy() -> None:
    last = PERIODS[-1]
    films = chart_of("Films (English)", last)
    strangers = [replace(e, title_id=f"new-{e.rank}", title=f"New {e.rank}") for e in films.entries]
    fresh = replace(films, period=last + WEEK, entries=tuple(strangers))
    assert history_until(last).judge(fresh) is None


# --- continuity of a whole file ---------------------------------------------------------------

KEY_AR = ChartKey("netflix", "netflix", "AR", "Films", "weekly")
KEY_US = ChartKey("netflix", "netflix", "US", "Films", "weekly")
W1, W2, W3 = date(2022, 2, 13), date(2022, 2, 20), date(2022, 2, 27)
STORED = {KEY_AR: W2, KEY_US: W2}


def test_a_file_that_continues_the_history_passes() -> None:
    assert (
        continuity_problem(STORED, {W1: {"AR", "US"}, W2: {"AR", "US"}, W3: {"AR", "US"}}) is None
    )
    assert continuity_problem({}, {W1: {"AR"}}) is None  # nothing stored: a first import


@pytest.mark.parametrize(
    ("weeks", "reason"),
    [
        (
            {W1: {"AR", "US"}},
            "the file's newest week is 2022-02-13, older than the stored 2022-02-20",
        ),
        ({W1: {"AR", "US"}, W3: {"AR", "US"}}, "the file has no week 2022-02-20, which is stored"),
        ({W2: {"AR"}, W3: {"AR"}}, "file cut short: no rows at all for US, which have stored"),
    ],
)
def test_a_file_that_does_not_continue_the_history_is_refused(
    weeks: dict[date, set[str]], reason: str
) -> None:
    problem = continuity_problem(STORED, weeks)
    assert problem is not None and problem.startswith(reason)


def test_a_region_missing_from_the_new_week_is_refused_for_that_week() -> None:
    refused = missing_in_newest(STORED, {W2: {"AR", "US"}, W3: {"AR"}})
    assert [(r.keys, r.period) for r in refused] == [((KEY_US,), W3)]
    assert missing_in_newest(STORED, {W2: {"AR", "US"}}) == []


def stored(**periods: date) -> dict[ChartKey, Chart]:
    return {
        replace(KEY_AR, region=region): Chart(replace(KEY_AR, region=region), period, ())
        for region, period in periods.items()
    }


def test_new_periods_are_decided_per_chart() -> None:
    # US's newest week was missing or rejected.
    selection = NewPeriods(stored(AR=W3, US=W2), ("Films",), today=date(2022, 3, 2))
    late = Chart(KEY_US, W3, ())
    assert selection.is_new(late)
    assert not selection.is_new(Chart(KEY_AR, W3, ()))
    # A gap older than the newest stored week of the category stays closed.
    gap = NewPeriods(stored(AR=W3, US=W1), ("Films",), today=date(2022, 3, 2))
    assert not gap.is_new(Chart(KEY_US, W2, ()))
    # A key with nothing stored takes its whole history.
    first = Chart(replace(KEY_US, region="DE"), W1, ())
    assert selection.is_new(first)


def test_the_stored_lists_are_the_history_a_rewritten_file_meets_first() -> None:
    """A file whose every week has its categories swapped carries no contradiction of its own;
    the stored charts of the newest stored week do."""
    before, after = PERIODS[-2], PERIODS[-1]
    newest_stored = {c.key: c for c in GLOBAL if c.period == before}
    films, tv = chart_of("Films (English)", before), chart_of("TV (English)", before)
    selection = NewPeriods(newest_stored, ("Films (English)", "TV (English)"), date(2026, 1, 1))
    swapped = [
        replace(tv, key=films.key),  # the file's own version of a stored week: ignored
        replace(films, key=tv.key),
        replace(chart_of("TV (English)", after), key=films.key),
    ]
    assert list(selection.select(swapped)) == []
    assert [r.keys for r in selection.refused] == [(films.key,)]
    assert "categories swapped?" in selection.refused[0].reason


def test_a_chart_the_file_holds_twice_is_refused_once() -> None:
    films = chart_of("Films (English)", PERIODS[-1])
    copy = replace(films, parse_error="line 9: rows of this chart are not contiguous")
    selection = NewPeriods({}, ("Films (English)",), today=date(2030, 1, 1))
    assert list(selection.select([films, copy])) == []
    assert [r.reason for r in selection.refused] == [
        "the file holds this chart twice (line 9: rows of this chart are not contiguous)"
    ]


def test_a_category_the_file_never_had_is_refused() -> None:
    odd = Chart(replace(KEY_AR, category="Series"), W3, ())
    selection = NewPeriods({}, ("Films", "TV"), today=date(2022, 3, 2))
    assert list(selection.select([odd])) == []
    assert [r.reason for r in selection.refused] == [
        "category 'Series' is not one this file has (Films, TV)"
    ]


# --- bodies cut short, and the size baseline ------------------------------------------------


def test_a_last_line_with_too_few_fields_is_a_cut() -> None:
    assert cut_short_problem("a\tb\tc", 9, 3) is None
    assert cut_short_problem("a\tb", 9, 3) == (
        "file cut short: it ends mid-row (line 9 has 2 of 3 fields)"
    )
    assert cut_short_problem(b"a\tb\n", 9, 3) is not None


def test_the_size_baseline_is_the_median_of_recent_bodies() -> None:
    known = Validators(size=1000)
    for size in (1010, 50_000, 1020):  # one oversized body among normal ones
        known = known.with_size(size)
    assert known.recent_sizes == (1000, 1010, 50_000, 1020)
    assert known.baseline_size() == 1010
    # Records written before the history of sizes existed: the last size is the baseline.
    assert Validators(size=700).baseline_size() == 700
    assert Validators.from_json(known.to_json()) == known
