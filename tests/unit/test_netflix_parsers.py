"""Parsers of Netflix's official Top 10 files, on real excerpts (tests/fixtures/netflix/)."""

from __future__ import annotations

import pickle
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.models import WORLD, Chart, ChartKey, Entry, make_title_id
from bot.sources.errors import SourceError
from bot.sources.netflix import (
    body_problem,
    iter_countries_file_by_period,
    parse_countries,
    parse_global,
    parse_most_popular,
    read_global_file,
    sniff_netflix_header,
    sorted_by_period,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "netflix"
GLOBAL_CURRENT = "all-weeks-global.tsv"
GLOBAL_7_COLUMNS = "all-weeks-global.2021-11_2023-05-header.tsv"
GLOBAL_STAGGERED = "all-weeks-global.2023-07_2024-11-header.tsv"
GLOBAL_OVERRIDE = "all-weeks-global.2024-11_2025-06-header.tsv"
COUNTRIES = "all-weeks-countries.tsv"
MOST_POPULAR_91 = "most-popular.tsv"
MOST_POPULAR_28 = "most-popular.2022-02-09.tsv"

GLOBAL_CATEGORIES = {"Films (English)", "Films (Non-English)", "TV (English)", "TV (Non-English)"}
SNAPSHOT = date(2026, 7, 21)


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def fixture_lines(name: str) -> list[str]:
    return fixture_text(name).split("\n")


def charts_by_label(charts: Iterable[Chart]) -> dict[str, Chart]:
    return {chart.label(): chart for chart in charts}


def global_key(category: str) -> ChartKey:
    return ChartKey("netflix", "netflix", WORLD, category, "weekly")


def week(text: str) -> date:
    return date.fromisoformat(text)


def find_chart(charts: Iterable[Chart], region: str, category: str, period: str) -> Chart:
    matches = [
        chart
        for chart in charts
        if chart.key.region == region
        and chart.key.category == category
        and chart.period == week(period)
    ]
    assert len(matches) == 1, (region, category, period, len(matches))
    return matches[0]


def line_index(lines: list[str], *fields: str) -> int:
    """Index of the only line whose leading fields are `fields`."""
    prefix = "\t".join(fields) + "\t"
    found = [index for index, line in enumerate(lines) if line.startswith(prefix)]
    assert len(found) == 1, (fields, found)
    return found[0]


def replace_field(line: str, position: int, value: str) -> str:
    fields = line.split("\t")
    fields[position] = value
    return "\t".join(fields)


# --------------------------------------------------------------------------- global file


def test_current_global_excerpt_gives_one_full_chart_per_week_and_category() -> None:
    charts = list(parse_global(fixture_lines(GLOBAL_CURRENT)))

    assert len(charts) == 40
    assert {chart.key.category for chart in charts} == GLOBAL_CATEGORIES
    assert all(chart.key == global_key(chart.key.category) for chart in charts)
    assert all(chart.rows == 10 and chart.expected_size == 10 for chart in charts)
    assert all(chart.parse_error is None for chart in charts)
    assert all([entry.rank for entry in chart.entries] == list(range(1, 11)) for chart in charts)
    # File order: newest week first, the four categories in the file's order.
    assert charts[0].period == week("2026-07-19")
    assert charts[0].key.category == "Films (English)"
    assert charts[-1].period == week("2022-02-20")
    assert all(chart.period.weekday() == 6 for chart in charts)  # Sundays ending the weeks


def test_current_global_rows_become_complete_entries() -> None:
    charts = list(parse_global(fixture_lines(GLOBAL_CURRENT)))

    films = find_chart(charts, WORLD, "Films (English)", "2026-07-19")
    assert films.entries[0] == Entry(
        rank=1,
        title_id=make_title_id("Shipwrecked: Nightmare at Sea", None),
        title="Shipwrecked: Nightmare at Sea",
        season=None,
        weeks_in_top10=2,
        hours=16_600_000,
        views=11_100_000,
        runtime=1.5,
    )
    tv = find_chart(charts, WORLD, "TV (English)", "2023-06-18")
    assert tv.entries[0] == Entry(
        rank=1,
        title_id=make_title_id("Never Have I Ever", "Never Have I Ever: Season 4"),
        title="Never Have I Ever",
        season="Never Have I Ever: Season 4",
        weeks_in_top10=2,
        hours=56_400_000,
        views=11_500_000,
        runtime=4.9167,
    )
    assert tv.entries[0].title_id == "never have i ever|never have i ever season 4"


def test_runtime_and_views_are_blank_until_the_switch_to_views() -> None:
    charts = list(parse_global(fixture_lines(GLOBAL_CURRENT)))
    hours_era = [chart for chart in charts if chart.period <= week("2023-06-11")]
    views_era = [chart for chart in charts if chart.period >= week("2023-06-18")]
    assert len(hours_era) == 12 and len(views_era) == 28

    for chart in hours_era:
        assert all(entry.runtime is None and entry.views is None for entry in chart.entries)
        assert all(entry.hours is not None for entry in chart.entries)
    for chart in views_era:
        assert all(entry.views and entry.hours for entry in chart.entries)
        assert all(entry.runtime is not None for entry in chart.entries)
    # Shows still releasing weekly episodes are published with runtime 0: kept as written.
    lock_upp = find_chart(charts, WORLD, "TV (Non-English)", "2026-07-12").entries[8]
    assert (lock_upp.title, lock_upp.runtime, lock_upp.views) == ("Lock Upp", 0.0, 1_500_000)

    manifest = find_chart(charts, WORLD, "TV (English)", "2023-06-11").entries[0]
    assert (manifest.title, manifest.hours, manifest.weeks_in_top10) == ("Manifest", 78_150_000, 8)


def test_na_season_becomes_none_and_real_seasons_stay() -> None:
    charts = list(parse_global(fixture_lines(GLOBAL_CURRENT)))
    entries = {
        (chart.period.isoformat(), chart.key.category, entry.rank): entry
        for chart in charts
        for entry in chart.entries
    }

    prisoners = entries[("2023-06-11", "Films (English)", 1)]
    assert (prisoners.title, prisoners.season) == ("Prisoners", None)
    assert prisoners.title_id == "prisoners"
    # The exceptions both ways are kept as published: a film with a season, a show without.
    film_with_season = entries[("2024-09-15", "Films (English)", 3)]
    assert film_with_season.season == "Into the Fire: The Lost Daughter: Season 1"
    show_without_season = entries[("2026-07-19", "TV (Non-English)", 4)]
    assert (show_without_season.title, show_without_season.season) == ("José Totoy 3", None)
    assert all("N/A" not in (entry.season or "") for entry in entries.values())


def test_titles_with_punctuation_and_accents_survive_unchanged() -> None:
    charts = list(parse_global(fixture_lines(GLOBAL_CURRENT)))
    titles = {entry.title for chart in charts for entry in chart.entries}
    seasons = {entry.season for chart in charts for entry in chart.entries}

    assert {
        "Salish & Jordan Matter",
        "Summer ’36",
        "Single’s Inferno",
        "The Åre Murders",
        "Bogotá: City of the Lost",
        "Rebel Moon — Part One: A Child of Fire",
        "Fast & Furious Presents: Hobbs & Shaw",
        "Pokémon Concierge",
    } <= titles
    assert "Ángel Di María: Breaking Down the Wall: Limited Series" in seasons
    assert "Summer ’36: Limited Series" in seasons


@pytest.mark.parametrize("variant", [GLOBAL_STAGGERED, GLOBAL_OVERRIDE])
def test_older_headers_with_more_columns_parse_like_the_current_one(variant: str) -> None:
    charts = list(parse_global(fixture_lines(variant)))
    periods = {chart.period for chart in charts}
    current = [
        chart for chart in parse_global(fixture_lines(GLOBAL_CURRENT)) if chart.period in periods
    ]

    assert len(periods) == 2 and len(charts) == 8
    assert charts == current


def test_seven_column_header_parses_like_the_current_one_for_the_same_rows() -> None:
    # The current file's rows of early 2022 (runtime and views blank), without those columns:
    # exactly the 2021-11 → 2023-05 form.
    lines = fixture_lines(GLOBAL_CURRENT)
    header = lines[0].split("\t")
    dropped = {header.index("runtime"), header.index("weekly_views")}
    early_rows = [line for line in lines[1:] if line.startswith("2022-")]
    seven_columns = [
        "\t".join(
            field for position, field in enumerate(line.split("\t")) if position not in dropped
        )
        for line in [lines[0], *early_rows]
    ]
    assert seven_columns[0] == fixture_lines(GLOBAL_7_COLUMNS)[0]  # the real old header

    expected = [chart for chart in parse_global(lines) if chart.period.year == 2022]
    assert list(parse_global(seven_columns)) == expected
    assert len(expected) == 8


def test_real_seven_column_file_shows_what_netflix_published_then() -> None:
    old = list(parse_global(fixture_lines(GLOBAL_7_COLUMNS)))
    assert len(old) == 12
    assert {chart.period for chart in old} == {
        week("2022-02-13"),
        week("2022-02-20"),
        week("2022-02-27"),
    }
    assert all(chart.parse_error is None and chart.rows == 10 for chart in old)
    assert all(entry.views is None and entry.runtime is None for c in old for entry in c.entries)

    current = charts_by_label(parse_global(fixture_lines(GLOBAL_CURRENT)))
    renamed = []
    for chart in old:
        if chart.label() not in current:
            continue  # 2022-02-13 is not in the current excerpt
        for then, now in zip(chart.entries, current[chart.label()].entries, strict=True):
            assert (then.rank, then.title, then.hours, then.weeks_in_top10) == (
                now.rank,
                now.title,
                now.hours,
                now.weeks_in_top10,
            )
            if then.season != now.season:
                renamed.append((then.season, now.season))
    # Netflix renamed a few seasons after the fact; the parser reports each file as written.
    assert ("Love Is Blind: Season 2", "Love Is Blind: S2: Chicago") in renamed
    assert len(renamed) == 7


def test_columns_are_found_by_name_in_any_order() -> None:
    lines = fixture_lines(GLOBAL_CURRENT)
    reversed_lines = ["\t".join(reversed(line.split("\t"))) for line in lines]

    assert list(parse_global(reversed_lines)) == list(parse_global(lines))


def test_a_whole_body_string_is_accepted_as_well_as_lines() -> None:
    text = fixture_text(GLOBAL_CURRENT)
    with (FIXTURES / GLOBAL_CURRENT).open(encoding="utf-8", newline="\n") as handle:
        from_file = list(parse_global(handle))

    assert list(parse_global(text)) == from_file == list(parse_global(text.split("\n")))


def test_sorted_by_period_and_read_global_file_give_oldest_week_first() -> None:
    parsed = list(parse_global(fixture_lines(GLOBAL_CURRENT)))
    ordered = sorted_by_period(parsed)
    from_file = read_global_file(FIXTURES / GLOBAL_CURRENT)

    assert ordered == from_file
    assert Counter(ordered) == Counter(parsed)
    assert [chart.period for chart in ordered] == sorted(chart.period for chart in parsed)
    assert ordered[0].period == week("2022-02-20")
    assert [chart.key.category for chart in ordered[:4]] == sorted(GLOBAL_CATEGORIES)


# --------------------------------------------------------------------------- whole-body failures

HTML_MOVED = (
    "<html>\r\n<head><title>301 Moved Permanently</title></head>\r\n<body>\r\n"
    "<center><h1>301 Moved Permanently</h1></center>\r\n</body>\r\n</html>\r\n"
)

UNUSABLE_BODIES = [
    pytest.param("", "empty body", id="empty"),
    pytest.param("\n \n\t\n", "empty body", id="blank-lines"),
    pytest.param("null", "body is `null`", id="null"),
    pytest.param("null\n", "body is `null`", id="null-newline"),
    pytest.param(HTML_MOVED, "HTML page instead of TSV", id="html-moved"),
    pytest.param("\n  <!DOCTYPE html><html lang=en>", "HTML page instead of TSV", id="doctype"),
    pytest.param("Redirecting... <html><body>", "HTML page instead of TSV", id="html-inside"),
]


@pytest.mark.parametrize(("body", "reason"), UNUSABLE_BODIES)
def test_bodies_that_are_no_tsv_raise_with_their_reason(body: str, reason: str) -> None:
    for parse in (parse_global, parse_countries):
        with pytest.raises(SourceError) as raised:
            list(parse(body.split("\n"), what="https://top10.netflix.com/data/x.tsv"))
        assert raised.value.reason == reason
        assert raised.value.source == "netflix"
        assert raised.value.what == "https://top10.netflix.com/data/x.tsv"
    with pytest.raises(SourceError, match=reason.replace("`", ".")):
        parse_most_popular(body, SNAPSHOT)
    assert body_problem(body) == reason


@pytest.mark.parametrize(("body", "reason"), UNUSABLE_BODIES)
def test_streamed_reader_rejects_the_same_bodies(body: str, reason: str, tmp_path: Path) -> None:
    path = tmp_path / "all-weeks-countries.tsv"
    path.write_text(body, encoding="utf-8")

    with pytest.raises(SourceError) as raised:
        list(iter_countries_file_by_period(path))
    assert raised.value.reason == reason
    assert raised.value.what == "all-weeks-countries.tsv"


def test_unknown_header_is_rejected_and_shown() -> None:
    with pytest.raises(SourceError) as raised:
        list(parse_global(["title\trank\tweek_of", "Squid Game\t1\t2021-10-03"]))
    assert raised.value.reason.startswith("unexpected header: 'title\\trank\\tweek_of'")


def test_a_file_of_another_kind_is_rejected_with_its_kind() -> None:
    with pytest.raises(SourceError, match=r"unexpected header: .*looks like a countries file"):
        list(parse_global(fixture_lines(COUNTRIES)))
    with pytest.raises(SourceError, match=r"looks like a global file"):
        list(parse_countries(fixture_lines(GLOBAL_CURRENT)))
    with pytest.raises(SourceError, match=r"looks like a global file"):
        parse_most_popular(fixture_text(GLOBAL_CURRENT), SNAPSHOT)


def test_missing_required_columns_are_named() -> None:
    lines = fixture_lines(GLOBAL_CURRENT)
    header = lines[0].split("\t")
    gone = {header.index("weekly_hours_viewed"), header.index("season_title")}
    trimmed = [
        "\t".join(f for i, f in enumerate(line.split("\t")) if i not in gone) for line in lines
    ]

    with pytest.raises(SourceError) as raised:
        list(parse_global(trimmed))
    assert raised.value.reason == "missing columns: season_title, weekly_hours_viewed"


def test_header_without_rows_is_not_an_empty_chart_list() -> None:
    with pytest.raises(SourceError, match="no data rows after the header"):
        list(parse_global(fixture_lines(GLOBAL_CURRENT)[:1]))
    with pytest.raises(SourceError, match="no data rows after the header"):
        list(parse_countries([fixture_lines(COUNTRIES)[0], ""]))


def test_a_file_of_only_broken_rows_raises_with_the_first_problem() -> None:
    lines = fixture_lines(GLOBAL_CURRENT)
    with pytest.raises(SourceError, match=r"no readable rows: line 2: expected 9 fields, found 2"):
        list(parse_global([lines[0], "2026-07-19\tFilms (Eng", "garbage"]))


def test_source_error_keeps_its_context_when_printed_and_pickled() -> None:
    error = SourceError("body is `null`", source="netflix", what="all-weeks-global.tsv")
    copy = pickle.loads(pickle.dumps(error))

    assert str(error) == "netflix: all-weeks-global.tsv: body is `null`"
    assert (copy.reason, copy.source, copy.what) == (error.reason, error.source, error.what)
    assert str(SourceError("empty body")) == "empty body"


# --------------------------------------------------------------------------- row-level defects


def parse_with(lines: list[str]) -> list[Chart]:
    return list(parse_global(lines))


def assert_only_changed(before: list[Chart], after: list[Chart], label: str) -> Chart:
    """Every chart but `label` is untouched; return the changed one."""
    assert [chart.label() for chart in before] == [chart.label() for chart in after]
    changed = [new for old, new in zip(before, after, strict=True) if old != new]
    assert [chart.label() for chart in changed] == [label]
    return changed[0]


def test_a_bad_rank_marks_only_its_own_chart() -> None:
    lines = fixture_lines(GLOBAL_CURRENT)
    clean = parse_with(lines)
    index = line_index(lines, "2024-09-15", "TV (English)", "4")
    lines[index] = replace_field(lines[index], 2, "x")

    chart = assert_only_changed(
        clean, parse_with(lines), "netflix/netflix/WORLD/TV (English)/weekly@2024-09-15"
    )
    assert chart.parse_error == f"line {index + 1}: rank 'x' is not a number"
    assert [entry.rank for entry in chart.entries] == [1, 2, 3, 5, 6, 7, 8, 9, 10]


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        (3, "", "blank title"),
        (3, "   ", "blank title"),
        (5, "12,000", "weekly_hours_viewed '12,000' is not a number"),
        (6, "1h30", "runtime '1h30' is not a number"),
        (6, "nan", "runtime 'nan' is not a number"),
        (7, "?", "weekly_views '?' is not a number"),
        (8, "two", "cumulative_weeks_in_top_10 'two' is not a number"),
    ],
)
def test_unreadable_values_mark_their_chart_with_a_reason(
    column: int, value: str, reason: str
) -> None:
    lines = fixture_lines(GLOBAL_CURRENT)
    clean = parse_with(lines)
    index = line_index(lines, "2026-07-12", "Films (Non-English)", "3")
    lines[index] = replace_field(lines[index], column, value)

    label = "netflix/netflix/WORLD/Films (Non-English)/weekly@2026-07-12"
    chart = assert_only_changed(clean, parse_with(lines), label)
    assert chart.parse_error == f"line {index + 1}: {reason}"
    assert chart.rows == 9


