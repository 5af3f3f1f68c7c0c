"""Catch-up: events of periods long past (a backfill after downtime) fold into one summary.

Events older than `[alerts] catchup_max_age` are not sent one by one; each chat gets one message
that counts them by type and shows the most important few.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Final

from bot.events import Event, EventType
from bot.i18n import N_, Translator
from bot.render import event_line

# A weekly Netflix chart (week ending Sunday) comes out on Tuesday and is polled by Wednesday:
# about 2.6 days after its period ended. Four days leaves room for a late publication; anything
# older comes from a backfill after downtime and is summarised instead of sent one by one.
DEFAULT_CATCHUP_MAX_AGE: Final = timedelta(days=4)
CATCHUP_HIGHLIGHTS: Final = 5

# "{n} …": how many events of a type a catch-up holds.
_TYPE_COUNTS: Final[dict[EventType, str]] = {
    EventType.NEW_NUMBER_ONE: N_("{n} new #1"),
    EventType.LOST_NUMBER_ONE: N_("{n} lost #1"),
    EventType.ENTERED: N_("{n} entries"),
    EventType.LEFT: N_("{n} exits"),
    EventType.CLIMBED: N_("{n} big climbs"),
    EventType.NUMBER_ONE_STREAK: N_("{n} #1 streaks"),
    EventType.TOP10_STREAK: N_("{n} Top 10 streaks"),
    EventType.COUNTRIES_AT_NUMBER_ONE: N_("{n} #1 in many countries"),
    EventType.RECORD_BROKEN: N_("{n} records broken"),
    EventType.HOURS_MILESTONE: N_("{n} hours milestones"),
    EventType.ALL_TIME_LIST: N_("{n} all-time list moves"),
}


def event_age(event: Event, now: datetime) -> timedelta:
    """How long ago the event's period ended (a day's end, or the Sunday ending a week)."""
    ended = datetime.combine(event.period + timedelta(days=1), time.min, UTC)
    return now - ended


@dataclass(frozen=True, slots=True)
class CatchupSummary:
    """Old events (from a backfill) folded into one message."""

    events: tuple[Event, ...]

    def text(self, tr: Translator, highlights: int = CATCHUP_HIGHLIGHTS) -> str:
        periods = sorted({event.period for event in self.events})
        span = (
            tr.date(periods[0])
            if len(periods) == 1
            else tr._("{first} to {last}", first=tr.date(periods[0]), last=tr.date(periods[-1]))
        )
        lines = [
            tr.n_(
                "Catch-up: {n} event from {span} while the bot was away.",
                "Catch-up: {n} events from {span} while the bot was away.",
                len(self.events),
                span=span,
            )
        ]
        counts = Counter(event.type for event in self.events)
        lines.append(
            ", ".join(
                tr.gettext(_TYPE_COUNTS[kind]).format(n=tr.number(counts[kind]))
                for kind in sorted(counts, key=lambda k: (-counts[k], k.value))
            )
        )
        best = sorted(self.events, key=lambda e: (-e.importance, -e.period.toordinal(), e.key))
        lines.extend(f"• {event_line(event, tr)}" for event in best[:highlights])
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class CatchupFold:
    fresh: list[Event]  # send one by one
    summary: CatchupSummary | None  # send once, instead of the old events


def fold_catchup(events: Sequence[Event], *, now: datetime, max_age: timedelta) -> CatchupFold:
    """Split one chat's events: recent ones stay, older ones fold into one summary."""
    fresh = [event for event in events if event_age(event, now) <= max_age]
    old = tuple(event for event in events if event_age(event, now) > max_age)
    return CatchupFold(fresh=fresh, summary=CatchupSummary(old) if old else None)


def fold_catchup_per_chat(
    events_by_chat: Mapping[str, Sequence[Event]], *, now: datetime, max_age: timedelta
) -> dict[str, CatchupFold]:
    """`fold_catchup` for every chat: each chat gets at most one summary."""
    return {
        chat: fold_catchup(events, now=now, max_age=max_age)
        for chat, events in events_by_chat.items()
    }
