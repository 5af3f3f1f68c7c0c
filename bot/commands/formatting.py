"""Small pieces of reply text that several commands share, in the chat's language."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, timedelta

from bot.diff import period_step
from bot.events import Record
from bot.i18n import Translator
from bot.poll_report import LastPoll
from bot.ports import Family
from bot.render import category_label, measure_text, service_name
from bot.subscriptions import Subscription, describe_spec

# Days after a period ends before its chart is late: Netflix publishes a week on the Tuesday
# after it ends; FlixPatrol a day late. Older charts are called stale, with their age.
ALLOWED_AGE_DAYS = {"daily": 2, "weekly": 10}

# Lines of one reply field before "… and N more" (Discord: 1024 characters per field value).
MAX_FIELD_LINES = 12


def cap_lines(lines: Sequence[str], tr: Translator, limit: int = MAX_FIELD_LINES) -> str:
    if len(lines) <= limit:
        return "\n".join(lines)
    return "\n".join([*lines[:limit], tr._("… and {count} more", count=len(lines) - limit)])


def chart_step(granularity: str) -> timedelta:
    """The distance between two periods; charts that are neither daily nor weekly use a week."""
    return period_step("daily" if granularity == "daily" else "weekly")


def periods_between(granularity: str, first: date, last: date) -> int:
    if granularity not in ("daily", "weekly"):
        return 1
    return (last - first) // chart_step(granularity) + 1


def streak_text(granularity: str, count: int, tr: Translator) -> str:
    """'3 weeks', '1 day'."""
    return measure_text(count, "days" if granularity == "daily" else "weeks", tr)


def record_value(record: Record, value: int, granularity: str, tr: Translator) -> str:
    if record is Record.LONGEST_NUMBER_ONE_RUN:
        return streak_text(granularity, value, tr)
    if record is Record.MOST_REGIONS_AT_NUMBER_ONE:
        return tr.n_("{n} country", "{n} countries", value)
    if record is Record.MOST_WEEKLY_HOURS:
        return measure_text(value, "hours", tr)
    return measure_text(value, "views", tr)


def age_text(days: int, tr: Translator) -> str:
    """'5 days', '3 weeks', '7 months', '4 years' — rounded down, in the largest unit that fits."""
    if days < 14:
        return tr.n_("{n} day", "{n} days", days)
    if days < 61:
        return tr.n_("{n} week", "{n} weeks", days // 7)
    if days < 730:
        return tr.n_("{n} month", "{n} months", days // 30)
    return tr.n_("{n} year", "{n} years", days // 365)


def is_stale(granularity: str, period: date, today: date) -> bool:
    """Whether a chart is older than its source's usual publishing delay (snapshots never are)."""
    allowed = ALLOWED_AGE_DAYS.get(granularity)
    return allowed is not None and (today - period).days > allowed


def freshness_note(
    granularity: str, period: date, today: date, last_poll: LastPoll | None, tr: Translator
) -> str:
    """'⚠️ chart of 2022-02-06 — 4 years old · source last polled 2026-12-06 04:00 UTC'.

    The age is said only when the chart is stale; when the source was last polled always.
    """
    parts = []
    if is_stale(granularity, period, today):
        age = age_text((today - period).days, tr)
        parts.append(tr._("⚠️ chart of {date} — {age} old", date=tr.date(period), age=age))
    if last_poll is None:
        parts.append(tr._("source not polled yet"))
    else:
        when = tr.moment(last_poll.at.astimezone(UTC))
        if last_poll.ok:
            parts.append(tr._("source last polled {when} UTC", when=when))
        else:
            parts.append(tr._("source last polled {when} UTC (failed)", when=when))
    return " · ".join(parts)


def family_label(family: Family, tr: Translator) -> str:
    """'Netflix · TV' — a chart family across every country."""
    _, service, category, _ = family
    return f"{service_name(service)} · {category_label(category, tr)}"


def subscription_line(subscription: Subscription, tr: Translator) -> str:
    """'#3 Netflix · South Korea · TV' — how lists and errors name a subscription."""
    return f"#{subscription.id} {describe_spec(subscription.spec, tr)}"