def test_blank_hours_views_and_runtime_are_none_not_errors() -> None:
    lines = fixture_lines(GLOBAL_CURRENT)
    index = line_index(lines, "2026-07-19", "TV (English)", "1")
    for column in (5, 6, 7):
        lines[index] = replace_field(lines[index], column, "")

    chart = find_chart(parse_with(lines), WORLD, "TV (English)", "2026-07-19")
    assert chart.parse_error is None
    assert (chart.entries[0].hours, chart.entries[0].runtime, chart.entries[0].views) == (
        None,
        None,
        None,
    )


def test_a_row_with_an_extra_field_marks_its_chart() -> None:
    lines = fixture_lines(GLOBAL_CURRENT)
    clean = parse_with(lines)
    index = line_index(lines, "2023-06-18", "TV (Non-English)", "1")
    lines[index] = lines[index].replace("Bloodhounds\t", "Blood\thounds\t", 1)

    chart = assert_only_changed(
        clean, parse_with(lines), "netflix/netflix/WORLD/TV (Non-English)/weekly@2023-06-18"
    )
    assert chart.parse_error == f"line {index + 1}: expected 9 fields, found 10"


def test_duplicate_ranks_are_parsed_as_written_for_the_gate_to_judge() -> None:
    lines = fixture_lines(GLOBAL_CURRENT)
    index = line_index(lines, "2025-02-23", "TV (English)", "3")
    lines[index] = replace_field(lines[index], 2, "2")

    chart = find_chart(parse_with(lines), WORLD, "TV (English)", "2025-02-23")
    assert chart.parse_error is None
    assert [entry.rank for entry in chart.entries] == [1, 2, 2, 4, 5, 6, 7, 8, 9, 10]


