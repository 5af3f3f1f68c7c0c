"""Plain-language text for events and chart labels, shared by every adapter, in the reader's
language (a `Translator`, passed in)."""

from __future__ import annotations

import functools
from datetime import date

from bot.events import Event, EventType, Record
from bot.i18n import N_, Translator
from bot.models import ALL_REGIONS, WORLD, ChartKey, Entry
from bot.sources.regions import region_flag

SERVICE_NAMES = {
    "netflix": "Netflix",
    "hbo-max": "HBO Max",
    "hbo": "HBO Max",
    "disney": "Disney+",
    "amazon-prime": "Prime Video",
    "apple-tv": "Apple TV",
    "hulu": "Hulu",
    "paramount-plus": "Paramount+",
    "crunchyroll": "Crunchyroll",
    "videoland": "Videoland",
    "skyshowtime": "SkyShowtime",
    "google-tv": "Google TV",
}

# Who published a chart, as replies and pictures name it.
SOURCE_NAMES = {
    "netflix": N_("Netflix Top 10 (official)"),
    "flixpatrol": "FlixPatrol",
    "the-numbers": "The Numbers",
    "csv": N_("imported CSV"),
}

RECORD_NAMES = {
    Record.LONGEST_NUMBER_ONE_RUN: N_("longest run at #1"),
    Record.MOST_REGIONS_AT_NUMBER_ONE: N_("most countries at #1 in one period"),
    Record.MOST_WEEKLY_HOURS: N_("most hours viewed in one week"),
    Record.MOST_WEEKLY_VIEWS: N_("most views in one week"),
}

# Category words as the sources write them (English), by their folded base and qualifier
# (bot.subscriptions.fold_category): how another language names them.
CATEGORY_BASES = {
    "tv": N_("TV"),
    "films": N_("Films"),
    "kids tv": N_("Kids TV"),
    "kids films": N_("Kids Films"),
    "overall": N_("Overall"),
}
CATEGORY_QUALIFIERS = {"english": N_("English"), "non english": N_("Non-English")}


def source_name(source: str, tr: Translator) -> str:
    return tr.gettext(SOURCE_NAMES[source]) if source in SOURCE_NAMES else source


def service_name(slug: str) -> str:
    return SERVICE_NAMES.get(slug, slug.replace("-", " ").title())


def record_name(record: Record | None, tr: Translator) -> str:
    return tr.gettext(RECORD_NAMES[record]) if record is not None else tr._("record")


@functools.lru_cache(maxsize=512)
def _english_region(code: str) -> str:
    # pycountry is data, not a platform SDK; imported lazily so the pure core stays light.
    try:
        from bot.sources.regions import region_name
    except ImportError:  # pragma: no cover - regions module ships with the package
        return code
    return region_name(code)


def region_label(code: str, tr: Translator) -> str:
    if code == WORLD:
        return tr._("Worldwide")
    if code == ALL_REGIONS:
        return tr._("All countries")
    return tr.territory(code) or _english_region(code)


def category_label(category: str, tr: Translator) -> str:
    """A chart's category in the reader's language; English keeps the source's own words
    ('TV Shows'), and so does any language for a category it has no words for."""
    if tr.language == "en":
        return category
    from bot.subscriptions import fold_category  # bot.subscriptions renders with this module

    base, qualifier = fold_category(category)
    if base not in CATEGORY_BASES or (qualifier and qualifier not in CATEGORY_QUALIFIERS):
        return category
    name = tr.gettext(CATEGORY_BASES[base])
    if qualifier:
        name += f" ({tr.gettext(CATEGORY_QUALIFIERS[qualifier])})"
    return name


def display_title(title: str, season: str | None) -> str:
    """Netflix's season titles already name the show ("Squid Game: Season 2"); others don't."""
    if not season:
        return title
    if season.casefold().startswith(title.casefold()):
        return season
    return f"{title}: {season}"


def period_label(granularity: str, period: date, tr: Translator) -> str:
    if granularity == "weekly":
        return tr._("week ending {date}", date=tr.date(period))
    if granularity == "alltime":
        return tr._("list of {date}", date=tr.date(period))
    return tr.date(period)


def chart_label(key: ChartKey, tr: Translator) -> str:
    """'Netflix · South Korea · TV' — the reader's name for a chart family."""
    region = region_label(key.region, tr)
    return f"{service_name(key.service)} · {region} · {category_label(key.category, tr)}"


def top10_title(key: ChartKey, tr: Translator) -> str:
    """'🇰🇷 Top 10 — Netflix · South Korea · TV': the heading of /top10, of a live message and
    of a chart card's description."""
    return tr._("{flag} Top 10 — {chart}", flag=region_flag(key.region), chart=chart_label(key, tr))


def big_number(value: int, tr: Translator) -> str:
    """1_234_000_000 → '1.23B' (Korean '12.3억'), 523_400_000 → '523.4M'."""
    return tr.compact(value)


