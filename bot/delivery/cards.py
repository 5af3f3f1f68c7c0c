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
from bot.i18n import N_, Translator
from bot.models import ALL_REGIONS, WORLD, normalise_title
from bot.render import (
    category_label,
    display_title,
    event_sentence,
    measure_text,
    period_label,
    region_label,
)
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
ALL_COUNTRIES_LABEL = N_("🌍 All countries")


@dataclass(frozen=True, slots=True)
class Card:
    """One title's news of one period, as a few lines, and the events it stands for."""

    events: tuple[Event, ...]
    lines: tuple[str, ...]
    button: Button

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def build_cards(events: Sequence[Event], tr: Translator) -> tuple[list[Card], list[Event]]:
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
        cards.append(title_card(group, tr))
        carded.update(event.key for event in group)
    cards.sort(key=lambda card: (-max(e.importance for e in card.events), card.lines[0]))
    return cards, [event for event in events if event.key not in carded]


def title_card(events: Sequence[Event], tr: Translator) -> Card:
    """The card of one title's events of one period (several charts)."""
    ordered = sorted(events, key=lambda e: (-e.importance, e.chart, e.rank or 0, e.key))
    lead = ordered[0]
    seasons = {event.season for event in events}
    name = display_title(lead.title, lead.season) if len(seasons) == 1 else lead.title
    header = f"{name} — {period_label(lead.chart.granularity, lead.period, tr)}"
    worldwide = [e for e in ordered if e.chart.region == WORLD]
    family = [e for e in ordered if e.chart.region == ALL_REGIONS]
    countries = [e for e in ordered if e.chart.region not in (WORLD, ALL_REGIONS)]

    lines = [header]
    for event in worldwide[:MAX_WORLDWIDE_LINES]:
        category = category_label(event.chart.category, tr)
        lines.append(
            tr._(
                "Worldwide · {category}: {news}", category=category, news=event_sentence(event, tr)
            )
        )
    if len(worldwide) > MAX_WORLDWIDE_LINES:
        hidden = len(worldwide) - MAX_WORLDWIDE_LINES
        lines.append(tr._("Worldwide: {count} more", count=hidden))
    lines.extend(_country_lines(countries, family, tr))
    footer = tr._("Every country: /title {title}", title=lead.title)
    room = CARD_MAX_LINES - len(lines) - 1
    milestones = _milestone_lines(countries, family, tr)
    if len(milestones) > room:
        hidden = len(milestones) - room + 1
        milestones = [
            *milestones[: room - 1],
            tr._("… and {count} more (see /title)", count=hidden),
        ]
    lines.extend(milestones)
    lines.append(footer)
    # The reference /title resolves: the show's, as its "Subscribe" button carries it.
    show = normalise_title(lead.title)
    button = Button(tr.gettext(ALL_COUNTRIES_LABEL), "title", (("title", title_ref(show)),))
    return Card(tuple(events), tuple(lines), button)


def _country_lines(
    countries: Sequence[Event], family: Sequence[Event], tr: Translator
) -> list[str]:
    """ "#1 in 63 of 94 countries — new #1 in 34, incl. US, GB, KR" and "Top 10 in 91"."""
    if not countries and not family:
        return []
    at_number_one = {e.chart.region for e in countries if e.rank == 1}
    in_top10 = {e.chart.region for e in countries if e.rank is not None}
    counted = [e for e in family if e.type is EventType.COUNTRIES_AT_NUMBER_ONE]
    total = max((e.total_regions or 0 for e in family), default=0)
    number_one_count = max([len(at_number_one), *(e.value or 0 for e in counted)])
    lines: list[str] = []
    if number_one_count:
        line = _in_countries(tr._("#1"), number_one_count, total, tr)
        new = {e.chart.region for e in countries if e.type is EventType.NEW_NUMBER_ONE}
        if new:
            line += tr._(
                " — new #1 in {count}{including}", count=len(new), including=_including(new, tr)
            )
        lines.append(line)
    # The headlines alone (a subscription without details) leave out most countries where the
    # title simply stays in the Top 10: no count rather than a wrong one.
    with_details = any(e.tier is Tier.DETAIL for e in countries)
    top10_count = max(len(in_top10), number_one_count)
    if with_details and top10_count > number_one_count:
        lines.append(_in_countries(tr._("Top 10"), top10_count, total, tr))
    return lines


def _in_countries(what: str, count: int, total: int, tr: Translator) -> str:
    """'#1 in 63 of 94 countries', 'Top 10 in 1 country'."""
    if total:
        return tr.n_(
            "{what} in {n} of {total} country",
            "{what} in {n} of {total} countries",
            count,
            what=what,
            total=total,
        )
    return tr.n_("{what} in {n} country", "{what} in {n} countries", count, what=what)


def _milestone_lines(
    countries: Sequence[Event], family: Sequence[Event], tr: Translator
) -> list[str]:
    """Each kind of country news once, counted; records one by one (a few)."""
    records = [e for e in [*family, *countries] if e.type is EventType.RECORD_BROKEN]
    lines = [_record_line(e, tr) for e in records[:MAX_RECORD_LINES]]
    if len(records) > MAX_RECORD_LINES:
        hidden = len(records) - MAX_RECORD_LINES
        lines.append(tr.n_("… and {n} more record", "… and {n} more records", hidden))
    kinds: dict[str, set[str]] = {}
    for event in countries:
        phrase = _kind_phrase(event, tr)
        if phrase is not None:
            kinds.setdefault(phrase, set()).add(event.chart.region)
    by_size = sorted(kinds.items(), key=lambda item: (-len(item[1]), item[0]))
    for phrase, regions in by_size:
        lines.append(tr._("{news} in {where}", news=phrase, where=_where(regions, tr)))
    return lines


def _kind_phrase(event: Event, tr: Translator) -> str | None:
    """What happened, without the place; None for what the country lines already say."""
    match event.type:
        case EventType.NUMBER_ONE_STREAK:
            length = measure_text(event.value or 0, event.unit, tr)
            return tr._("#1 for {length} in a row", length=length)
        case EventType.TOP10_STREAK:
            length = measure_text(event.value or 0, event.unit, tr)
            return tr._("{length} in a row in the Top 10", length=length)
        case EventType.ENTERED:
            return tr._("Debut in the Top 10") if event.debut else tr._("Back in the Top 10")
        case EventType.LEFT:
            return tr._("Left the Top 10")
        case EventType.CLIMBED:
            return tr._("Big climb")
        case EventType.LOST_NUMBER_ONE:
            return tr._("Lost #1")
        case EventType.HOURS_MILESTONE:
            return tr._("Passed {milestone} hours", milestone=tr.compact(int(event.qualifier or 0)))
    return None


def _record_line(event: Event, tr: Translator) -> str:
    return f"{region_label(event.chart.region, tr)}: {event_sentence(event, tr)}"


def _where(regions: set[str], tr: Translator) -> str:
    if len(regions) == 1:
        return region_label(next(iter(regions)), tr)
    count = tr.n_("{n} country", "{n} countries", len(regions))
    return count + _including(regions, tr)


def _including(regions: Iterable[str], tr: Translator) -> str:
    ranked = sorted(regions, key=_market_rank)
    if len(ranked) <= 1:
        return f" ({region_label(ranked[0], tr)})" if ranked else ""
    return tr._(", incl. {codes}", codes=", ".join(ranked[:NAMED_COUNTRIES]))


def _market_rank(region: str) -> tuple[int, str]:
    return (MARKET_ORDER.index(region) if region in MARKET_ORDER else len(MARKET_ORDER), region)
