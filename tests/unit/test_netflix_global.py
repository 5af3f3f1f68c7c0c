"""The global file (all-weeks-global.tsv) through parse_global, on real excerpts."""

from __future__ import annotations

from collections import Counter

import pytest

from bot.models import WORLD, Entry, make_title_id
from bot.sources.netflix import (
    parse_global,
    read_global_file,
    sorted_by_period,
)
from tests.netflix_files import (
    FIXTURES,
    GLOBAL_7_COLUMNS,
    GLOBAL_CATEGORIES,
    GLOBAL_CURRENT,
    GLOBAL_OVERRIDE,
    GLOBAL_STAGGERED,
    charts_by_label,
    find_chart,
    fixture_lines,
    fixture_text,
    global_key,
    week,
)

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
