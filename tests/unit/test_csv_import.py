"""The canonical CSV importer: real-data example, round trips, regions, and broken input."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from bot.models import WORLD, Chart, ChartKey, Entry, make_title_id
from bot.sources.csv_export import canonical_csv_lines
from bot.sources.csv_import import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    canonical_header_matches,
    error_body_reason,
    parse_canonical_csv,
)
from bot.sources.daily_series import parse_the_numbers
from bot.sources.errors import SourceError
from bot.validate import validate_chart

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
EXAMPLE = FIXTURES / "csv" / "example.csv"
GLOBAL_EXCERPT = FIXTURES / "csv" / "netflix-global-excerpt.csv"
THE_NUMBERS_EXCERPT = FIXTURES / "daily" / "the-numbers-netflix-us-2021-07-16_26.csv"

HEADER = "date,service,region,category,rank,title"


def read_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def top10_rows(day: str = "2024-01-07", region: str = "US", **extra: str) -> list[str]:
    extra_cells = "".join(f",{value}" for value in extra.values())
    return [
        f"{day},netflix,{region},Films,{rank},Title {rank}{extra_cells}" for rank in range(1, 11)
    ]


def parse(lines: list[str]) -> list[Chart]:
    return parse_canonical_csv(lines, what="test.csv")


# --- the real example shown in the README -------------------------------------------------


def test_example_csv_is_three_accepted_days_of_the_real_us_series() -> None:
    charts = parse(read_lines(EXAMPLE))

    assert [chart.period for chart in charts] == [
        date(2021, 7, 17),
        date(2021, 7, 18),
        date(2021, 7, 19),
    ]
    assert {chart.key for chart in charts} == {ChartKey("csv", "netflix", "US", "Overall", "daily")}
    assert [validate_chart(chart) for chart in charts] == [None, None, None]
    first = charts[0].entries[0]
    assert (first.rank, first.title, first.days_in_top10) == (1, "Never Have I Ever", 16)
    assert first.title_id == make_title_id("Never Have I Ever", None)


def test_example_csv_holds_exactly_what_the_the_numbers_file_says() -> None:
    from_csv = {chart.period: chart.entries for chart in parse(read_lines(EXAMPLE))}
    series = parse_the_numbers(read_lines(THE_NUMBERS_EXCERPT), what="the-numbers")
    from_series = {chart.period: chart.entries for chart in series if chart.period in from_csv}

    assert from_csv == from_series


def test_columns_are_matched_by_name_in_any_order() -> None:
    lines = read_lines(EXAMPLE)
    rows = list(csv.reader(lines))
    order = [5, 0, 6, 4, 3, 1, 2]  # title,date,days_in_top10,rank,category,service,region
    shuffled = [",".join(_quote(row[i]) for i in order) for row in rows]

    assert parse(shuffled) == parse(lines)


def _quote(cell: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow([cell])
    return buffer.getvalue()


# --- round trips ----------------------------------------------------------------------------


def test_real_global_weeks_survive_a_round_trip_with_hours_views_runtime_and_seasons() -> None:
    charts = parse(read_lines(GLOBAL_EXCERPT))
    written = "".join(canonical_csv_lines(charts))

    assert parse(written.splitlines()) == charts
    assert written.splitlines()[0] == (
        "date,service,region,category,rank,title,season,weeks_in_top10,hours,views,runtime,"
        "granularity"
    )
    assert any(entry.season for chart in charts for entry in chart.entries)
    assert all(chart.key.region == WORLD and chart.key.granularity == "weekly" for chart in charts)


def test_every_optional_column_round_trips() -> None:
    key = ChartKey("flixpatrol", "netflix", WORLD, "TV Shows", "weekly")
    entries = tuple(
        Entry(
            rank=rank,
            title_id=f"/title/show-{rank}/",
            title=f'Show, "quoted" {rank}',
            season=f"Season {rank}",
            points=900 - rank,
            days_in_top10=rank * 3,
            weeks_in_top10=rank,
            hours=rank * 1_000_000,
            views=rank * 500_000,
            runtime=1.5 + rank,
        )
        for rank in range(1, 11)
    )
    chart = Chart(key, date(2026, 7, 19), entries)

    lines = "".join(canonical_csv_lines([chart])).splitlines()
    (parsed,) = parse(lines)

    assert lines[0].split(",") == list(REQUIRED_COLUMNS) + list(OPTIONAL_COLUMNS)
    assert parsed == replace(chart, key=replace(key, source="csv"))


def test_writing_an_all_time_list_is_refused() -> None:
    chart = Chart(ChartKey("netflix", "netflix", WORLD, "Films", "alltime"), date(2024, 1, 2), ())

    with pytest.raises(ValueError, match="only daily and weekly"):
        list(canonical_csv_lines([chart]))


# --- what a row means -----------------------------------------------------------------------


def test_rows_group_into_charts_sorted_by_period_then_key() -> None:
    lines = [HEADER, *top10_rows("2024-01-08", "US"), *top10_rows("2024-01-07", "GB")]
    lines += top10_rows("2024-01-07", "DE")

    charts = parse(lines)

    assert [(chart.period.isoformat(), chart.key.region) for chart in charts] == [
        ("2024-01-07", "DE"),
        ("2024-01-07", "GB"),
        ("2024-01-08", "US"),
    ]
    assert all(chart.rows == 10 and chart.expected_size == 10 for chart in charts)


def test_granularity_defaults_to_daily_and_accepts_weekly() -> None:
    lines = [HEADER + ",granularity", *top10_rows(granularity="weekly")]
    lines += [f"2024-01-07,netflix,US,Films,{rank},T{rank}," for rank in range(1, 11)]

    charts = parse(lines)

    assert sorted(chart.key.granularity for chart in charts) == ["daily", "weekly"]


def test_title_id_defaults_to_title_and_season_and_can_be_given() -> None:
    lines = [
        HEADER + ",season,title_id",
        "2024-01-07,netflix,US,TV,1,Stranger Things,Stranger Things 4,",
        "2024-01-07,netflix,US,TV,2,Wednesday,,/title/wednesday/",
    ]

    entries = parse(lines)[0].entries

    assert entries[0].title_id == make_title_id("Stranger Things", "Stranger Things 4")
    assert entries[0].season == "Stranger Things 4"
    assert (entries[1].title_id, entries[1].season) == ("/title/wednesday/", None)


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("US", "US"),
        ("gb", "GB"),
        (" kr ", "KR"),
        ("WORLD", WORLD),
        ("world", WORLD),
        ("Worldwide", WORLD),
        ("WORLDWIDE", WORLD),
        ("xk", "XK"),
    ],
)
def test_regions_are_iso_codes_or_world(written: str, stored: str) -> None:
    (chart,) = parse([HEADER, *top10_rows(region=written)])

    assert (chart.key.region, chart.parse_error) == (stored, None)


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("UK", "line 2: region 'UK' is not an ISO 3166-1 alpha-2 code (GB?)"),
        ("ZZ", "line 2: region 'ZZ' is not an ISO 3166-1 alpha-2 code or WORLD"),
        ("USA", "line 2: region 'USA' is not an ISO 3166-1 alpha-2 code or WORLD"),
        ("global", "line 2: region 'global' is not an ISO 3166-1 alpha-2 code or WORLD"),
    ],
)
def test_a_region_that_is_not_a_code_rejects_its_chart(written: str, reason: str) -> None:
    (chart,) = parse([HEADER, *top10_rows(region=written)])

    assert chart.parse_error == reason
    assert validate_chart(chart) == reason


def test_more_than_ten_ranks_is_not_a_bigger_chart() -> None:
    rows = [f"2024-01-07,netflix,US,Films,{rank},Title {rank}" for rank in range(1, 12)]

    (chart,) = parse([HEADER, *rows])

    assert chart.expected_size == 10
    assert validate_chart(chart) == "11 rows, expected ranks 1..10"


def test_header_may_carry_a_byte_order_mark_and_blank_lines_are_skipped() -> None:
    (chart,) = parse(["\ufeff" + HEADER, "", *top10_rows(), "   "])

    assert chart.rows == 10 and chart.parse_error is None


# --- malformed rows: that chart is rejected, the others go on --------------------------------


@pytest.mark.parametrize(
    ("bad_row", "reason"),
    [
        ("2024-01-07,netflix,US,Films,x,Title 3,3", "line 4: rank 'x' is not a whole number"),
        ("2024-01-07,netflix,US,Films,3,Title 3,1.5", "line 4: points '1.5' is not a whole number"),
        ("2024-01-07,netflix,US,Films,3", "line 4: 5 fields, expected 7"),
        ("2024-01-07,netflix,US,Films,3,Title, 3,7", "line 4: 8 fields, expected 7"),
    ],
)
def test_a_malformed_row_sets_its_charts_parse_error(bad_row: str, reason: str) -> None:
    good = [f"2024-01-07,netflix,US,Films,{rank},Title {rank},{rank}" for rank in range(1, 11)]
    other_chart = [f"2024-01-07,netflix,GB,Films,{rank},Title {rank},1" for rank in range(1, 11)]
    lines = [HEADER + ",points", *good[:2], bad_row, *good[3:], *other_chart]

    gb, us = parse(lines)

    assert us.parse_error == reason
    assert validate_chart(us) == reason
    assert validate_chart(gb) is None


def test_a_truncated_file_rejects_only_the_chart_it_cut() -> None:
    text = "\n".join([HEADER + ",days_in_top10", *top10_rows("2021-07-18", days="4")])
    text += "\n" + "\n".join(top10_rows("2021-07-19", days="5"))
    truncated = text[: text.rindex(",Title 10")]  # the download stopped mid-line

    first, second = parse(truncated.splitlines())

    assert validate_chart(first) is None
    assert second.parse_error == "line 21: 5 fields, expected 7"
    assert validate_chart(second) == "line 21: 5 fields, expected 7"


@pytest.mark.parametrize(
    ("bad_row", "reason"),
    [
        ("07/01/2024,netflix,US,Films,1,X", "line 2: date '07/01/2024' is not YYYY-MM-DD"),
        ("2024-01-07,,US,Films,1,X", "line 2: empty service"),
        ("2024-01-07,netflix,US,,1,X", "line 2: empty category"),
    ],
)
def test_a_row_that_belongs_to_no_chart_makes_the_file_unusable(bad_row: str, reason: str) -> None:
    with pytest.raises(SourceError) as caught:
        parse([HEADER, bad_row])

    assert (caught.value.reason, caught.value.source, caught.value.what) == (
        reason,
        "csv",
        "test.csv",
    )


def test_an_unknown_granularity_makes_the_file_unusable() -> None:
    with pytest.raises(SourceError, match="granularity 'monthly' is not daily or weekly"):
        parse([HEADER + ",granularity", "2024-01-07,netflix,US,Films,1,X,monthly"])


# --- bodies that are not a canonical CSV at all --------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("", "empty body"),
        ("\n  \n", "empty body"),
        ("null", "body is `null`"),
        (
            "<html><head><title>301 Moved Permanently</title></head></html>",
            "HTML page instead of a chart file",
        ),
        ("<!DOCTYPE html>\n<html lang=en>Page Not Found", "HTML page instead of a chart file"),
        (HEADER, "header without any rows"),
        (
            "As of,Rank,Year to Date Rank,Last Week Rank,Title,Type,Netflix Exclusive,"
            "Netflix Release Date,Days In Top 10,Viewership Score\n4/1/2020,1,1,1,Ozark,TV Show",
            "not a canonical CSV: missing column(s) date, service, region, category",
        ),
        (
            HEADER + ",day_in_top10\n2024-01-07,netflix,US,Films,1,X,3",
            "unknown column(s) day_in_top10",
        ),
        ("date,service,region,category,rank,title,rank", "a column is named twice in the header"),
    ],
)
def test_unusable_bodies_raise_source_error(body: str, reason: str) -> None:
    with pytest.raises(SourceError) as caught:
        parse(body.splitlines())

    assert caught.value.reason == reason


@pytest.mark.parametrize(
    ("first_line", "matches"),
    [
        (HEADER, True),
        ("title,rank,date,region,category,service,season", True),
        ("\ufeffDate, Service ,REGION,category,rank,title\r\n", True),
        ("date,service,region,category,rank", False),
        ("week\tcategory\tweekly_rank\tshow_title\tseason_title\tweekly_hours_viewed", False),
        ("commit,commit_time_utc,list,rank,name,id,description", False),
        ("", False),
    ],
)
def test_canonical_header_sniffing(first_line: str, matches: bool) -> None:
    assert canonical_header_matches(first_line) is matches


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("\ufeff null \n", "body is `null`"),
        ("  <?xml version='1.0'?><html/>", "HTML page instead of a chart file"),
        ("week\tcategory\n<b>not html at the start</b>", None),
        (HEADER, None),
    ],
)
def test_error_body_reason(body: str, reason: str | None) -> None:
    assert error_body_reason(body) == reason
