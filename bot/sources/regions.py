"""Regions: what users type, what we store, and what FlixPatrol puts in its URLs.

Stored regions are ISO 3166-1 alpha-2 codes (upper case) or `WORLD` (see bot.models). Users type
codes, English names, nicknames ("uk", "korea", "usa") or "worldwide"; `resolve_region` turns all
of them into a stored code, and `suggest_regions` offers close matches when it cannot.

FlixPatrol's country slugs are mostly the English short name, lower-cased and hyphenated, but not
always ("salvador", "swaziland", "czech-republic", "ivory-coast"): a wrong slug is not an error
page, it is a 404 dressed as HTTP 200, so the slugs of every country FlixPatrol lists come from an
explicit table and only the remaining ISO countries are derived from their names.

The hand-kept tables are in bot.sources.region_tables; streaming services in bot.sources.services.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

import pycountry
from rapidfuzz import fuzz, process, utils

from bot.models import WORLD
from bot.sources.region_tables import (
    DISPLAY_NAMES,
    EXTRA_REGIONS,
    FLIXPATROL_SLUG_ALIASES,
    FLIXPATROL_SLUG_OVERRIDES,
    REGION_ALIASES,
)

WORLD_NAME = "Worldwide"
WORLD_FLAG = "🌍"
UNKNOWN_FLAG = "🏳️"
FLIXPATROL_WORLD_SLUG = "world"

_WORLD_WORDS = frozenset({"world", "worldwide", "global", "globally", "everywhere", "ww"})

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _fold(text: str) -> str:
    """'  Côte d'Ivoire ' → 'cote d ivoire': the form alias keys are written in."""
    return _NON_ALNUM.sub(" ", _strip_accents(text).casefold()).strip()


def _hyphenate(text: str) -> str:
    return _NON_ALNUM.sub("-", _strip_accents(text).casefold()).strip("-")


@cache
def _all_region_codes() -> tuple[str, ...]:
    codes = {country.alpha_2 for country in pycountry.countries}
    codes.update(EXTRA_REGIONS)
    return tuple(sorted(codes))


def _is_known_code(code: str) -> bool:
    return code in EXTRA_REGIONS or pycountry.countries.get(alpha_2=code) is not None


def region_name(code: str) -> str:
    """Common English name of a stored region code ("KR" → "South Korea", WORLD → "Worldwide").

    An unknown code is returned unchanged, so a rendering never fails on an odd stored value.
    """
    upper = code.strip().upper()
    if upper == WORLD:
        return WORLD_NAME
    if upper in DISPLAY_NAMES:
        return DISPLAY_NAMES[upper]
    if upper in EXTRA_REGIONS:
        return EXTRA_REGIONS[upper]
    country = pycountry.countries.get(alpha_2=upper) if len(upper) == 2 else None
    if country is None:
        return code
    return str(getattr(country, "common_name", None) or country.name)


def region_flag(code: str) -> str:
    """Flag emoji of a region: two regional-indicator letters, 🌍 for WORLD, 🏳️ if unknown."""
    upper = code.strip().upper()
    if upper == WORLD:
        return WORLD_FLAG
    if len(upper) != 2 or not upper.isascii() or not upper.isalpha():
        return UNKNOWN_FLAG
    return "".join(chr(0x1F1E6 + ord(letter) - ord("A")) for letter in upper)


def resolve_region(text: str) -> str | None:
    """What a user typed → a stored region code, or None when it names no region.

    Accepts ISO alpha-2 and alpha-3 codes in any case, English names and common nicknames
    ("korea", "UK", "USA", "Türkiye"), FlixPatrol slugs ("south-korea") and "world" /
    "worldwide" / "global" (→ WORLD). Never guesses: near misses are for `suggest_regions`.
    """
    native = _native_names().get(_fold_native(text))
    if native is not None:  # "대한민국", "한국", "전 세계"
        return native
    folded = _fold(text)
    if folded.startswith("the "):  # "the United States", as FlixPatrol's headings write it
        folded = folded.removeprefix("the ")
    if not folded:
        return None
    if folded in _WORLD_WORDS:
        return WORLD
    if folded in REGION_ALIASES:
        return REGION_ALIASES[folded]
    compact = folded.replace(" ", "")
    if len(compact) == 2 and compact.isalpha():
        upper = compact.upper()
        return upper if _is_known_code(upper) else None
    if len(compact) == 3 and compact.isalpha():
        country = pycountry.countries.get(alpha_3=compact.upper())
        if country is not None:
            return str(country.alpha_2)
    by_name = _names_index().get(folded)
    if by_name is not None:
        return by_name
    return region_from_flixpatrol_slug(folded.replace(" ", "-"))


