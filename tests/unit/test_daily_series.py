"""The two real daily series: the-numbers' Netflix US list and the FlixPatrol Netflix NL scrape."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from itertools import pairwise
from pathlib import Path

import pytest

from bot.models import Chart, ChartKey, make_title_id
from bot.sources.daily_series import (
    is_flixpatrol_scrape_header,
    is_the_numbers_header,
    parse_flixpatrol_nl_scrape,
    parse_the_numbers,
    repair_double_encoding,
)
from bot.sources.errors import SourceError
from bot.validate import validate_chart

DAILY = Path(__file__).resolve().parent.parent / "fixtures" / "daily"
THE_NUMBERS = DAILY / "the-numbers-netflix-us-2021-07-16_26.csv"
FLIXPATROL_NL = DAILY / "flixpatrol-netflix-nl-scrape-excerpt.csv"

US_KEY = ChartKey("the-numbers", "netflix", "US", "Overall", "daily")
NL_MOVIES = ChartKey("flixpatrol", "netflix", "NL", "Movies", "daily")
NL_SHOWS = ChartKey("flixpatrol", "netflix", "NL", "TV Shows", "daily")
REPEATED_LIST = "the TV Shows list repeats the Movies list title for title (scraper bug)"

THE_NUMBERS_HEADER = (
    "As of,Rank,Year to Date Rank,Last Week Rank,Title,Type,Netflix Exclusive,"
    "Netflix Release Date,Days In Top 10,Viewership Score"
)
SCRAPE_HEADER = "commit,commit_time_utc,list,rank,name,id,description"


def file_lines(path: Path) -> list[str]:
    """Lines as a file handle yields them: line endings (CRLF here) kept."""
    with path.open(encoding="utf-8", newline="") as handle:
        return list(handle)


def the_numbers() -> list[Chart]:
    return parse_the_numbers(file_lines(THE_NUMBERS), what=THE_NUMBERS.name)


def flixpatrol_nl(lines: list[str] | None = None) -> list[Chart]:
    return parse_flixpatrol_nl_scrape(
        file_lines(FLIXPATROL_NL) if lines is None else lines, what=FLIXPATROL_NL.name
    )


def by_period(charts: list[Chart], key: ChartKey) -> dict[date, Chart]:
    return {chart.period: chart for chart in charts if chart.key == key}


# --- the-numbers: Netflix US daily ------------------------------------------------------------


def test_the_numbers_excerpt_is_one_overall_chart_per_day() -> None:
    charts = the_numbers()

    assert [chart.period for chart in charts] == [date(2021, 7, day) for day in range(16, 27)]
    assert {chart.key for chart in charts} == {US_KEY}
    assert all(chart.rows == 10 and chart.parse_error is None for chart in charts)


def test_the_numbers_rows_map_days_but_not_the_viewership_score() -> None:
    chart = by_period(the_numbers(), US_KEY)[date(2021, 7, 16)]
    first, last = chart.entries[0], chart.entries[-1]

    # 7/16/2021,1,1,-,Virgin River,TV Show,Yes,6-Dec-19,34,235
    assert (first.rank, first.title, first.days_in_top10, first.points) == (
        1,
        "Virgin River",
        34,
        None,
    )
    assert first.title_id == make_title_id("Virgin River", None)
    assert (last.rank, last.title, last.days_in_top10) == (10, "Fear Street Part 2: 1978", 7)


def test_line_endings_do_not_matter() -> None:
    stripped = THE_NUMBERS.read_text(encoding="utf-8").splitlines()

    assert parse_the_numbers(stripped, what="x") == the_numbers()


def test_the_five_july_2021_days_with_a_twice_listed_title_are_rejected_and_the_rest_pass() -> None:
    reasons = {chart.period.day: validate_chart(chart) for chart in the_numbers()}

    twilight = "duplicate title 'The Twilight Saga: Breaking…' at ranks"
    assert reasons == {
        16: None,
        17: None,
        18: None,
        19: None,
        20: f"{twilight} 8 and 10",
        21: f"{twilight} 7 and 9",
        22: f"{twilight} 7 and 9",
        23: f"{twilight} 6 and 10",
        24: None,
        25: f"{twilight} 9 and 10",
        26: None,
    }


def test_each_day_passes_the_gate_with_the_day_before_as_previous() -> None:
    charts = [chart for chart in the_numbers() if validate_chart(chart) is None]

    assert [validate_chart(now, before) for before, now in pairwise(charts)] == [None] * (
        len(charts) - 1
    )


def test_a_bad_rank_or_a_cut_line_rejects_that_day_only() -> None:
    lines = [THE_NUMBERS_HEADER]
    lines += [f"3/10/2022,{rank},1,1,Title {rank},Movie,,1-Mar-22,2,20" for rank in range(1, 11)]
    lines += [f"3/11/2022,{rank},1,1,Title {rank},Movie,,1-Mar-22,3,20" for rank in range(1, 10)]
    lines += ["3/11/2022,ten,1,1,Title 10,Movie,,1-Mar-22,3,20", "3/11/2022,10,1,1"]

    first, second = parse_the_numbers(lines, what="x")

    assert validate_chart(first) is None
    assert second.parse_error == "line 21: rank 'ten' is not a whole number"
    assert validate_chart(second) == "line 21: rank 'ten' is not a whole number"


def test_a_day_with_a_non_numeric_days_count_is_rejected() -> None:
    lines = [THE_NUMBERS_HEADER, "3/11/2022,1,1,1,Ozark,TV Show,Yes,21-Jul-17,many,45"]

    (chart,) = parse_the_numbers(lines, what="x")

    assert chart.parse_error == "line 2: days in top 10 'many' is not a whole number"


# --- FlixPatrol Netflix NL scrape -------------------------------------------------------------


def test_scrape_gives_one_chart_per_list_per_utc_day_dated_the_day_before() -> None:
    charts = flixpatrol_nl()

    commit_days = [(2025, 10, d) for d in (17, 18, 19, 20)] + [(2026, 1, d) for d in (10, 11, 12)]
    commit_days += [(2026, 7, d) for d in (6, 7, 8)]
    chart_days = [date(y, m, d - 1) for y, m, d in commit_days]
    assert sorted(by_period(charts, NL_MOVIES)) == chart_days
    assert sorted(by_period(charts, NL_SHOWS)) == chart_days
    assert [chart.period for chart in charts] == sorted(chart.period for chart in charts)


def test_the_last_commit_of_a_day_wins() -> None:
    movies = by_period(flixpatrol_nl(), NL_MOVIES)[date(2025, 10, 16)]

    assert movies.extra == {
        "commit": "3fd2e1baf09d8db14d556db97efd7cfe38535bf3",
        "committed_at": "2025-10-17T15:04:17+00:00",
    }
    assert movies.entries[0].title == "The Woman in Cabin 10"
    assert validate_chart(movies) is None


def test_the_last_commit_wins_even_when_the_file_lists_it_first() -> None:
    lines = file_lines(FLIXPATROL_NL)
    header, rows = lines[0], lines[1:]
    rows_of_first_day = [row for row in rows if ",2025-10-17T" in row]
    reordered = [header, *reversed(rows_of_first_day)]

    movies = by_period(flixpatrol_nl(reordered), NL_MOVIES)[date(2025, 10, 16)]

    assert movies.extra["commit"] == "3fd2e1baf09d8db14d556db97efd7cfe38535bf3"


def test_the_scrapers_numbers_instead_of_titles_are_kept_and_rejected() -> None:
    lines = file_lines(FLIXPATROL_NL)
    first_commit = [lines[0]] + [line for line in lines if line.startswith("b6481a9e")]

    movies = by_period(flixpatrol_nl(first_commit), NL_MOVIES)[date(2025, 10, 16)]

    assert [entry.title for entry in movies.entries[:3]] == ["1.0", "2.0", "3.0"]
    assert validate_chart(movies) == "titles look like ranks (1.0, 2.0, …)"


def test_a_commit_without_rank_one_is_rejected() -> None:
    lines = file_lines(FLIXPATROL_NL)
    second_commit = [lines[0]] + [line for line in lines if line.startswith("9282f1e9")]

    movies = by_period(flixpatrol_nl(second_commit), NL_MOVIES)[date(2025, 10, 16)]

    assert [entry.rank for entry in movies.entries] == list(range(2, 11))
    assert validate_chart(movies) == "9 rows, expected ranks 1..10"


def test_known_bad_nl_days_are_rejected_with_their_reason_and_the_rest_pass() -> None:
    charts = flixpatrol_nl()

    movie_reasons = {
        chart.period: validate_chart(chart) for chart in charts if chart.key == NL_MOVIES
    }
    show_reasons = {
        chart.period: validate_chart(chart) for chart in charts if chart.key == NL_SHOWS
    }

    assert movie_reasons.pop(date(2025, 10, 17)) == "8 rows, expected ranks 1..10"
    assert set(movie_reasons.values()) == {None}
    # The scraper copied the Movies list into "series" on every day of the file.
    assert set(show_reasons.values()) == {REPEATED_LIST}


def test_title_ids_follow_names_not_the_scrapers_flipping_tmdb_ids() -> None:
    movies = by_period(flixpatrol_nl(), NL_MOVIES)

    def ids_of(title: str, period: date) -> list[str]:
        return [e.title_id for e in movies[period].entries if e.title == title]

    # "Our Girls" is tmdb:movie:1457705 on 01-09 and 01-11 but tmdb:movie:1079529 on 01-10.
    our_girls = {ids_of("Our Girls", date(2026, 1, day))[0] for day in (9, 10, 11)}
    assert our_girls == {make_title_id("Our Girls", None)}
    # "Enola Holmes" carried the id of "Enola Holmes 3" while both were listed.
    assert ids_of("Enola Holmes", date(2026, 7, 6)) != ids_of("Enola Holmes 3", date(2026, 7, 6))
    assert validate_chart(movies[date(2026, 7, 6)]) is None


def test_an_unknown_list_is_kept_under_its_name_and_rejected() -> None:
    rows = [
        f"abc,2026-01-02T07:00:00+00:00,kids,{rank},Kid {rank},tmdb:tv:{rank},x"
        for rank in range(1, 11)
    ]

    (chart,) = flixpatrol_nl([SCRAPE_HEADER, *rows])

    assert chart.key.category == "kids"
    assert chart.period == date(2026, 1, 1)
    assert validate_chart(chart) == "line 2: unknown list 'kids'"


def test_a_naive_commit_time_is_taken_as_utc_and_an_offset_is_converted() -> None:
    rows = ["a,2026-01-02T00:30:00+02:00,movies,1,Film,tmdb:movie:1,x"]
    rows += ["b,2026-01-02T06:30:00,movies,1,Film,tmdb:movie:1,x"]

    charts = flixpatrol_nl([SCRAPE_HEADER, *rows])

    assert [(c.period, c.extra["commit"]) for c in charts] == [
        (date(2025, 12, 31), "a"),  # 2026-01-01T22:30 UTC
        (date(2026, 1, 1), "b"),
    ]


def test_bad_rows_in_the_scrape() -> None:
    rows = [
        f"abc,2026-01-02T07:00:00+00:00,movies,{rank},Film {rank},tmdb:movie:{rank},x"
        for rank in range(1, 10)
    ]
    rows += ["abc,2026-01-02T07:00:00+00:00,movies,ten,Film 10,tmdb:movie:10,x"]
    rows += ["abc,2026-01-02T07:00:00+00:00,series,1"]

    movies, shows = sorted(flixpatrol_nl([SCRAPE_HEADER, *rows]), key=lambda c: c.key.category)

    assert movies.parse_error == "line 11: rank 'ten' is not a whole number"
    assert shows.parse_error == "line 12: 4 fields, expected 7"


def test_a_bad_commit_time_makes_the_file_unusable() -> None:
    with pytest.raises(
        SourceError, match="line 2: commit time 'yesterday' is not an ISO timestamp"
    ):
        flixpatrol_nl([SCRAPE_HEADER, "abc,yesterday,movies,1,Film,tmdb:movie:1,x"])


def test_a_bad_date_makes_the_the_numbers_file_unusable() -> None:
    with pytest.raises(SourceError, match=r"line 2: date '2022-03-11' is not M/D/YYYY"):
        parse_the_numbers([THE_NUMBERS_HEADER, "2022-03-11,1,1,1,Ozark,TV Show,,,1,10"], what="x")


# --- unusable bodies and header sniffing ---------------------------------------------------------

Parser = Callable[..., list[Chart]]
PARSERS: list[Parser] = [parse_the_numbers, parse_flixpatrol_nl_scrape]


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("", "empty body"),
        ("null", "body is `null`"),
        (
            "<!DOCTYPE html><html><title>Page Not Found</title></html>",
            "HTML page instead of a chart file",
        ),
        (
            "date,service,region,category,rank,title\n2024-01-07,netflix,US,Films,1,X",
            "wrong header",
        ),
    ],
)
def test_unusable_bodies_raise(parser: Parser, body: str, reason: str) -> None:
    with pytest.raises(SourceError) as caught:
        parser(body.splitlines(), what="x")

    assert caught.value.reason.startswith(reason)


@pytest.mark.parametrize(
    ("parser", "header"),
    [(parse_the_numbers, THE_NUMBERS_HEADER), (parse_flixpatrol_nl_scrape, SCRAPE_HEADER)],
)
def test_a_header_without_rows_is_unusable(parser: Parser, header: str) -> None:
    with pytest.raises(SourceError, match="header without any rows"):
        parser([header, ""], what="x")


@pytest.mark.parametrize(
    ("first_line", "the_numbers", "scrape"),
    [
        (THE_NUMBERS_HEADER + "\r\n", True, False),
        ("\ufeff" + THE_NUMBERS_HEADER, True, False),
        (SCRAPE_HEADER, False, True),
        ("commit,commit_time_utc,list,rank,name,id", False, True),
        ("date,service,region,category,rank,title", False, False),
        ("As of,Rank,Title", False, False),
        ("", False, False),
    ],
)
def test_header_sniffers(first_line: str, the_numbers: bool, scrape: bool) -> None:
    assert is_the_numbers_header(first_line) is the_numbers
    assert is_flixpatrol_scrape_header(first_line) is scrape


def test_titles_encoded_twice_read_as_the_real_title_and_pass_the_gate() -> None:
    path = DAILY / "the-numbers-netflix-us-2020-04-14_15.csv"
    charts = by_period(parse_the_numbers(file_lines(path), what=path.name), US_KEY)
    day = charts[date(2020, 4, 15)]
    assert "Chris D’Elia: No Pain" in [entry.title for entry in day.entries]
    assert validate_chart(day, charts[date(2020, 4, 14)]) is None


@pytest.mark.parametrize(
    ("stored", "meant"),
    [
        ("Workin\u00e2\u0080\u0099 Moms", "Workin’ Moms"),
        ("There\u00e2\u0080\u0099s Someone Inside Your…", "There’s Someone Inside Your…"),
        ("Pokémon", "Pokémon"),  # real Latin-1 letters are never "repaired"
        ("Crème brûlée", "Crème brûlée"),
        ("\u00e2\u0080", "\u00e2\u0080"),  # a cut sequence is left for the gate to refuse
    ],
)
def test_repair_double_encoding(stored: str, meant: str) -> None:
    assert repair_double_encoding(stored) == meant
