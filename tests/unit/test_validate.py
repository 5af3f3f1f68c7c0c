"""The gate: every rejection reason, and no real chart rejected."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.models import Chart, ChartKey, Entry
from bot.sources.csv_import import parse_canonical_csv
from bot.sources.daily_series import parse_flixpatrol_nl_scrape
from bot.validate import MIN_CHARTS_FOR_FETCH_CHURN, validate_batch, validate_chart

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def load_csv(name: str) -> list[Chart]:
    path = FIXTURES / "csv" / name
    return parse_canonical_csv(path.read_text(encoding="utf-8").splitlines(), what=name)


def nl_movie_lists() -> list[Chart]:
    path = FIXTURES / "daily" / "flixpatrol-netflix-nl-scrape-excerpt.csv"
    charts = parse_flixpatrol_nl_scrape(path.read_text(encoding="utf-8").splitlines(), what="nl")
    return [c for c in charts if c.key.category == "Movies" and validate_chart(c) is None]


US_DAYS = load_csv("example.csv")  # the-numbers' US list, 2021-07-17 … 07-19, all real
DAY1, DAY2, DAY3 = US_DAYS


def with_entries(chart: Chart, entries: list[Entry] | tuple[Entry, ...]) -> Chart:
    return replace(chart, entries=tuple(entries))


def retitled(chart: Chart, titles: Callable[[Entry], str]) -> Chart:
    return with_entries(chart, [replace(e, title=titles(e)) for e in chart.entries])


def title_ids(chart: Chart) -> set[str]:
    return {entry.title_id for entry in chart.entries}


# --- one chart --------------------------------------------------------------------------------

E = DAY1.entries  # ranks 1..10: Never Have I Ever, Virgin River, Fear Street Part 3: 1666 …

REJECTIONS: list[tuple[str, Chart, str]] = [
    ("parse error", replace(DAY1, parse_error="body is `null`"), "body is `null`"),
    ("three rows", with_entries(DAY1, E[:3]), "3 rows, expected ranks 1..10"),
    ("one row", with_entries(DAY1, E[:1]), "1 row, expected ranks 1..10"),
    ("no rows", with_entries(DAY1, ()), "0 rows, expected ranks 1..10"),
    (
        "duplicate rank",
        with_entries(DAY1, [*E[:4], replace(E[4], rank=4), *E[5:]]),
        "duplicate rank 4",
    ),
    (
        "gap at the end",
        with_entries(DAY1, [*E[:9], replace(E[9], rank=11)]),
        "rank 11 instead of 10, expected ranks 1..10",
    ),
    (
        "rank zero",
        with_entries(DAY1, [replace(E[0], rank=0), *E[1:]]),
        "rank 0 instead of 1, expected ranks 1..10",
    ),
    (
        "blank title",
        with_entries(DAY1, [E[0], replace(E[1], title="  "), *E[2:]]),
        "empty title at rank 2",
    ),
    (
        "same title twice",
        with_entries(DAY1, [*E[:6], replace(E[6], title_id=E[2].title_id), *E[7:]]),
        "duplicate title 'Fear Street Part 3: 1666' at ranks 3 and 7",
    ),
    (
        "same title three times",
        with_entries(
            DAY1,
            [
                E[0],
                E[1],
                *E[2:4],
                replace(E[4], title_id=E[1].title_id),
                *E[5:7],
                replace(E[7], title_id=E[1].title_id),
                *E[8:],
            ],
        ),
        "duplicate title 'Virgin River' at ranks 2, 5 and 8",
    ),
    (
        "a NUL in a title",
        with_entries(DAY1, [*E[:2], replace(E[2], title="Fear\x00Street"), *E[3:]]),
        "control character U+0000 in the title at rank 3",
    ),
    (
        "a C1 control character in a season",
        with_entries(DAY1, [replace(E[0], season="Season\x851"), *E[1:]]),
        "control character U+0085 in the title at rank 1",
    ),
    (
        "a byte a decoder could not read",
        with_entries(DAY1, [*E[:9], replace(E[9], title="Jos\ufffd Totoy 3")]),
        "U+FFFD (a byte that was not text) in the title at rank 10",
    ),
    (
        "ranks as titles",
        retitled(DAY1, lambda e: f"{e.rank}.0"),
        "titles look like ranks (1.0, 2.0, …)",
    ),
    (
        "most titles numbers",
        retitled(DAY1, lambda e: str(e.rank) if e.rank > 4 else e.title),
        "titles look like ranks (5, 6, …)",
    ),
]


@pytest.mark.parametrize(
    ("chart", "reason"),
    [(chart, reason) for _, chart, reason in REJECTIONS],
    ids=[name for name, _, _ in REJECTIONS],
)
def test_rejection_reasons(chart: Chart, reason: str) -> None:
    assert validate_chart(chart) == reason


def test_a_chart_for_another_day_than_asked_is_rejected() -> None:
    assert validate_chart(DAY1, expected_period=date(2021, 7, 18)) == (
        "period 2021-07-17, expected 2021-07-18"
    )
    assert validate_chart(DAY1, expected_period=date(2021, 7, 17)) is None


def test_the_parse_error_wins_over_every_other_reason() -> None:
    broken = replace(with_entries(DAY1, E[:3]), parse_error="line 4: rank 'x' is not a number")

    assert validate_chart(broken, expected_period=date(2000, 1, 1)) == (
        "line 4: rank 'x' is not a number"
    )


def test_the_previous_days_page_served_again_is_a_stale_copy() -> None:
    stale = replace(DAY1, period=DAY1.period + timedelta(days=1))

    assert validate_chart(stale, DAY1) == "same rows and counts as 2021-07-17 (stale copy)"


@pytest.mark.parametrize(
    ("name", "chart", "previous"),
    [
        ("real next day", DAY2, DAY1),
        ("real day after", DAY3, DAY2),
        ("first day, nothing before", DAY1, None),
        (
            "same titles in the same order, counters moved on (23 real the-numbers days)",
            replace(
                with_entries(
                    DAY1, [replace(e, days_in_top10=(e.days_in_top10 or 0) + 1) for e in E]
                ),
                period=date(2021, 7, 18),
            ),
            DAY1,
        ),
        (
            "same rows without counters (a list with titles only can repeat)",
            replace(
                with_entries(DAY1, [replace(e, days_in_top10=None) for e in E]),
                period=date(2021, 7, 18),
            ),
            with_entries(DAY1, [replace(e, days_in_top10=None) for e in E]),
        ),
        ("a revision of the same period", DAY1, DAY1),
        (
            "one numeric title ('180', NL #2 in April 2026)",
            retitled(DAY1, lambda e: "180" if e.rank == 2 else e.title),
            None,
        ),
        (
            "half the titles numbers",
            retitled(DAY1, lambda e: str(e.rank) if e.rank > 5 else e.title),
            None,
        ),
        (
            "all ten titles changed (Ireland, Films, 2021-07-25 is real)",
            DAY1,
            with_entries(DAY1, nl_movie_lists()[0].entries),
        ),
    ],
)
def test_accepted_charts(name: str, chart: Chart, previous: Chart | None) -> None:
    assert validate_chart(chart, previous) is None, name


def test_cumulative_weeks_that_went_backwards_are_an_old_period() -> None:
    week1 = with_entries(DAY1, [replace(e, weeks_in_top10=e.rank) for e in E])
    week2 = replace(week1, period=DAY1.period + timedelta(days=7))
    later = with_entries(week2, [replace(e, weeks_in_top10=e.rank + 1) for e in E])
    assert validate_chart(later, week1) is None
    older = with_entries(week2, [*later.entries[:4], replace(E[4], weeks_in_top10=2), *E[5:]])
    assert validate_chart(older, week1) == (
        f"weeks in the Top 10 of {E[4].title!r} went from 5 on {DAY1.period.isoformat()} to 2"
        " (an old period relabelled?)"
    )


def test_cumulative_weeks_that_gained_more_than_the_weeks_elapsed_are_another_charts() -> None:
    base = replace(DAY1, key=replace(DAY1.key, granularity="weekly"))
    week1 = with_entries(base, [replace(e, weeks_in_top10=e.rank) for e in E])
    two_weeks_later = replace(week1, period=DAY1.period + timedelta(days=14))
    gained_two = with_entries(two_weeks_later, [replace(e, weeks_in_top10=e.rank + 2) for e in E])
    assert validate_chart(gained_two, week1) is None
    one_week_later = replace(gained_two, period=DAY1.period + timedelta(days=7))
    assert validate_chart(one_week_later, week1) == (
        f"weeks in the Top 10 of {E[0].title!r} went from 1 on {DAY1.period.isoformat()} to 3"
        " (another chart's counts?)"
    )


def test_a_previous_chart_of_another_key_is_a_caller_bug() -> None:
    other = replace(DAY1, key=replace(DAY1.key, region="CA"))

    with pytest.raises(ValueError, match="is not of"):
        validate_chart(DAY2, other)


@settings(deadline=None)  # a shared CI machine must not turn slowness into a failure
@given(st.permutations(list(E)))
def test_row_order_does_not_matter(entries: list[Entry]) -> None:
    assert validate_chart(with_entries(DAY1, entries)) is None


@settings(deadline=None)
@given(st.integers(min_value=0, max_value=9))
def test_any_missing_rank_is_rejected(missing: int) -> None:
    chart = with_entries(DAY1, [*E[:missing], *E[missing + 1 :]])

    assert validate_chart(chart) == "9 rows, expected ranks 1..10"


# --- real weekly charts: none may be rejected ----------------------------------------------


def run_gate(charts: list[Chart]) -> dict[str, str]:
    """Feed charts period by period, one batch per period, the way a poller does."""
    batches: dict[date, list[Chart]] = defaultdict(list)
    for chart in charts:
        batches[chart.period].append(chart)
    accepted: dict[ChartKey, Chart] = {}
    rejected: dict[str, str] = {}
    for period in sorted(batches):
        batch = batches[period]
        previous = {c.key: accepted[c.key] for c in batch if c.key in accepted}
        batch_reasons = validate_batch(batch, previous)
        for index, chart in enumerate(batch):
            reason = validate_chart(chart, previous.get(chart.key), expected_period=period)
            reason = reason or batch_reasons.get(index)
            if reason:
                rejected[chart.label()] = reason
            else:
                accepted[chart.key] = chart
    return rejected


def test_no_real_per_country_chart_is_rejected() -> None:
    charts = load_csv("netflix-countries-excerpt.csv")
    by_label = {(c.key.region, c.key.category, c.period.isoformat()): c for c in charts}
    # What makes this excerpt a test: real identical lists and a real complete change.
    ecuador, peru = by_label[("EC", "Films", "2021-11-28")], by_label[("PE", "Films", "2021-11-28")]
    assert ecuador.entries == peru.entries
    ireland = by_label[("IE", "Films", "2021-07-25")]
    assert not title_ids(ireland) & title_ids(by_label[("IE", "Films", "2021-07-18")])
    assert len([c for c in charts if c.period == date(2021, 11, 7)]) >= 90

    assert run_gate(charts) == {}


def test_no_real_global_chart_is_rejected() -> None:
    charts = load_csv("netflix-global-excerpt.csv")

    assert run_gate(charts) == {}


# --- batch signals: churn together with something else -------------------------------------


def as_region(chart: Chart, region: str, period: date | None = None) -> Chart:
    return replace(chart, key=replace(chart.key, region=region), period=period or chart.period)


def test_a_copy_of_another_regions_list_that_changed_completely_is_rejected() -> None:
    unrelated = nl_movie_lists()[0]  # nothing in common with the US list of July 2021
    assert not title_ids(unrelated) & title_ids(DAY3)
    canada_before = as_region(with_entries(DAY2, unrelated.entries), "CA")
    canada_copy = as_region(DAY3, "CA")

    reasons = validate_batch([DAY3, canada_copy], {DAY3.key: DAY2, canada_copy.key: canada_before})

    assert reasons == {1: "identical to US and fully changed"}


def test_a_copy_with_its_rows_in_another_order_is_still_a_copy() -> None:
    unrelated = nl_movie_lists()[0]
    canada_before = as_region(with_entries(DAY2, unrelated.entries), "CA")
    canada_copy = as_region(with_entries(DAY3, DAY3.entries[::-1]), "CA")

    reasons = validate_batch([DAY3, canada_copy], {DAY3.key: DAY2, canada_copy.key: canada_before})

    assert reasons == {1: "identical to US and fully changed"}


def test_identical_lists_both_changed_completely_are_both_rejected() -> None:
    unrelated = nl_movie_lists()[0]
    us_before = with_entries(DAY2, unrelated.entries)
    canada_before = as_region(us_before, "CA")
    canada_copy, mexico_copy = as_region(DAY3, "CA"), as_region(DAY3, "MX")
    batch = [DAY3, canada_copy, mexico_copy]
    previous = {DAY3.key: us_before, canada_copy.key: canada_before}

    assert validate_batch(batch, previous) == {
        0: "identical to CA, MX and fully changed",
        1: "identical to MX, US and fully changed",
    }


def test_identical_lists_that_did_not_change_completely_are_real() -> None:
    # Guadeloupe and Martinique, Ecuador and Peru: real identical lists, with normal churn.
    canada_before, canada_same = as_region(DAY2, "CA"), as_region(DAY3, "CA")

    assert (
        validate_batch([DAY3, canada_same], {DAY3.key: DAY2, canada_same.key: canada_before}) == {}
    )


def test_a_copy_of_a_list_that_was_apart_the_period_before_is_rejected() -> None:
    """Canada's previous list shared 3 titles with the US's; now it is the US list: the copy is
    the one that moved furthest from its own previous list, not the US."""
    unrelated = nl_movie_lists()[0]
    canada_before = as_region(with_entries(DAY2, [*DAY2.entries[:3], *unrelated.entries[3:]]), "CA")
    canada_copy = as_region(DAY3, "CA")
    assert (
        0 < len(title_ids(canada_before) & title_ids(DAY3)) < len(title_ids(DAY2) & title_ids(DAY3))
    )

    reasons = validate_batch([DAY3, canada_copy], {DAY3.key: DAY2, canada_copy.key: canada_before})

    assert reasons == {
        1: f"identical to US, whose list of {DAY2.period.isoformat()} shared only 3 titles with"
        " this one's (copied?)"
    }


def test_a_copy_of_another_services_list_names_the_service() -> None:
    unrelated = nl_movie_lists()[0]
    disney = replace(DAY3, key=replace(DAY3.key, service="disney"))
    disney_before = with_entries(replace(DAY2, key=disney.key), unrelated.entries)

    reasons = validate_batch([DAY3, disney], {DAY3.key: DAY2, disney.key: disney_before})

    assert reasons == {1: "identical to netflix and fully changed"}


def test_equal_lists_in_different_categories_are_not_compared() -> None:
    unrelated = nl_movie_lists()[0]
    shows = replace(DAY3, key=replace(DAY3.key, category="TV Shows"))
    shows_before = with_entries(replace(DAY2, key=shows.key), unrelated.entries)

    assert validate_batch([DAY3, shows], {DAY3.key: DAY2, shows.key: shows_before}) == {}


def week_of_country_charts() -> tuple[list[Chart], dict[ChartKey, Chart]]:
    """Six real per-country Films charts of 2021-11-07 and their real charts of the week before."""
    charts = load_csv("netflix-countries-excerpt.csv")
    regions = ["AR", "DE", "FR", "JP", "KR", "US"]
    week = [c for c in charts if c.period == date(2021, 11, 7) and c.key.region in regions]
    before = {
        c.key: c for c in charts if c.period == date(2021, 10, 31) and c.key.region in regions
    }
    return week, before


def test_every_chart_of_a_fetch_changing_completely_rejects_them_all() -> None:
    week, before = week_of_country_charts()
    wrong_pages = nl_movie_lists()[: len(week)]  # six different lists from another site
    fetched = [
        with_entries(chart, page.entries) for chart, page in zip(week, wrong_pages, strict=True)
    ]
    assert all(not title_ids(c) & title_ids(before[c.key]) for c in fetched)
    assert len({tuple(c.entries) for c in fetched}) == len(fetched)  # no identical twins

    reasons = validate_batch(fetched, before)

    assert reasons == {
        i: "every chart of this fetch changed completely" for i in range(len(fetched))
    }


def test_too_few_charts_changing_completely_is_not_a_fetch_signal() -> None:
    week, before = week_of_country_charts()
    few = MIN_CHARTS_FOR_FETCH_CHURN - 1
    wrong_pages = nl_movie_lists()[:few]
    fetched = [
        with_entries(chart, page.entries) for chart, page in zip(week, wrong_pages, strict=False)
    ]

    assert validate_batch(fetched, before) == {}


def test_one_chart_keeping_a_title_clears_the_fetch() -> None:
    week, before = week_of_country_charts()
    wrong_pages = nl_movie_lists()[: len(week)]
    fetched = [
        with_entries(chart, page.entries) for chart, page in zip(week, wrong_pages, strict=True)
    ]
    kept = before[fetched[0].key].entries[0]
    fetched[0] = with_entries(fetched[0], [replace(kept, rank=1), *fetched[0].entries[1:]])

    assert validate_batch(fetched, before) == {}


def test_the_real_week_with_most_complete_changes_is_not_a_fetch_signal() -> None:
    week, before = week_of_country_charts()

    assert validate_batch(week, before) == {}


def test_a_history_import_compares_each_period_with_the_one_before_in_the_batch() -> None:
    stored = replace(DAY1, period=DAY1.period - timedelta(days=1))
    # Six real NL days under one key, none sharing a title with the stored chart: compared with
    # `stored` each would have changed completely; compared with the day before it, most did not.
    days = [
        replace(with_entries(DAY1, page.entries), period=DAY1.period + timedelta(days=i))
        for i, page in enumerate(nl_movie_lists()[:6])
    ]
    assert all(not title_ids(day) & title_ids(stored) for day in days)
    assert any(title_ids(a) & title_ids(b) for a, b in pairwise(days))

    assert validate_batch(list(reversed(days)), {DAY1.key: stored}) == {}
    assert validate_batch(US_DAYS, {}) == {}


def test_a_revision_of_a_stored_period_is_not_churn() -> None:
    week, _ = week_of_country_charts()
    wrong_pages = nl_movie_lists()[: len(week)]
    revised = [
        with_entries(chart, page.entries) for chart, page in zip(week, wrong_pages, strict=True)
    ]
    stored_same_period = {c.key: c for c in week}

    assert validate_batch(revised, stored_same_period) == {}
