"""Title cards: one compact message part per title and period instead of a line per country.

A chat that follows a title (or a chart family across countries) receives, in one burst, the
title's news from dozens of charts: "new #1 in Austria", "new #1 in Australia", … A card says it
once: the worldwide news first, then the countries aggregated ("#1 in 63 of 94 countries — new #1
in 34, incl. US, GB, KR"; "Top 10 in 91 countries"), then the milestones, each kind counted
once, at most CARD_MAX_LINES lines. Its last line, and a button on platforms that show buttons,
point to `/title`, which lists every country.

The counts come from the burst's events, so they count the countries with news: a country where
the title holds its place without reaching a milestone has no event and is not counted; the
countries-at-#1 event, when there is one, gives the exact number at #1. "Top 10 in N" is only said
when the details were delivered (without them most countries in the Top 10 have no event).

Pure: the same events always make the same cards, so a digest is cut the same way after a crash.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from bot.commands.reply import Button
from bot.events import Event, EventType, Tier
from bot.models import ALL_REGIONS, WORLD, normalise_title
from bot.render import display_title, event_sentence, period_label, region_label
from bot.subscriptions import title_ref

# A title with news from at least this many charts in one period gets a card.
CARD_MIN_CHARTS = 3
CARD_MAX_LINES = 15
# Worldwide lines and single records shown before the rest is only counted.
MAX_WORLDWIDE_LINES = 4
MAX_RECORD_LINES = 3
# Countries named in "incl. …": the largest Netflix markets first, then by code.
NAMED_COUNTRIES = 3
MARKET_ORDER = ("US", "GB", "KR", "JP", "IN", "BR", "DE", "FR", "MX", "CA", "ES", "IT", "AU")
ALL_COUNTRIES_LABEL = "🌍 All countries"


@dataclass(frozen=True, slots=True)
class Card:
    """One title's news of one period, as a few lines, and the events it stands for."""

    events: tuple[Event, ...]
    lines: tuple[str, ...]
    button: Button

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def build_cards(events: Sequence[Event]) -> tuple[list[Card], list[Event]]:
    """The cards of a burst, most important first, and the events left to list line by line
    (in their given order)."""
    groups: dict[tuple[str, date], list[Event]] = {}
    for event in events:
        groups.setdefault((normalise_title(event.title), event.period), []).append(event)
    cards: list[Card] = []
    carded: set[str] = set()
    for group in groups.values():
        if len({event.chart for event in group}) < CARD_MIN_CHARTS:
            continue
        cards.append(title_card(group))
        carded.update(event.key for event in group)
    cards.sort(key=lambda card: (-max(e.importance for e in card.events), card.lines[0]))
    return cards, [event for event in events if event.key not in carded]


def title_card(events: Sequence[Event]) -> Card:
    """The card of one title's events of one period (several charts)."""
    ordered = sorted(events, key=lambda e: (-e.importance, e.chart, e.rank or 0, e.key))
    lead = ordered[0]
    seasons = {event.season for event in events}
    name = display_title(lead.title, lead.season) if len(seasons) == 1 else lead.title
    header = f"{name} — {period_label(lead.chart.granularity, lead.period)}"
    worldwide = [e for e in ordered if e.chart.region == WORLD]
    family = [e for e in ordered if e.chart.region == ALL_REGIONS]
    countries = [e for e in ordered if e.chart.region not in (WORLD, ALL_REGIONS)]

    lines = [header]
    for event in worldwide[:MAX_WORLDWIDE_LINES]:
        lines.append(f"Worldwide · {event.chart.category}: {event_sentence(event)}")
    if len(worldwide) > MAX_WORLDWIDE_LINES:
        lines.append(f"Worldwide: {len(worldwide) - MAX_WORLDWIDE_LINES} more")
    lines.extend(_country_lines(countries, family))
    footer = f"Every country: /title {lead.title}"
    room = CARD_MAX_LINES - len(lines) - 1
    milestones = _milestone_lines(countries, family)
    if len(milestones) > room:
        hidden = len(milestones) - room + 1
        milestones = [*milestones[: room - 1], f"… and {hidden} more (see /title)"]
    lines.extend(milestones)
    lines.append(footer)
    # The reference /title resolves: the show's, as its "Subscribe" button carries it.
    show = normalise_title(lead.title)
    button = Button(ALL_COUNTRIES_LABEL, "title", (("title", title_ref(show)),))
    return Card(tuple(events), tuple(lines), button)


