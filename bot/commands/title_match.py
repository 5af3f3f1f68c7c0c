"""How close a typed title is to a stored one, and when the closest is clearly the one meant.

The score (0–100) is the best of:
- the whole text against the whole title, by optimal-string-alignment similarity (Damerau-
  Levenshtein where no letter is edited twice: what typos are), so a swapped pair of letters
  ("Sqiud Gmae") costs one edit, not two — also with the words sorted, so word order does not
  matter ("heist money"). rapidfuzz computes it bit-parallel: 13 ms over 17,600 titles where
  unrestricted Damerau-Levenshtein took 180 ms (bench/commands.py);
- the title being typed: the query against as many letters of the title from the start of one
  of its words ("squid", "bridgerto", "witcher" for "The Witcher"), discounted by how much of
  the title is still missing. Only a query shorter than the title gets this credit, and only
  from a word's start, so a short title ("Ma", "Up", "You") never wins on a piece of a longer
  query, and "up" does not find "Chupa".

A title is *clearly* the one meant when it scores at least ACCEPT_SCORE and beats every other
show by CLEAR_MARGIN; anything less is a question back with choices, never a guess.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process, utils
from rapidfuzz.distance import OSA

# Below this, a title is not offered even as a choice.
CHOICE_SCORE = 60.0
# At or above this (and CLEAR_MARGIN ahead of any other show) a title is taken without asking:
# two swapped letter pairs in a ten-letter title still make it.
ACCEPT_SCORE = 80.0
CLEAR_MARGIN = 8.0
# What a complete-but-unfinished prefix is worth before the typed share is added on top: "squid"
# for "Squid Game" (half typed) scores 87.5, for "Squid Game: The Challenge" 80.
PREFIX_BASE = 0.75
# Prefix credit starts at two characters (Discord completes from the first keystrokes).
MIN_PREFIX_LENGTH = 2


def _sorted_words(text: str) -> str:
    return " ".join(sorted(text.split()))


def title_score(query: str, title: str, **_: object) -> float:
    """Similarity of two processed (case-folded, punctuation-free) texts, 0–100."""
    if not query or not title:
        return 0.0
    whole = max(
        OSA.normalized_similarity(query, title),
        OSA.normalized_similarity(_sorted_words(query), _sorted_words(title)),
    )
    score = whole * 100
    if MIN_PREFIX_LENGTH <= len(query) < len(title):
        typed_share = len(query) / len(title)
        typed = max(
            OSA.normalized_similarity(query, title[start : start + len(query)])
            for start in _word_starts(title)
        )
        score = max(score, typed * 100 * (PREFIX_BASE + (1 - PREFIX_BASE) * typed_share))
    return score


def _fold(name: str) -> Folded:
    whole = utils.default_process(name)
    return whole, _sorted_words(whole)


def _word_starts(text: str) -> list[int]:
    return [0, *(position + 1 for position, char in enumerate(text) if char == " ")]


@dataclass(frozen=True, slots=True)
class Scored:
    name: str
    score: float
    index: int  # position in the list searched


def closest_titles(
    query: str, names: Sequence[str], limit: int, cutoff: float = CHOICE_SCORE
) -> list[Scored]:
    """The names closest to `query`, best first (at most CANDIDATES)."""
    return TitleMatcher(names).closest(query, limit, cutoff)


# A name's folded text and its words sorted (what the matcher compares).
Folded = tuple[str, str]


# The best candidates of each fast pass that are scored in full; `limit` may not exceed it.
CANDIDATES = 50


class TitleMatcher:
    """`closest_titles` over a fixed list, with the list's folding done once.

    Scoring every title in Python costs tens of milliseconds per keystroke of autocomplete, so
    rapidfuzz's compiled scorers pick the candidates first — the best CANDIDATES by whole-text
    and by sorted-words similarity, and every title the query is a piece of — and only those
    get the full `title_score`. The candidates hold every title that `title_score` can rank
    above the cutoff (an Indel partial ratio is never below the optimal-string-alignment
    similarity of an equal-length window), so the result is the one scoring every title would
    give.
    """

    def __init__(self, names: Sequence[str], known: Mapping[str, Folded] | None = None) -> None:
        """`known`: foldings of some names already made (another matcher's `foldings()`)."""
        self._names = list(names)
        known = known or {}
        folded = [known.get(name) or _fold(name) for name in self._names]
        self._folded = [whole for whole, _ in folded]
        self._sorted = [words for _, words in folded]
        # Longest first: prefix credit needs a title longer than the query, a leading slice.
        self._longest_first = sorted(
            range(len(self._folded)), key=lambda index: -len(self._folded[index])
        )
        # The same, as texts and as negated lengths (ascending): the titles longer than a query
        # are a slice, found by bisection rather than a Python loop over every title.
        self._longest_texts = [self._folded[index] for index in self._longest_first]
        self._minus_lengths = [-len(text) for text in self._longest_texts]

    def foldings(self) -> dict[str, Folded]:
        """Each name's folding, for a matcher over a list that shares names with this one."""
        return {
            name: (whole, words)
            for name, whole, words in zip(self._names, self._folded, self._sorted, strict=True)
        }

    def closest(self, query: str, limit: int, cutoff: float = CHOICE_SCORE) -> list[Scored]:
        folded = utils.default_process(query)
        if not folded:
            return []
        wanted = min(limit, CANDIDATES)
        similarity = OSA.normalized_similarity
        candidates = {
            index
            for _, _, index in process.extract(
                folded, self._folded, scorer=similarity, processor=None, limit=CANDIDATES
            )
        }
        candidates.update(
            index
            for _, _, index in process.extract(
                _sorted_words(folded),
                self._sorted,
                scorer=similarity,
                processor=None,
                limit=CANDIDATES,
            )
        )
        scores = {index: title_score(folded, self._folded[index]) for index in candidates}
        if len(folded) >= MIN_PREFIX_LENGTH:
            self._add_typed(folded, scores, wanted, cutoff)
        found = [Scored(self._names[index], score, index) for index, score in scores.items()]
        found = [hit for hit in found if hit.score >= cutoff]
        found.sort(key=lambda hit: (-hit.score, hit.index))
        return found[:wanted]

    def _add_typed(self, folded: str, scores: dict[int, float], wanted: int, cutoff: float) -> None:
        """Score the titles `folded` may be the start of, best bound first, until none can enter
        the best `wanted`. A title's partial ratio is at least its typed similarity, so its prefix
        credit is at most that ratio times the discount for the missing share; its whole-text
        score is no better than the candidates' (it was not among them)."""
        longer = bisect_left(self._minus_lengths, -len(folded))
        bounds = sorted(
            (
                (
                    ratio * (PREFIX_BASE + (1 - PREFIX_BASE) * len(folded) / len(text)),
                    self._longest_first[position],
                )
                for text, ratio, position in process.extract_iter(
                    folded,
                    self._longest_texts[:longer],
                    scorer=fuzz.partial_ratio,
                    processor=None,
                    score_cutoff=cutoff,
                )
            ),
            reverse=True,
        )
        best = heapq.nlargest(wanted, scores.values())
        for bound, index in bounds:
            floor = max(cutoff, best[-1]) if len(best) == wanted else cutoff
            if bound < floor:
                break
            if index not in scores:
                scores[index] = title_score(folded, self._folded[index])
                best = heapq.nlargest(wanted, [*best, scores[index]])


def is_clear_winner(best: float, runner_up: float | None) -> bool:
    """Whether the best score is good enough, and far enough ahead, to act on without asking."""
    if best < ACCEPT_SCORE:
        return False
    return runner_up is None or best - runner_up >= CLEAR_MARGIN