def test_a_truncated_file_ending_mid_row_marks_only_the_last_chart() -> None:
    text = fixture_text(GLOBAL_CURRENT)
    clean = parse_with(text.split("\n"))
    cut = text[: text.rindex("\t", 0, text.rindex("\t"))]  # the last row loses two fields

    chart = assert_only_changed(clean, parse_with(cut.split("\n")), clean[-1].label())
    assert chart.parse_error == "line 401: expected 9 fields, found 7"
    assert chart.rows == 9


def test_a_last_line_cut_inside_its_key_fields_still_marks_the_last_chart() -> None:
    lines = fixture_lines(GLOBAL_CURRENT)
    clean = parse_with(lines)
    lines[-1] = lines[-1][:15]  # "2022-02-20\tTV (" : even the category is incomplete

    chart = assert_only_changed(clean, parse_with(lines), clean[-1].label())
    assert chart.parse_error == "line 401: expected 9 fields, found 2"


def test_a_truncated_file_ending_between_rows_leaves_a_short_chart_for_the_gate() -> None:
    lines = fixture_lines(GLOBAL_CURRENT)[:-3]

    last = parse_with(lines)[-1]
    assert (last.rows, last.expected_size, last.parse_error) == (7, 10, None)


def test_a_broken_first_row_marks_the_first_chart() -> None:
    lines = fixture_lines(GLOBAL_CURRENT)
    clean = parse_with(lines)
    lines[1] = lines[1][:12]

    chart = assert_only_changed(clean, parse_with(lines), clean[0].label())
    assert chart.parse_error == "line 2: expected 9 fields, found 2"
    assert chart.rows == 9


