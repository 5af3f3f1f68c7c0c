"""Plain-language text for events and chart labels, shared by every adapter."""

from __future__ import annotations

import functools
from datetime import date

from bot.events import Event, EventType, Record
from bot.models import ALL_REGIONS, WORLD, ChartKey, Entry

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

RECORD_NAMES = {
    Record.LONGEST_NUMBER_ONE_RUN: "longest run at #1",
    Record.MOST_REGIONS_AT_NUMBER_ONE: "most countries at #1 in one period",
    Record.MOST_WEEKLY_HOURS: "most hours viewed in one week",
    Record.MOST_WEEKLY_VIEWS: "most views in one week",
}


def service_name(slug: str) -> str:
    return SERVICE_NAMES.get(slug, slug.replace("-", " ").title())


@functools.lru_cache(maxsize=512)
def region_label(code: str) -> str:
    if code == WORLD:
        return "Worldwide"
    if code == ALL_REGIONS:
        return "All countries"
    # pycountry is data, not a platform SDK; imported lazily so the pure core stays light.
    try:
        from bot.sources.regions import region_name
    except ImportError:  # pragma: no cover - regions module ships with the package
        return code
    return region_name(code)


def display_title(title: str, season: str | None) -> str:
    """Netflix's season titles already name the show ("Squid Game: Season 2"); others don't."""
    if not season:
        return title
    if season.casefold().startswith(title.casefold()):
        return season
    return f"{title}: {season}"


def period_label(granularity: str, period: date) -> str:
    if granularity == "weekly":
        return f"week ending {period.isoformat()}"
    if granularity == "alltime":
        return f"list of {period.isoformat()}"
    return period.isoformat()


def chart_label(key: ChartKey) -> str:
    """'Netflix · South Korea · TV' — the reader's name for a chart family."""
    return f"{service_name(key.service)} · {region_label(key.region)} · {key.category}"


def big_number(value: int) -> str:
    """1_234_000_000 → '1.23B', 523_400_000 → '523.4M'."""
    if value >= 1_000_000_000:
        return f"{value / 1_000_000_000:.3g}B"
    if value >= 1_000_000:
        return f"{value / 1_000_000:.4g}M"
    if value >= 1_000:
        return f"{value / 1_000:.4g}K"
    return str(value)


def entry_metrics(entry: Entry) -> str:
    """'4 wk · 412.9M h': the time in the Top 10 and the audience, as the source gives them
    (/top10's lines and the chart cards)."""
    metrics = []
    if entry.weeks_in_top10 is not None:
        metrics.append(f"{entry.weeks_in_top10} wk")
    if entry.days_in_top10 is not None:
        metrics.append(f"{entry.days_in_top10} d")
    if entry.points is not None:
        metrics.append(f"{entry.points} pts")
    if entry.views is not None:
        metrics.append(f"{big_number(entry.views)} views")
    if entry.hours is not None:
        metrics.append(f"{big_number(entry.hours)} h")
    return " · ".join(metrics)


def _plural(n: int, unit: str) -> str:
    singular = unit[:-1] if unit.endswith("s") else unit
    return f"{n} {singular if n == 1 else unit}"


def event_sentence(event: Event) -> str:
    """What happened, as a fan would say it (no chart label)."""
    name = display_title(event.title, event.season)
    rank, prev = event.rank, event.previous_rank
    match event.type:
        case EventType.NEW_NUMBER_ONE:
            if prev is None:
                return f"{name} debuts at #1"
            return f"{name} is the new #1 (up from #{prev})"
        case EventType.LOST_NUMBER_ONE:
            if rank is None:
                return f"{name} falls from #1 out of the Top 10"
            return f"{name} slips from #1 to #{rank}"
        case EventType.ENTERED:
            return f"{name} enters the Top 10 at #{rank}"
        case EventType.LEFT:
            return f"{name} leaves the Top 10 (was #{prev})"
        case EventType.CLIMBED:
            return f"{name} climbs from #{prev} to #{rank}"
        case EventType.NUMBER_ONE_STREAK:
            length = _plural(event.value or 0, event.unit or "periods")
            return f"{name} is #1 for {length} in a row"
        case EventType.TOP10_STREAK:
            length = _plural(event.value or 0, event.unit or "periods")
            return f"{name}: {length} in a row in the Top 10 (now #{rank})"
        case EventType.COUNTRIES_AT_NUMBER_ONE:
            if event.qualifier == "all":
                return f"{name} is #1 in every tracked country ({event.value})"
            return f"{name} is #1 in {event.value} of {event.total_regions} countries"
        case EventType.RECORD_BROKEN:
            record = RECORD_NAMES.get(event.record, "record") if event.record else "record"
            since = f" since {event.since:%B %Y}" if event.since is not None else ""
            text = f"Record! {name} sets the {record}{since}: {_measure(event)}"
            if event.previous is not None:
                holder = display_title(event.previous.title, event.previous.season)
                text += f", passing {holder} ({_measure_value(event.previous.value, event.unit)})"
            return text
        case EventType.HOURS_MILESTONE:
            return (
                f"{name} passes {big_number(int(event.qualifier or 0))} hours viewed "
                f"({big_number(event.value or 0)} so far)"
            )
        case EventType.ALL_TIME_LIST:
            measure = _measure(event)
            if prev is None:
                return f"{name} enters the all-time Most Popular list at #{rank} ({measure})"
            return (
                f"{name} moves up the all-time Most Popular list from #{prev} to #{rank} "
                f"({measure})"
            )
    return f"{name}: {event.type.value}"  # pragma: no cover - every EventType is matched above


def _measure_value(value: int, unit: str | None) -> str:
    if unit in ("hours", "views"):
        return f"{big_number(value)} {unit}"
    return _plural(value, unit or "periods")


def _measure(event: Event) -> str:
    return _measure_value(event.value or 0, event.unit)


def event_line(event: Event) -> str:
    """One line per event, as printed by `replay --format text` and the console."""
    c = event.chart
    where = (
        chart_label(c) if c.region != ALL_REGIONS else f"{service_name(c.service)} · {c.category}"
    )
    return f"[{period_label(c.granularity, event.period)}] {where}: {event_sentence(event)}"
