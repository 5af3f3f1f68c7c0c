"""Row-level defects (bot/sources/netflix/rows.py, cells.py): each marks only its own chart."""

from __future__ import annotations

import pytest

from bot.models import WORLD, Chart
from bot.sources.netflix import (
    parse_global,
)
from tests.netflix_files import (
    GLOBAL_CURRENT,
    find_chart,
    fixture_lines,
    fixture_text,
    line_index,
    replace_field,
)

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
