"""The title matcher against every show title Netflix published: typos, swapped letters, short
titles, unfinished words and texts that name nothing."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from bot.commands.title_match import closest_titles, is_clear_winner

TITLES_FILE = Path(__file__).parents[2] / "fixtures" / "titles" / "netflix-show-titles.txt"


@cache
def titles() -> tuple[str, ...]:
    return tuple(TITLES_FILE.read_text(encoding="utf-8").splitlines())


def decide(query: str) -> str | None:
    """The title a command would act on without asking, as the title index decides it."""
    found = closest_titles(query, titles(), limit=2)
    if not found:
        return None
    runner_up = found[1].score if len(found) > 1 else None
    return found[0].name if is_clear_winner(found[0].score, runner_up) else None


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("Sqiud Gmae", "Squid Game"),  # two swapped pairs
        ("squid gme", "Squid Game"),
        ("strangr things", "Stranger Things"),
        ("mony heist", "Money Heist"),
        ("wednesdya", "Wednesday"),
        ("grey anatomy", "Grey's Anatomy"),
        ("bridgerto", "Bridgerton"),  # still typing
        ("witcher", "The Witcher"),
        ("heist money", "Money Heist"),  # words in another order
        ("all of us are dead", "All of Us Are Dead"),
    ],
)
def test_typos_and_transpositions_find_the_title(typed: str, meant: str) -> None:
    assert decide(typed) == meant


@pytest.mark.parametrize(
    "typed",
    [
        "Sqiud Gmae",
        "nonexistent show xyz",
        "the mandalorian is great",
        "you are the best",  # contains the title "You"
        "up and away we go",  # …and "Up"
        "mama mia",  # …and "Ma"
    ],
)
def test_short_titles_never_win_on_a_piece_of_a_longer_text(typed: str) -> None:
    assert decide(typed) not in {"Ma", "Up", "You", "It", "Us"}


@pytest.mark.parametrize(
    "typed",
    ["nonexistent show xyz", "ZZ", "xyz", "breaking bad", "qwertyuiop"],
)
def test_texts_that_name_no_title_are_not_guessed(typed: str) -> None:
    assert decide(typed) is None


@pytest.mark.parametrize(
    ("typed", "choices"),
    [
        ("dead", {"Dead Sea", "Dead to Me"}),  # many titles start so: ask
        ("squid", {"Squid Game", "Squid Game: The Challenge"}),
        ("game", {"Game Night", "Squid Game"}),
    ],
)
def test_ambiguous_texts_ask_with_the_close_titles(typed: str, choices: set[str]) -> None:
    assert decide(typed) is None
    offered = {hit.name for hit in closest_titles(typed, titles(), limit=5)}
    assert choices <= offered


@pytest.mark.parametrize("title", ["Ma", "You", "It", "Us", "Squid Game"])
def test_an_exact_title_scores_full_marks(title: str) -> None:
    (best, *_) = closest_titles(title, titles(), limit=3)
    assert (best.name, best.score) == (title, 100.0)


def test_no_short_title_is_offered_for_a_long_text() -> None:
    offered = [hit.name for hit in closest_titles("Sqiud Gmae", titles(), limit=5)]
    assert offered[0] == "Squid Game"
    assert all(len(name) > 3 for name in offered)
