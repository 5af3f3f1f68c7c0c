"""Movement rules (bot/diff/movement.py): new/lost #1, entered, left, climbed."""

from __future__ import annotations

import pytest

from bot.diff import DiffConfig
from tests.diff_charts import (
    DAILY,
    E,
    brief,
    day,
    fold,
    make_chart,
    of_type,
)

# --- movement: new/lost #1, entered, left, climbed ------------------------------------------------

MOVEMENT_CASES = [
    pytest.param("abcdefghij", [], id="unchanged"),
    pytest.param(
        "bacdefghij",
        [("new_number_one", "b", 1, 2), ("lost_number_one", "a", 2, 1)],
        id="swap-at-the-top",
    ),
    pytest.param(
        "gabcdefhij",
        [("new_number_one", "g", 1, 7), ("lost_number_one", "a", 2, 1)],
        id="new-number-one-from-7-is-not-also-climbed",
    ),
    pytest.param(
        "kabcdefghi",
        [
            ("new_number_one", "k", 1, None),
            ("lost_number_one", "a", 2, 1),
            ("left", "j", None, 10),
        ],
        id="debut-at-number-one-is-not-also-entered",
    ),
    pytest.param(
        "bcdefghijk",
        [
            ("new_number_one", "b", 1, 2),
            ("lost_number_one", "a", None, 1),
            ("entered", "k", 10, None),
            ("left", "a", None, 1),
        ],
        id="number-one-leaves-the-chart",
    ),
    pytest.param("agbcdefhij", [("climbed", "g", 2, 7)], id="climb-of-exactly-5"),
    pytest.param("afbcdeghij", [], id="climb-of-4-is-not-enough"),
    pytest.param(
        "abcdefghlk",
        [
            ("entered", "l", 9, None),
            ("entered", "k", 10, None),
            ("left", "i", None, 9),
            ("left", "j", None, 10),
        ],
        id="two-in-two-out",
    ),
    pytest.param(
        "ajibcdefgh",
        [("climbed", "j", 2, 10), ("climbed", "i", 3, 9)],
        id="two-climbers-ordered-by-rank",
    ),
]


@pytest.mark.parametrize(("new_order", "expected"), MOVEMENT_CASES)
def test_movement_against_the_previous_chart(
    new_order: str, expected: list[tuple[str, str, int | None, int | None]]
) -> None:
    per_chart, _ = fold([make_chart(day(1)), make_chart(day(2), tuple(new_order))])

    assert brief(per_chart[1]) == expected


def test_climb_threshold_follows_config() -> None:
    per_chart, _ = fold(
        [make_chart(day(1)), make_chart(day(2), tuple("afbcdeghij"))],
        DiffConfig(climb_places=4),
    )

    assert brief(per_chart[1]) == [("climbed", "f", 2, 6)]


def test_events_carry_title_season_chart_and_period() -> None:
    seasons = {"b": "Season 2"}
    per_chart, _ = fold(
        [
            make_chart(day(1), seasons=seasons),
            make_chart(day(2), tuple("bacdefghij"), seasons=seasons),
        ]
    )
    new_number_one = of_type(per_chart[1], E.NEW_NUMBER_ONE)[0]

    assert new_number_one.title == "Title B"
    assert new_number_one.season == "Season 2"
    assert new_number_one.chart == DAILY
    assert new_number_one.period == day(2)
    assert of_type(per_chart[1], E.LOST_NUMBER_ONE)[0].season is None
    assert new_number_one.key == "new_number_one:flixpatrol:netflix:US:TV Shows:daily:2024-03-02:b"
