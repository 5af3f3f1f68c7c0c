"""FlixPatrol daily Top 10 pages → Charts (pure: HTML text in, Charts out; no I/O).

Page structure (docs/sources.md §2, real copies in tests/fixtures/flixpatrol/):

- a `streaming` page holds every service of one country and day; each service starts with an
  `<h2>` "<Service> TOP 10 in <Country> on <Month D, YYYY>";
- each list is a `div.card` whose `<h3>` names it ("TOP 10 Movies", "TOP 10 Overall (from Amazon
  Channels)" …), followed by `table.card-table` whose rows are the ranks;
- a country row has four cells: rank "1.", a change badge (its `bg-*` class gives the direction),
  the title link `/title/<slug>/`, days in the Top 10 ("181&nbsp;d", may be empty); a world row
  has three: rank, title link, points;
- every list is preceded by a poster link to its #1 title, outside the table.

Matching is structural — an `<h3>` "TOP 10 …", then the next `table.card-table`, then its rows —
so that class order, extra wrappers and the poster link do not matter: a parser that collected
every `/title/` link counted each #1 twice, one that used a full selector path broke when a
wrapper `div` appeared.

Per-entry change since the previous day has no field in `Entry`; it is kept in `Chart.extra`
under `"change:<rank>"` as `"+3"`, `"0"`, `"-2"` or `"new"` (absent when the row had no badge).

Pages that are not charts raise `SourceError`: FlixPatrol's "Page Not Found" (served with HTTP
200), Cloudflare challenge pages, bodies far too small for a chart, pages with no Top 10 list.
A list that is there but short or empty is returned as it is: the gate rejects it with its
reason, and the other lists of the page go on. Lists get `parse_error` when the page names
another day (a redirect to "latest") or another country, when a row cannot be read, and — for the
last list only — when the body stops before `</html>` (a cut connection can leave a half-written
title in an otherwise full-looking list).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

from selectolax.lexbor import LexborHTMLParser, LexborNode

from bot.models import Chart, ChartKey, Entry
from bot.sources.errors import SourceError
from bot.sources.flixpatrol_rows import has_class, list_rows, node_text
from bot.sources.regions import flixpatrol_slug, resolve_region
from bot.sources.services import service_from_display_name

log = logging.getLogger(__name__)

SOURCE = "flixpatrol"
STREAMING_PAGE = "streaming"  # the URL segment of the all-services page
TOP_SIZE = 10

# A real page is hundreds of KB; one list of ten rows alone is about 6 KB. Anything under this is
# an error stub, an empty body or a cut connection, never a chart.
MIN_PAGE_CHARS = 1_000

# `<h3>` list names (after "TOP 10 ", case-folded) → stored category.
CATEGORIES: dict[str, str] = {
    "movies": "Movies",
    "tv shows": "TV Shows",
    "kids movies": "Kids Movies",
    "kids tv shows": "Kids TV Shows",
    "overall": "Overall",
    "overall (from amazon channels)": "Overall (Amazon Channels)",
}

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}

# These patterns read the text of a heading or a cell, never the HTML itself.
_DAY_TEXT = r"(?P<month>[A-Za-z]+)\.?\s+(?P<dom>\d{1,2}),?\s+(?P<year>\d{4})"
_SECTION_HEADING = re.compile(
    rf"^(?P<service>.+?)\s+TOP\s*10\s+in\s+(?P<country>.+?)\s+on\s+{_DAY_TEXT}$", re.IGNORECASE
)
_PAGE_TITLE = re.compile(
    rf"TOP\s*10\s+on\s+(?P<service>.+?)\s+in\s+(?P<country>.+?)\s+on\s+{_DAY_TEXT}", re.IGNORECASE
)
_LIST_HEADING = re.compile(r"^TOP\s*10\s+(?P<name>.+)$", re.IGNORECASE)
_NOT_FOUND = re.compile(r"page\s+not\s+found|\b404\b", re.IGNORECASE)

_CHALLENGE_TITLES = ("just a moment", "attention required")
_CHALLENGE_MARKERS = ("challenge-platform", "cf-challenge", "cf_chl_", "cf-turnstile")
_CHALLENGE_TEXTS = ("enable javascript and cookies to continue", "checking your browser")


@dataclass(frozen=True, slots=True)
class PageRequest:
    """What was fetched: one service's page, or the all-services (`streaming`) page."""

    kind: Literal["service", "streaming"]
    service: str | None  # FlixPatrol service slug; None on a streaming page
    region: str  # ISO 3166-1 alpha-2 or WORLD
    day: date

    def __post_init__(self) -> None:
        if self.kind == "service" and not self.service:
            raise ValueError("a service page request needs a service slug")
        if self.kind == "streaming" and self.service is not None:
            raise ValueError("a streaming page lists every service: leave service None")

    def describe(self) -> str:
        """Short label for errors and logs: 'netflix/KR/2022-02-12'."""
        return f"{self.service or STREAMING_PAGE}/{self.region}/{self.day.isoformat()}"