def test_a_row_with_a_bad_week_belongs_to_the_chart_being_read() -> None:
    lines = fixture_lines(GLOBAL_CURRENT)
    clean = parse_with(lines)
    index = line_index(lines, "2025-03-02", "Films (English)", "5")
    lines[index] = replace_field(lines[index], 0, "2025-03-32")

    chart = assert_only_changed(
        clean, parse_with(lines), "netflix/netflix/WORLD/Films (English)/weekly@2025-03-02"
    )
    assert chart.parse_error == f"line {index + 1}: week '2025-03-32' is not a date"


def test_a_week_that_is_not_a_sunday_is_reported_on_its_chart() -> None:
    lines = fixture_lines(GLOBAL_CURRENT)
    lines = [line.replace("2022-02-20\t", "2022-02-19\t", 1) for line in lines]

    chart = find_chart(parse_with(lines), WORLD, "TV (English)", "2022-02-19")
    assert chart.parse_error is not None
    assert chart.parse_error.endswith("week 2022-02-19 is not a Sunday")
    assert chart.rows == 10


def test_a_chart_whose_rows_are_split_apart_is_reported() -> None:
    lines = fixture_lines(GLOBAL_CURRENT)
    index = line_index(lines, "2026-07-19", "Films (English)", "10")
    moved = lines.pop(index)
    lines.append(moved)

    charts = parse_with(lines)
    parts = [
        chart
        for chart in charts
        if chart.label() == "netflix/netflix/WORLD/Films (English)/weekly@2026-07-19"
    ]
    assert [part.rows for part in parts] == [9, 1]
    assert parts[0].parse_error is None
    assert parts[1].parse_error == (
        "line 401: rows of this chart are not contiguous (it already appeared earlier in the file)"
    )


