"""The per-country file, parsed in file order and streamed in period order
(bot/sources/netflix/stream.py)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.models import Chart, ChartKey, Entry, make_title_id
from bot.sources.errors import SourceError
from bot.sources.netflix import (
    iter_countries_file_by_period,
    parse_countries,
)
from tests.netflix_files import (
    COUNTRIES,
    find_chart,
    fixture_lines,
    fixture_text,
    line_index,
    replace_field,
)

# --------------------------------------------------------------------------- per-country file


def test_countries_excerpt_gives_films_and_tv_per_country_and_week_in_file_order() -> None:
    charts = list(parse_countries(fixture_lines(COUNTRIES)))

    assert len(charts) == 24
    assert all(chart.rows == 10 and chart.parse_error is None for chart in charts)
    assert [(c.key.region, c.period.isoformat(), c.key.category) for c in charts[:4]] == [
        ("AR", "2022-02-27", "Films"),
        ("AR", "2022-02-27", "TV"),
        ("AR", "2022-02-20", "Films"),
        ("AR", "2022-02-20", "TV"),
    ]
    assert [chart.key.region for chart in charts[::6]] == ["AR", "JP", "KR", "US"]
    assert all(
        chart.key == ChartKey("netflix", "netflix", chart.key.region, chart.key.category, "weekly")
        for chart in charts
    )


def test_country_rows_keep_their_cumulative_weeks_and_have_no_hours() -> None:
    charts = list(parse_countries(fixture_lines(COUNTRIES)))
    korea_tv = find_chart(charts, "KR", "TV", "2022-02-27")
    japan_films = find_chart(charts, "JP", "Films", "2022-02-13")

    assert all(entry.hours is None and entry.views is None for c in charts for entry in c.entries)
    assert all(
        entry.weeks_in_top10 and entry.weeks_in_top10 >= 1 for c in charts for entry in c.entries
    )
    titles = {entry.title for chart in charts for entry in chart.entries}
    assert {"레드슈즈", "Café con aroma de mujer", "It’s Your Fault That My Heart Beats"} <= titles
    assert korea_tv.entries[0] == Entry(
        rank=1,
        title_id="juvenile justice|juvenile justice season 1",
        title="Juvenile Justice",
        season="Juvenile Justice: Season 1",
        weeks_in_top10=1,
    )
    assert japan_films.entries[4] == Entry(
        rank=5,
        title_id=make_title_id("It’s Your Fault That My Heart Beats", None),
        title="It’s Your Fault That My Heart Beats",
        weeks_in_top10=2,
    )


def write_fixture_copy(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "all-weeks-countries.tsv"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_bytes(text.encode("utf-8"))
    return path


def assert_period_order(charts: list[Chart]) -> None:
    order = [(chart.period, chart.key.region) for chart in charts]
    assert order == sorted(order)


def test_streamed_reader_yields_the_same_charts_oldest_week_first(tmp_path: Path) -> None:
    text = fixture_text(COUNTRIES)
    streamed = list(iter_countries_file_by_period(write_fixture_copy(tmp_path, text)))
    in_file_order = list(parse_countries(text.split("\n")))

    assert Counter(streamed) == Counter(in_file_order)
    assert_period_order(streamed)
    assert [(c.period.isoformat(), c.key.region, c.key.category) for c in streamed[:3]] == [
        ("2022-02-13", "AR", "Films"),
        ("2022-02-13", "AR", "TV"),
        ("2022-02-13", "JP", "Films"),
    ]


def corrupt_line(
    key: tuple[str, ...], change: Callable[[str], str]
) -> Callable[[list[str]], list[str]]:
    def corrupt(lines: list[str]) -> list[str]:
        index = line_index(lines, *key)
        return [*lines[:index], change(lines[index]), *lines[index + 1 :]]

    return corrupt


def truncate_text(keep: int) -> Callable[[list[str]], list[str]]:
    return lambda lines: "\n".join(lines)[:keep].split("\n")


def move_block_to_end(lines: list[str]) -> list[str]:
    block = [line for line in lines if line.startswith("Japan\tJP\t2022-02-20\t")]
    return [line for line in lines if line not in block] + block


def duplicate_block_at_end(lines: list[str]) -> list[str]:
    return lines + [line for line in lines if line.startswith("Argentina\tAR\t2022-02-13\tTV\t")]


COUNTRY_CORRUPTIONS: dict[str, Callable[[list[str]], list[str]]] = {
    "bad-rank": corrupt_line(
        ("Japan", "JP", "2022-02-20", "TV", "4"), lambda line: replace_field(line, 4, "4th")
    ),
    "blank-title": corrupt_line(
        ("Argentina", "AR", "2022-02-13", "Films", "9"), lambda line: replace_field(line, 5, "")
    ),
    "extra-tab": corrupt_line(
        ("United States", "US", "2022-02-27", "TV", "2"), lambda line: line.replace(" ", "\t", 1)
    ),
    "truncated-at-block-start": corrupt_line(
        ("South Korea", "KR", "2022-02-20", "Films", "1"), lambda line: line[:30]
    ),
    "bad-week-at-block-start": corrupt_line(
        ("South Korea", "KR", "2022-02-13", "Films", "1"),
        lambda line: replace_field(line, 2, "2022-02-31"),
    ),
    "blank-category-at-block-start": corrupt_line(
        ("Japan", "JP", "2022-02-27", "Films", "1"), lambda line: replace_field(line, 3, "")
    ),
    "bad-country-code-at-block-start": corrupt_line(
        ("United States", "US", "2022-02-13", "Films", "1"),
        lambda line: replace_field(line, 1, "USA"),
    ),
    "not-a-sunday": lambda lines: [
        line.replace("\t2022-02-20\t", "\t2022-02-21\t") if line.startswith("Japan") else line
        for line in lines
    ],
    "carriage-return-at-block-start": corrupt_line(
        ("Argentina", "AR", "2022-02-20", "Films", "1"),
        lambda line: line.replace("\tFilms\t", "\tFilms\r\t"),
    ),
    "crlf": lambda lines: [line + "\r" for line in lines],
    "blank-lines": lambda lines: [*lines[:40], "", "", *lines[40:100], "", *lines[100:], ""],
    "first-row-cut": lambda lines: [lines[0], lines[1][:9], *lines[2:]],
    "blank-lines-before-header": lambda lines: ["", " ", *lines],
    "truncated-mid-row": truncate_text(len(fixture_text(COUNTRIES)) - 7),
    "truncated-in-key": truncate_text(len(fixture_text(COUNTRIES)) - 40),
    "block-moved-to-end": move_block_to_end,
    "chart-repeated-at-end": duplicate_block_at_end,
    "header-with-bom": lambda lines: ["\ufeff" + lines[0], *lines[1:]],
    # country_name is not part of a chart's key: a row naming the country otherwise stays in it.
    "country-name-varies": corrupt_line(
        ("United States", "US", "2022-02-20", "Films", "6"),
        lambda line: line.replace("United States", "USA", 1),
    ),
}


@pytest.mark.parametrize("corruption", sorted(COUNTRY_CORRUPTIONS))
def test_streamed_reader_agrees_with_the_line_parser_on_damaged_files(
    corruption: str, tmp_path: Path
) -> None:
    lines = COUNTRY_CORRUPTIONS[corruption](fixture_lines(COUNTRIES))
    text = "\n".join(lines)
    streamed = list(iter_countries_file_by_period(write_fixture_copy(tmp_path, text)))
    in_file_order = list(parse_countries(text.split("\n")))

    assert Counter(streamed) == Counter(in_file_order)
    assert_period_order(streamed)
    harmless = {
        "crlf",
        "blank-lines",
        "blank-lines-before-header",
        "header-with-bom",
        "block-moved-to-end",
        "country-name-varies",
    }
    if corruption not in harmless:
        assert any(chart.parse_error for chart in streamed), "the damage must show somewhere"
    else:
        assert not any(chart.parse_error for chart in streamed)


def test_damage_in_one_country_week_stays_in_its_chart() -> None:
    lines = COUNTRY_CORRUPTIONS["bad-rank"](fixture_lines(COUNTRIES))
    line_no = line_index(lines, "Japan", "JP", "2022-02-20", "TV", "4th") + 1
    damaged = [chart for chart in parse_countries(lines) if chart.parse_error]

    assert [chart.label() for chart in damaged] == ["netflix/netflix/JP/TV/weekly@2022-02-20"]
    assert damaged[0].parse_error == f"line {line_no}: rank '4th' is not a number"


def test_streamed_reader_reports_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    data = fixture_text(COUNTRIES).encode("utf-8")
    broken = data.replace("레드슈즈".encode(), b"\xed\xa0\x80", 1)  # a lone surrogate
    line_no = data[: data.index("레드슈즈".encode())].count(b"\n") + 1

    charts = list(iter_countries_file_by_period(write_fixture_copy(tmp_path, broken)))
    damaged = [chart for chart in charts if chart.parse_error]
    assert len(charts) == 24
    assert len(damaged) == 1
    assert damaged[0].parse_error == f"line {line_no}: not valid UTF-8"
    assert damaged[0].key.region == "KR" and damaged[0].rows == 9


DAMAGE = st.one_of(
    st.tuples(st.just("cut"), st.integers(0, 10_000), st.integers(1, 40)),
    st.tuples(
        st.just("insert"),
        st.integers(0, 10_000),
        st.sampled_from(["\t", "\n", "\r", "x", " ", "\t\t"]),
    ),
    st.tuples(st.just("swap"), st.integers(1, 60), st.integers(1, 60)),
    st.tuples(st.just("duplicate"), st.integers(1, 60), st.integers(1, 60)),
)


def damage_text(text: str, damages: list[tuple[str, int, object]]) -> str:
    for kind, first, second in damages:
        if kind == "cut":
            start = first % (len(text) + 1)
            text = text[:start] + text[start + int(str(second)) :]
        elif kind == "insert":
            start = first % (len(text) + 1)
            text = text[:start] + str(second) + text[start:]
        else:
            lines = text.split("\n")
            a, b = first % len(lines), int(str(second)) % len(lines)
            if kind == "swap":
                lines[a], lines[b] = lines[b], lines[a]
            else:
                lines.insert(b, lines[a])
            text = "\n".join(lines)
    return text


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(damages=st.lists(DAMAGE, min_size=1, max_size=4))
def test_streamed_reader_and_line_parser_agree_on_random_damage(
    damages: list[tuple[str, int, object]], tmp_path: Path
) -> None:
    # Two countries, two weeks: small enough for many examples, with several blocks per week.
    lines = fixture_lines(COUNTRIES)
    kept = [lines[0]] + [
        line
        for line in lines[1:]
        if line.split("\t")[1] in {"AR", "JP"} and "\t2022-02-13\t" not in line
    ]
    text = damage_text("\n".join(kept), damages)

    def outcome(parse: Callable[[], Iterable[Chart]]) -> Counter[Chart] | str:
        try:
            return Counter(parse())
        except SourceError as error:
            return error.reason

    streamed = outcome(
        lambda: list(iter_countries_file_by_period(write_fixture_copy(tmp_path, text)))
    )
    in_file_order = outcome(lambda: list(parse_countries(text.split("\n"))))
    assert streamed == in_file_order
