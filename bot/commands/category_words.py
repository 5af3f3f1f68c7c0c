"""Category words: the category that loose words name, wherever they stand in typed text.

"world non-english tv", "films english", "kids tv": users write a category as words in any
order, in English or Korean, among other arguments. Separate from bot.commands.parsing because
both the typed-text parser and the category resolver (bot.commands.resolvers) read them; the
word splitting both do first lives here for the same reason.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from bot.subscriptions import KNOWN_CATEGORIES, canonical_category, fold_category


def split_words(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:  # an apostrophe in "Grey's Anatomy" is not a quote
        return text.split()


def is_category(text: str) -> bool:
    base, _ = fold_category(text)
    return base in {fold_category(name)[0] for name in KNOWN_CATEGORIES}


# Category words a user may type in any order ("non-english tv", "films english", "kids tv").
_BASE_WORDS = {
    "tv": "tv",
    "series": "tv",
    "shows": "tv",
    "show": "tv",
    "films": "films",
    "film": "films",
    "movies": "films",
    "movie": "films",
    # Korean: the words of the Korean catalog, and what fans call a series.
    "영화": "films",
    "드라마": "tv",
    "시리즈": "tv",
}
_QUALIFIER_WORDS = {
    "english": "English",
    "non-english": "Non-English",
    "nonenglish": "Non-English",
    "영어": "English",
    "비영어": "Non-English",
}
_KIDS_WORDS = frozenset({"kids", "키즈"})


def _category_word(word: str) -> str:
    return word.strip("()[],").casefold().replace("_", "-")


def split_category_words(words: Sequence[str]) -> tuple[str | None, list[str]]:
    """The category named by loose words anywhere in `words`, and the other words.

    "world non-english tv" → ("TV (Non-English)", ["world"]). None (and the words untouched)
    unless a base word (tv, films …) is among them; "non english" may be two words.
    """
    base: str | None = None
    kids = False
    qualifier = ""
    rest: list[str] = []
    taken: list[str] = []
    folded = [_category_word(word) for word in words]
    position = 0
    while position < len(words):
        word = folded[position]
        following = folded[position + 1] if position + 1 < len(words) else ""
        if word == "non" and following == "english":
            qualifier = "Non-English"
            taken.extend(words[position : position + 2])
            position += 2
            continue
        if word in _BASE_WORDS and base is None:
            base = _BASE_WORDS[word]
        elif word in _KIDS_WORDS and not kids:
            kids = True
        elif word in _QUALIFIER_WORDS and not qualifier:
            qualifier = _QUALIFIER_WORDS[word]
        else:
            rest.append(words[position])
            position += 1
            continue
        taken.append(words[position])
        position += 1
    if base is None:
        return None, list(words)
    as_typed = " ".join(taken)
    if is_category(as_typed):  # "tv", "kids films": the user's own words, as before
        return as_typed, rest
    name = ("kids " if kids else "") + base
    return canonical_category(f"{name} ({qualifier})" if qualifier else name), rest