def test_a_carriage_return_inside_a_row_is_reported_not_raised() -> None:
    lines = fixture_lines(GLOBAL_CURRENT)
    index = line_index(lines, "2024-01-07", "TV (Non-English)", "7")
    lines[index] = lines[index].replace("Single’s", "Single’s\r", 1)

    chart = find_chart(parse_with(lines), WORLD, "TV (Non-English)", "2024-01-07")
    assert chart.parse_error is not None
    assert chart.parse_error.startswith(
        f"line {index + 1}: new-line character seen in unquoted field"
    )
    assert chart.rows == 9


def test_many_problems_in_one_chart_are_listed_then_counted() -> None:
    lines = fixture_lines(GLOBAL_CURRENT)
    first = line_index(lines, "2026-07-19", "TV (English)", "1")
    for index in range(first, first + 10):
        lines[index] = replace_field(lines[index], 2, "?")

    chart = find_chart(parse_with(lines), WORLD, "TV (English)", "2026-07-19")
    assert chart.entries == ()
    assert chart.parse_error is not None
    assert chart.parse_error.count("rank '?' is not a number") == 3
    assert chart.parse_error.endswith("; and 7 more")


def test_crlf_line_ends_and_blank_lines_change_nothing() -> None:
    lines = fixture_lines(GLOBAL_CURRENT)
    crlf = [line + "\r" for line in lines]
    with_blanks = [*lines[:50], "", *lines[50:], "", ""]

    assert parse_with(crlf) == parse_with(lines) == parse_with(with_blanks)


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


# --------------------------------------------------------------------------- header sniffing


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        (GLOBAL_CURRENT, "global"),
        (GLOBAL_7_COLUMNS, "global"),
        (GLOBAL_STAGGERED, "global"),
        (GLOBAL_OVERRIDE, "global"),
        (COUNTRIES, "countries"),
        (MOST_POPULAR_91, "most_popular"),
        (MOST_POPULAR_28, "most_popular"),
    ],
)
def test_sniffing_recognises_every_real_header(name: str, kind: str) -> None:
    first_line = fixture_lines(name)[0]
    assert sniff_netflix_header(first_line) == kind
    assert sniff_netflix_header("\ufeff" + first_line + "\r\n") == kind


@pytest.mark.parametrize(
    "first_line",
    [
        "",
        "null",
        "<html>",
        "As of,Rank,Title",
        "week,category,weekly_rank",
        "2026-07-19\tFilms (English)\t1",
    ],
)
def test_sniffing_recognises_nothing_else(first_line: str) -> None:
    assert sniff_netflix_header(first_line) is None


def test_body_problem_accepts_real_files() -> None:
    for name in (GLOBAL_CURRENT, COUNTRIES, MOST_POPULAR_28):
        assert body_problem(fixture_text(name)) is None