def flixpatrol_url(base_url: str, service: str | None, region: str, day: date) -> str:
    """`{base}/top10/{service}/{country-slug}/{YYYY-MM-DD}/`; service None → the streaming page."""
    segment = service or STREAMING_PAGE
    return f"{base_url.rstrip('/')}/top10/{segment}/{flixpatrol_slug(region)}/{day.isoformat()}/"


@dataclass(frozen=True, slots=True)
class _Heading:
    """What a heading says the lists under it are: whose, where, which day."""

    service_name: str | None
    country: str | None
    day: date | None


@dataclass(frozen=True, slots=True)
class _ListHeading:
    text: str
    category: str
    section: _Heading | None

    def where(self) -> str:
        """'Apple TV Movies', for messages about lists that were left out."""
        service = self.section.service_name if self.section else None
        return f"{service} {self.category}" if service else self.category


# C0 and C1 control characters but tab, line feed, form feed and carriage return, and DEL: never
# in a real page (none in any of the saved pages).
_CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


def parse_flixpatrol_page(html: str, request: PageRequest) -> list[Chart]:
    """Every Top 10 list of one FlixPatrol page, as Charts for `request.day`.

    A list whose page names another day or another country is returned with `parse_error` set
    (the gate rejects it). Raises SourceError for pages that are not chart pages at all.
    """
    what = request.describe()
    control = _CONTROL_CHARACTER.search(html)
    if control is not None:
        # The HTML parser drops a NUL and folds other control characters into spaces, so the
        # gate could not see them in a title any more: the page is refused here.
        raise SourceError(
            f"control character U+{ord(control.group()):04X} in the page"
            f" (character {control.start()})",
            source=SOURCE,
            what=what,
        )
    tree = LexborHTMLParser(html)
    page_title = node_text(tree.css_first("title"))
    # Error pages first, so that a small "Page Not Found" says so rather than "too small".
    _raise_if_error_page(tree, page_title, what)
    size = len(html.strip())
    if size < MIN_PAGE_CHARS:
        raise SourceError(
            f"body far too small for a chart page ({size} characters)", source=SOURCE, what=what
        )

    page_heading = _page_heading(tree, page_title)
    lists = _find_lists(tree)
    charts: list[Chart] = []
    skipped: list[str] = []
    for list_heading, table in lists:
        chart = _list_chart(list_heading, table, request, page_heading)
        if chart is None:
            skipped.append(list_heading.where())
        else:
            charts.append(chart)
    if not charts:
        if skipped:
            reason = f"no list of {request.service or 'any service'} on the page, only of " + (
                ", ".join(dict.fromkeys(skipped))
            )
        else:
            reason = _why_no_lists(tree, html, page_title)
        raise SourceError(reason, source=SOURCE, what=what)
    if not _is_complete_document(html):
        # Lists before the last one were followed by more of the page, so they arrived whole;
        # the last one is where the body stopped and may end in a half-written title.
        charts[-1] = _with_problem(charts[-1], "page is cut off (no closing </html>)")
    return charts


def _find_lists(tree: LexborHTMLParser) -> list[tuple[_ListHeading, LexborNode | None]]:
    """Every "TOP 10 …" `<h3>` in document order, with the first `table.card-table` after it
    (None when another list heading or the end of the page comes first)."""
    lists: list[tuple[_ListHeading, LexborNode | None]] = []
    section: _Heading | None = None
    pending: _ListHeading | None = None
    for node in _elements(tree):
        if node.tag == "h2":
            heading = _section_heading(node_text(node))
            if heading is not None:
                if pending is not None:
                    lists.append((pending, None))
                    pending = None
                section = heading
        elif node.tag == "h3":
            list_heading = _list_heading(node_text(node), section)
            if list_heading is not None:
                if pending is not None:
                    lists.append((pending, None))
                pending = list_heading
        elif node.tag == "table" and pending is not None and has_class(node, "card-table"):
            lists.append((pending, node))
            pending = None
    if pending is not None:
        lists.append((pending, None))
    return lists


def _is_complete_document(html: str) -> bool:
    # A trailer check on the raw body, not parsing: the parser closes open tags silently.
    return "</html>" in html[-4096:].casefold()


def _with_problem(chart: Chart, problem: str) -> Chart:
    reason = f"{chart.parse_error}; {problem}" if chart.parse_error else problem
    return replace(chart, parse_error=reason)


def _elements(tree: LexborHTMLParser) -> Iterable[LexborNode]:
    root = tree.root
    if root is None:
        return ()
    return root.traverse(include_text=False)


def _raise_if_error_page(tree: LexborHTMLParser, page_title: str, what: str) -> None:
    """Signals strong enough to reject a page whatever else it holds."""
    folded_title = page_title.casefold()
    if any(marker in folded_title for marker in _CHALLENGE_TITLES):
        raise SourceError(f"Cloudflare challenge page ({page_title!r})", source=SOURCE, what=what)
    headings = [page_title, *(node_text(node) for node in tree.css("h1"))]
    for heading in headings:
        if _NOT_FOUND.search(heading):
            raise SourceError(
                f"'Page Not Found' page served as a chart ({heading!r})", source=SOURCE, what=what
            )