@cache
def _names_index() -> dict[str, str]:
    """Folded name → code, over every name pycountry knows plus our display names."""
    index: dict[str, str] = {}
    for country in pycountry.countries:
        for attribute in ("name", "official_name", "common_name"):
            value = getattr(country, attribute, None)
            if value:
                index.setdefault(_fold(str(value)), str(country.alpha_2))
    for code, name in (*EXTRA_REGIONS.items(), *DISPLAY_NAMES.items()):
        index.setdefault(_fold(name), code)
    return index


def _fold_native(text: str) -> str:
    """Names in other scripts: case and spacing ignored ('전 세계' = '전세계')."""
    return "".join(text.split()).casefold()


# What Korean fans call a region besides CLDR's names ("대한민국", "미국", "영국" …).
_NATIVE_ALIASES = {"한국": "KR", "남한": "KR", "세계": WORLD, "전 세계": WORLD, "글로벌": WORLD}


@cache
def _native_names() -> dict[str, str]:
    """Region names in the bot's other languages (Babel's CLDR territories), folded → code."""
    from babel import Locale

    from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES

    names: dict[str, str] = {}
    codes = set(_all_region_codes())
    for language in LANGUAGES:
        if language == DEFAULT_LANGUAGE:
            continue
        for code, name in Locale.parse(language).territories.items():
            if code in codes:
                names.setdefault(_fold_native(name), code)
    for name, code in _NATIVE_ALIASES.items():
        names[_fold_native(name)] = code
    return names


@cache
def _suggestion_choices() -> dict[str, str]:
    """Folded searchable text → code: display names, ISO names and nicknames."""
    choices: dict[str, str] = {_fold(WORLD_NAME): WORLD}
    choices.update(_names_index())
    choices.update(REGION_ALIASES)
    for code in _all_region_codes():
        choices.setdefault(_fold(region_name(code)), code)
    return choices


def suggest_regions(text: str, limit: int = 3) -> list[tuple[str, str]]:
    """Closest regions to a mistyped name, as (code, display name), best first, no duplicates."""
    folded = _fold(text)
    choices = _suggestion_choices()
    if not folded:  # no Latin letters: a name in another script ("대한")
        folded, choices = _fold_native(text), _native_names()
    if not folded or limit <= 0:
        return []
    # Scanning every candidate once and keeping the first hit per code keeps the best score of
    # each region; the candidate list is a few hundred short strings.
    matches = process.extract(
        folded,
        list(choices),
        scorer=fuzz.WRatio,
        processor=utils.default_process,
        limit=None,
        score_cutoff=60,
    )
    suggestions: list[tuple[str, str]] = []
    seen: set[str] = set()
    for candidate, _score, _index in matches:
        code = choices[candidate]
        if code in seen:
            continue
        seen.add(code)
        suggestions.append((code, region_name(code)))
        if len(suggestions) == limit:
            break
    return suggestions


@cache
def _flixpatrol_slugs() -> dict[str, str]:
    """Region code → FlixPatrol slug for every ISO country, Kosovo and WORLD."""
    slugs = {WORLD: FLIXPATROL_WORLD_SLUG}
    for code in _all_region_codes():
        slugs[code] = FLIXPATROL_SLUG_OVERRIDES.get(code) or _hyphenate(region_name(code))
    return slugs


@cache
def _regions_by_flixpatrol_slug() -> dict[str, str]:
    reverse = {slug: code for code, slug in _flixpatrol_slugs().items()}
    for slug, code in FLIXPATROL_SLUG_ALIASES.items():
        reverse.setdefault(slug, code)
    return reverse


def flixpatrol_slug(code: str) -> str:
    """Region code → the country part of a FlixPatrol URL ("KR" → "south-korea").

    Raises ValueError for a code that names no region: a guessed slug would fetch a
    "Page Not Found" page that answers HTTP 200.
    """
    slug = _flixpatrol_slugs().get(code.strip().upper())
    if slug is None:
        raise ValueError(f"no FlixPatrol country slug for region {code!r}")
    return slug


def region_from_flixpatrol_slug(slug: str) -> str | None:
    """FlixPatrol country slug → region code ("salvador" → "SV", "world" → WORLD)."""
    return _regions_by_flixpatrol_slug().get(slug.strip().strip("/").casefold())
