"""Small pieces of reply text that several commands share."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, timedelta

from bot.diff import period_step
from bot.events import Record
from bot.poll_report import LastPoll
from bot.ports import Family
from bot.render import big_number, service_name
from bot.subscriptions import Subscription, describe_spec

# Days after a period ends before its chart is late: Netflix publishes a week on the Tuesday
# after it ends; FlixPatrol a day late. Older charts are called stale, with their age.
ALLOWED_AGE_DAYS = {"daily": 2, "weekly": 10}

# Lines of one reply field before "… and N more" (Discord: 1024 characters per field value).
MAX_FIELD_LINES = 12

SOURCE_NAMES = {
    "netflix": "Netflix Top 10 (official)",
    "flixpatrol": "FlixPatrol",
    "the-numbers": "The Numbers",
    "csv": "imported CSV",
}


def source_name(source: str) -> str:
    return SOURCE_NAMES.get(source, source)


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """'1 day', '3 days', '2 countries'."""
    return f"{count} {singular if count == 1 else plural_form or singular + 's'}"


def cap_lines(lines: Sequence[str], limit: int = MAX_FIELD_LINES) -> str:
    if len(lines) <= limit:
        return "\n".join(lines)
    return "\n".join([*lines[:limit], f"… and {len(lines) - limit} more"])


def chart_step(granularity: str) -> timedelta:
    """The distance between two periods; charts that are neither daily nor weekly use a week."""
    return period_step("daily" if granularity == "daily" else "weekly")


def periods_between(granularity: str, first: date, last: date) -> int:
    if granularity not in ("daily", "weekly"):
        return 1
    return (last - first) // chart_step(granularity) + 1


def streak_text(granularity: str, count: int) -> str:
    return plural(count, "day" if granularity == "daily" else "week")


def record_value(record: Record, value: int, granularity: str) -> str:
    if record is Record.LONGEST_NUMBER_ONE_RUN:
        return streak_text(granularity, value)
    if record is Record.MOST_REGIONS_AT_NUMBER_ONE:
        return f"{value} countries"
    if record is Record.MOST_WEEKLY_HOURS:
        return f"{big_number(value)} hours"
    return f"{big_number(value)} views"


def age_text(days: int) -> str:
    """'5 days', '3 weeks', '7 months', '4 years' — rounded down, in the largest unit that fits."""
    if days < 14:
        return plural(days, "day")
    if days < 61:
        return plural(days // 7, "week")
    if days < 730:
        return plural(days // 30, "month")
    return plural(days // 365, "year")


def is_stale(granularity: str, period: date, today: date) -> bool:
    """Whether a chart is older than its source's usual publishing delay (snapshots never are)."""
    allowed = ALLOWED_AGE_DAYS.get(granularity)
    return allowed is not None and (today - period).days > allowed


def freshness_note(granularity: str, period: date, today: date, last_poll: LastPoll | None) -> str:
    """'⚠️ chart of 2022-02-06 — 4 years old · source last polled 2026-12-06 04:00 UTC'.

    The age is said only when the chart is stale; when the source was last polled always.
    """
    parts = []
    if is_stale(granularity, period, today):
        parts.append(f"⚠️ chart of {period.isoformat()} — {age_text((today - period).days)} old")
    if last_poll is None:
        parts.append("source not polled yet")
    else:
        outcome = "" if last_poll.ok else " (failed)"
        parts.append(
            f"source last polled {last_poll.at.astimezone(UTC):%Y-%m-%d %H:%M} UTC{outcome}"
        )
    return " · ".join(parts)


def family_label(family: Family) -> str:
    """'Netflix · TV' — a chart family across every country."""
    _, service, category, _ = family
    return f"{service_name(service)} · {category}"


def subscription_line(subscription: Subscription) -> str:
    """'#3 Netflix · South Korea · TV' — how lists and errors name a subscription."""
    return f"#{subscription.id} {describe_spec(subscription.spec)}"