def _country_lines(countries: Sequence[Event], family: Sequence[Event]) -> list[str]:
    """ "#1 in 63 of 94 countries — new #1 in 34, incl. US, GB, KR" and "Top 10 in 91"."""
    if not countries and not family:
        return []
    at_number_one = {e.chart.region for e in countries if e.rank == 1}
    in_top10 = {e.chart.region for e in countries if e.rank is not None}
    counted = [e for e in family if e.type is EventType.COUNTRIES_AT_NUMBER_ONE]
    total = max((e.total_regions or 0 for e in family), default=0)
    number_one_count = max([len(at_number_one), *(e.value or 0 for e in counted)])
    of_total = f" of {total}" if total else ""
    lines: list[str] = []
    if number_one_count:
        line = f"#1 in {number_one_count}{of_total} {_countries(number_one_count)}"
        new = {e.chart.region for e in countries if e.type is EventType.NEW_NUMBER_ONE}
        if new:
            line += f" — new #1 in {len(new)}{_including(new)}"
        lines.append(line)
    # The headlines alone (a subscription without details) leave out most countries where the
    # title simply stays in the Top 10: no count rather than a wrong one.
    with_details = any(e.tier is Tier.DETAIL for e in countries)
    top10_count = max(len(in_top10), number_one_count)
    if with_details and top10_count > number_one_count:
        lines.append(f"Top 10 in {top10_count}{of_total} {_countries(top10_count)}")
    return lines


def _milestone_lines(countries: Sequence[Event], family: Sequence[Event]) -> list[str]:
    """Each kind of country news once, counted; records one by one (a few)."""
    records = [e for e in [*family, *countries] if e.type is EventType.RECORD_BROKEN]
    lines = [_record_line(e) for e in records[:MAX_RECORD_LINES]]
    if len(records) > MAX_RECORD_LINES:
        lines.append(f"… and {len(records) - MAX_RECORD_LINES} more records")
    kinds: dict[str, set[str]] = {}
    for event in countries:
        phrase = _kind_phrase(event)
        if phrase is not None:
            kinds.setdefault(phrase, set()).add(event.chart.region)
    by_size = sorted(kinds.items(), key=lambda item: (-len(item[1]), item[0]))
    for phrase, regions in by_size:
        lines.append(f"{phrase} in {_where(regions)}")
    return lines


def _kind_phrase(event: Event) -> str | None:
    """What happened, without the place; None for what the country lines already say."""
    unit = event.unit or "periods"
    match event.type:
        case EventType.NUMBER_ONE_STREAK:
            return f"#1 for {event.value} {unit} in a row"
        case EventType.TOP10_STREAK:
            return f"{event.value} {unit} in a row in the Top 10"
        case EventType.ENTERED:
            return "Debut in the Top 10" if event.debut else "Back in the Top 10"
        case EventType.LEFT:
            return "Left the Top 10"
        case EventType.CLIMBED:
            return "Big climb"
        case EventType.LOST_NUMBER_ONE:
            return "Lost #1"
        case EventType.HOURS_MILESTONE:
            return event_sentence(event).removeprefix(display_title(event.title, event.season))
    return None


def _record_line(event: Event) -> str:
    where = (
        "All countries" if event.chart.region == ALL_REGIONS else region_label(event.chart.region)
    )
    return f"{where}: {event_sentence(event)}"


def _where(regions: set[str]) -> str:
    if len(regions) == 1:
        return region_label(next(iter(regions)))
    return f"{len(regions)} countries{_including(regions)}"


def _including(regions: Iterable[str]) -> str:
    ranked = sorted(regions, key=_market_rank)
    if len(ranked) <= 1:
        return f" ({region_label(ranked[0])})" if ranked else ""
    return ", incl. " + ", ".join(ranked[:NAMED_COUNTRIES])


def _market_rank(region: str) -> tuple[int, str]:
    return (MARKET_ORDER.index(region) if region in MARKET_ORDER else len(MARKET_ORDER), region)


def _countries(count: int) -> str:
    return "country" if count == 1 else "countries"