def _why_no_lists(tree: LexborHTMLParser, html: str, page_title: str) -> str:
    """Name the most likely reason a page held no Top 10 list."""
    lowered = html.casefold()
    body_text = node_text(tree.body).casefold()
    if any(marker in lowered for marker in _CHALLENGE_MARKERS) or any(
        text in body_text for text in _CHALLENGE_TEXTS
    ):
        return "Cloudflare challenge page (challenge markers, no Top 10 list)"
    if _NOT_FOUND.search(body_text):
        return "'Page Not Found' page served as a chart"
    return f"no Top 10 list on the page (title {page_title!r})"


def _parse_day(month: str, dom: str, year: str) -> date | None:
    number = _MONTHS.get(month.casefold())
    if number is None:
        return None
    try:
        return date(int(year), number, int(dom))
    except ValueError:
        return None


def _heading_from_match(match: re.Match[str]) -> _Heading:
    return _Heading(
        service_name=match["service"].strip(),
        country=match["country"].strip(),
        day=_parse_day(match["month"], match["dom"], match["year"]),
    )


def _section_heading(text: str) -> _Heading | None:
    """'Apple TV TOP 10 in the United States on August 21, 2026' → its parts."""
    match = _SECTION_HEADING.match(text)
    return _heading_from_match(match) if match else None


def _page_heading(tree: LexborHTMLParser, page_title: str) -> _Heading | None:
    """Country and day named by the page as a whole (title, else h1): the fallback for lists
    that have no section heading of their own, as on single-service pages."""
    for text in (page_title, *(node_text(node) for node in tree.css("h1"))):
        match = _PAGE_TITLE.search(text)
        if match:
            return _heading_from_match(match)
    return None


def _list_heading(text: str, section: _Heading | None) -> _ListHeading | None:
    match = _LIST_HEADING.match(text)
    if match is None:
        return None
    name = match["name"].strip()
    category = CATEGORIES.get(name.casefold(), name)
    return _ListHeading(text=text, category=category, section=section)


def _service_slug(display_name: str) -> str:
    """Service named by a streaming page heading → slug; unknown names are hyphenated so that a
    service FlixPatrol adds is still stored, under a stable key ("Apple TV Store" →
    "apple-tv-store")."""
    known = service_from_display_name(display_name)
    if known is not None:
        return known
    slug = "-".join(display_name.casefold().replace("+", " plus").split())
    log.info("FlixPatrol heading names an unknown service %r; storing it as %r", display_name, slug)
    return slug


def _chart_service(heading: _ListHeading, request: PageRequest) -> str | None:
    """Whose list this is, or None when it belongs to no service this request covers."""
    if request.service is not None:  # a single-service page
        named = heading.section.service_name if heading.section else None
        if named is not None:
            # A single-service page may link other services' lists; keep only the requested one.
            named_slug = service_from_display_name(named)
            requested = service_from_display_name(request.service) or request.service
            if named_slug is not None and named_slug != requested:
                log.debug("skipping %r under %r on a %s page", heading.text, named, requested)
                return None
        return request.service
    if heading.section is None or heading.section.service_name is None:
        log.debug("skipping %r: no service heading above it", heading.text)
        return None
    return _service_slug(heading.section.service_name)


def _page_problems(
    heading: _ListHeading, request: PageRequest, page_heading: _Heading | None
) -> list[str]:
    """Reasons the page is not the one asked for: another day (a redirect to 'latest'),
    another country, or no date at all."""
    problems: list[str] = []
    named = heading.section or page_heading
    day = named.day if named else None
    if day is None and page_heading is not None:
        day = page_heading.day
    if day is None:
        problems.append(f"page names no date, asked for {request.day.isoformat()}")
    elif day != request.day:
        problems.append(f"page is for {day.isoformat()}, asked for {request.day.isoformat()}")
    country = named.country if named else None
    if country:
        region = resolve_region(country)
        if region is not None and region != request.region.upper():
            problems.append(f"page is for {region} ({country}), asked for {request.region}")
    return problems


def _list_chart(
    heading: _ListHeading,
    table: LexborNode | None,
    request: PageRequest,
    page_heading: _Heading | None,
) -> Chart | None:
    """One list as a Chart, or None when it belongs to a service the request does not cover.

    A heading with no table is kept as an empty, flagged chart so that the gate records the
    broken list instead of it vanishing."""
    service = _chart_service(heading, request)
    if service is None:
        return None
    problems = _page_problems(heading, request, page_heading)
    if table is None:
        entries: list[Entry] = []
        changes: dict[int, str] = {}
        problems.append(f"no table after {heading.text!r}")
    else:
        entries, changes, row_problems = list_rows(table)
        problems.extend(row_problems)
    return Chart(
        key=ChartKey(SOURCE, service, request.region.upper(), heading.category, "daily"),
        period=request.day,
        entries=tuple(entries),
        expected_size=TOP_SIZE,
        parse_error="; ".join(problems) or None,
        extra={f"change:{rank}": change for rank, change in changes.items()},
    )
