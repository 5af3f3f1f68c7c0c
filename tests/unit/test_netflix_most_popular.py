"""The all-time lists (most-popular.tsv), in both published forms."""

from __future__ import annotations

from datetime import date

import pytest

from bot.models import WORLD, ChartKey, Entry, make_title_id
from bot.sources.errors import SourceError
from bot.sources.netflix import (
    parse_most_popular,
)
from tests.netflix_files import (
    MOST_POPULAR_28,
    MOST_POPULAR_91,
    SNAPSHOT,
    fixture_lines,
    fixture_text,
    replace_field,
)

# --------------------------------------------------------------------------- all-time lists


def test_current_all_time_lists_over_91_days() -> None:
    charts = parse_most_popular(fixture_text(MOST_POPULAR_91), SNAPSHOT)

    assert [chart.key for chart in charts] == [
        ChartKey("netflix", "netflix", WORLD, f"{category} · first 91 days", "alltime")
        for category in (
            "Films (English)",
            "Films (Non-English)",
            "TV (English)",
            "TV (Non-English)",
        )
    ]
    assert all(chart.period == SNAPSHOT for chart in charts)
    assert all(
        (chart.rows, chart.expected_size, chart.parse_error) == (10, 10, None) for chart in charts
    )
    assert charts[2].entries[0] == Entry(
        rank=1,
        title_id=make_title_id("Wednesday", "Wednesday: Season 1"),
        title="Wednesday",
        season="Wednesday: Season 1",
        hours=1_718_800_000,
        views=252_100_000,
        runtime=6.8167,
    )
    assert charts[0].entries[2].runtime == 2.0  # "2" in the file
    assert all(entry.season is None for entry in charts[0].entries)


def test_all_time_lists_of_the_28_day_era() -> None:
    charts = parse_most_popular(fixture_lines(MOST_POPULAR_28), date(2022, 2, 8))

    assert [chart.key.category for chart in charts] == [
        "Films (English) · first 28 days",
        "Films (Non-English) · first 28 days",
        "TV (English) · first 28 days",
        "TV (Non-English) · first 28 days",
    ]
    assert all(chart.rows == 10 and chart.parse_error is None for chart in charts)
    money_heist = charts[3].entries[3]
    assert (money_heist.title, money_heist.season, money_heist.hours) == (
        "Money Heist",
        "Money Heist: Part 5",
        395_130_000,
    )
    assert all(entry.views is None and entry.runtime is None for c in charts for entry in c.entries)
    assert charts[3].entries[5].title == "Café con aroma de mujer"


def test_all_time_list_expects_as_many_rows_as_the_file_gives_its_category() -> None:
    lines = fixture_lines(MOST_POPULAR_91)
    del lines[15]  # one of "Films (Non-English)"

    charts = parse_most_popular(lines, SNAPSHOT)
    assert [(chart.rows, chart.expected_size) for chart in charts] == [
        (10, 10),
        (9, 9),
        (10, 10),
        (10, 10),
    ]


def test_an_unreadable_all_time_row_marks_its_list() -> None:
    lines = fixture_lines(MOST_POPULAR_91)
    lines[23] = replace_field(lines[23], 4, "1.2B")

    charts = parse_most_popular(lines, SNAPSHOT)
    assert [chart.parse_error for chart in charts] == [
        None,
        None,
        "line 24: hours_viewed_first_91_days '1.2B' is not a number",
        None,
    ]
    assert (charts[2].rows, charts[2].expected_size) == (9, 10)


def test_an_all_time_header_without_its_hours_column_is_rejected() -> None:
    lines = fixture_lines(MOST_POPULAR_28)
    lines[0] = lines[0].replace("hours_viewed_first_28_days", "hours")

    with pytest.raises(SourceError, match="missing columns: hours_viewed_first_<N>_days"):
        parse_most_popular(lines, SNAPSHOT)
