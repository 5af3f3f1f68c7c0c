"""The title matcher against every show title Netflix published: typos, swapped letters, short
titles, unfinished words and texts that name nothing."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from rapidfuzz import process, utils

from bot.commands.title_match import CHOICE_SCORE, closest_titles, is_clear_winner, title_score

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


@pytest.mark.parametrize(
    ("typed", "first"),
    [("sq", "Squid Game"), ("bridg", "Bridgerton"), ("witch", "The Witcher")],
)
def test_the_first_keystrokes_already_offer_the_title(typed: str, first: str) -> None:
    offered = [hit.name for hit in closest_titles(typed, titles(), limit=25)]
    assert first in offered


def test_a_piece_inside_a_word_is_no_prefix() -> None:
    offered = [hit.name for hit in closest_titles("up", titles(), limit=25)]
    assert "Chupa" not in offered and "Couples Retreat" not in offered


def test_the_fast_passes_find_what_scoring_every_title_finds() -> None:
    for typed in ("Sqiud Gmae", "dead", "the", "grey anatomy", "sq", "mama mia", "witchr"):
        everything = process.extract(
            typed,
            titles(),
            scorer=title_score,
            processor=utils.default_process,
            limit=10,
            score_cutoff=CHOICE_SCORE,
        )
        fast = closest_titles(typed, titles(), limit=10)
        assert [round(hit.score, 6) for hit in fast] == [round(s, 6) for _, s, _ in everything]