def entry_metrics(entry: Entry, tr: Translator) -> str:
    """'4 wk · 412.9M h': the time in the Top 10 and the audience, as the source gives them
    (/top10's lines and the chart cards)."""
    metrics = []
    if entry.weeks_in_top10 is not None:
        metrics.append(tr._("{count} wk", count=entry.weeks_in_top10))
    if entry.days_in_top10 is not None:
        metrics.append(tr._("{count} d", count=entry.days_in_top10))
    if entry.points is not None:
        metrics.append(tr._("{count} pts", count=entry.points))
    if entry.views is not None:
        metrics.append(tr._("{value} views", value=tr.compact(entry.views)))
    if entry.hours is not None:
        metrics.append(tr._("{value} h", value=tr.compact(entry.hours)))
    return " · ".join(metrics)


def measure_text(value: int, unit: str | None, tr: Translator) -> str:
    """A value with its unit: '3 weeks', '1.23B hours', '12 regions'."""
    match unit:
        case "hours":
            return tr._("{value} hours", value=tr.compact(value))
        case "views":
            return tr._("{value} views", value=tr.compact(value))
        case "weeks":
            return tr.n_("{n} week", "{n} weeks", value)
        case "days":
            return tr.n_("{n} day", "{n} days", value)
        case "regions":
            return tr.n_("{n} region", "{n} regions", value)
    return tr.n_("{n} period", "{n} periods", value)


def event_sentence(event: Event, tr: Translator) -> str:
    """What happened, as a fan would say it (no chart label)."""
    name = display_title(event.title, event.season)
    rank, prev = event.rank, event.previous_rank
    match event.type:
        case EventType.NEW_NUMBER_ONE:
            if prev is None:
                return tr._("{name} debuts at #1", name=name)
            return tr._("{name} is the new #1 (up from #{previous})", name=name, previous=prev)
        case EventType.LOST_NUMBER_ONE:
            if rank is None:
                return tr._("{name} falls from #1 out of the Top 10", name=name)
            return tr._("{name} slips from #1 to #{rank}", name=name, rank=rank)
        case EventType.ENTERED:
            return tr._("{name} enters the Top 10 at #{rank}", name=name, rank=rank)
        case EventType.LEFT:
            return tr._("{name} leaves the Top 10 (was #{previous})", name=name, previous=prev)
        case EventType.CLIMBED:
            return tr._(
                "{name} climbs from #{previous} to #{rank}", name=name, previous=prev, rank=rank
            )
        case EventType.NUMBER_ONE_STREAK:
            length = measure_text(event.value or 0, event.unit, tr)
            return tr._("{name} is #1 for {length} in a row", name=name, length=length)
        case EventType.TOP10_STREAK:
            length = measure_text(event.value or 0, event.unit, tr)
            return tr._(
                "{name}: {length} in a row in the Top 10 (now #{rank})",
                name=name,
                length=length,
                rank=rank,
            )
        case EventType.COUNTRIES_AT_NUMBER_ONE:
            if event.qualifier == "all":
                return tr._(
                    "{name} is #1 in every tracked country ({count})",
                    name=name,
                    count=event.value,
                )
            return tr._(
                "{name} is #1 in {count} of {total} countries",
                name=name,
                count=event.value,
                total=event.total_regions,
            )
        case EventType.RECORD_BROKEN:
            return _record_sentence(event, name, tr)
        case EventType.HOURS_MILESTONE:
            return tr._(
                "{name} passes {milestone} hours viewed ({total} so far)",
                name=name,
                milestone=tr.compact(int(event.qualifier or 0)),
                total=tr.compact(event.value or 0),
            )
        case EventType.ALL_TIME_LIST:
            measure = _measure(event, tr)
            if prev is None:
                return tr._(
                    "{name} enters the all-time Most Popular list at #{rank} ({measure})",
                    name=name,
                    rank=rank,
                    measure=measure,
                )
            return tr._(
                "{name} moves up the all-time Most Popular list from #{previous} to #{rank}"
                " ({measure})",
                name=name,
                previous=prev,
                rank=rank,
                measure=measure,
            )
    return f"{name}: {event.type.value}"  # pragma: no cover - every EventType is matched above


def _record_sentence(event: Event, name: str, tr: Translator) -> str:
    record = record_name(event.record, tr)
    measure = _measure(event, tr)
    if event.since is not None:
        text = tr._(
            "Record! {name} sets the {record} since {month}: {measure}",
            name=name,
            record=record,
            month=tr.month(event.since),
            measure=measure,
        )
    else:
        text = tr._(
            "Record! {name} sets the {record}: {measure}", name=name, record=record, measure=measure
        )
    if event.previous is not None:
        text += tr._(
            ", passing {holder} ({value})",
            holder=display_title(event.previous.title, event.previous.season),
            value=measure_text(event.previous.value, event.unit, tr),
        )
    return text


def _measure(event: Event, tr: Translator) -> str:
    return measure_text(event.value or 0, event.unit, tr)


def event_line(event: Event, tr: Translator) -> str:
    """One line per event, as printed by `replay --format text` and the console."""
    c = event.chart
    where = (
        chart_label(c, tr)
        if c.region != ALL_REGIONS
        else f"{service_name(c.service)} · {category_label(c.category, tr)}"
    )
    return f"[{period_label(c.granularity, event.period, tr)}] {where}: {event_sentence(event, tr)}"
