"""Streaming services: FlixPatrol's service slugs, their display names and what users call them.

Separate from bot.sources.regions: a service is the other half of a chart's place (which
streaming service, beside which country), with its own table and aliases and no use for
pycountry; commands, matching and the FlixPatrol parser look services up on their own.
"""

from __future__ import annotations

from functools import cache

# FlixPatrol service slugs (the first URL segment after /top10/) and the names its page headings
# use ("Apple TV TOP 10 in …"). The ones listed are those docs/sources.md §2 saw.
FLIXPATROL_SERVICES: dict[str, str] = {
    "netflix": "Netflix",
    "hbo-max": "HBO Max",
    "disney": "Disney+",
    "amazon-prime": "Amazon Prime",
    "apple-tv": "Apple TV",
    "hulu": "Hulu",
    "paramount-plus": "Paramount+",
    "crunchyroll": "Crunchyroll",
    "videoland": "Videoland",
    "skyshowtime": "SkyShowtime",
    "google-tv": "Google TV",
}

# Other names for the same services, in headings of other years or in what users type.
_SERVICE_ALIASES: dict[str, str] = {
    "hbo": "hbo-max",  # FlixPatrol's slug and heading before the Max rebrand
    "max": "hbo-max",
    "disney plus": "disney",
    "disney+": "disney",
    "amazon prime video": "amazon-prime",
    "prime video": "amazon-prime",
    "prime": "amazon-prime",
    "apple tv+": "apple-tv",
    "apple tv plus": "apple-tv",
    "paramount plus": "paramount-plus",
    "paramount": "paramount-plus",
    "sky showtime": "skyshowtime",
}


def _service_key(text: str) -> str:
    return " ".join(text.casefold().replace("-", " ").split())


@cache
def _services_by_name() -> dict[str, str]:
    index: dict[str, str] = {}
    for slug, name in FLIXPATROL_SERVICES.items():
        index[_service_key(slug)] = slug
        index[_service_key(name)] = slug
    for alias, slug in _SERVICE_ALIASES.items():
        index.setdefault(_service_key(alias), slug)
    return index


def service_from_display_name(name: str) -> str | None:
    """A service name as written in a FlixPatrol heading or by a user → its slug, or None.

    "Apple TV" → "apple-tv", "Disney+" → "disney", "HBO" → "hbo-max". Exact (case and spacing
    aside): "Apple TV Store" is another service and stays None.
    """
    return _services_by_name().get(_service_key(name))


def service_display_name(slug: str) -> str:
    """Service slug → the name to show ("paramount-plus" → "Paramount+").

    A slug outside the table is shown title-cased ("amc-plus" → "Amc Plus") rather than failing.
    """
    canonical = service_from_display_name(slug) or slug
    if canonical in FLIXPATROL_SERVICES:
        return FLIXPATROL_SERVICES[canonical]
    return " ".join(part.capitalize() for part in slug.split("-"))
