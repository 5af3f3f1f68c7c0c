"""The outbox, pure part: which events a chat gets, how they become messages, and when.

- One message per chat per burst: every event claimed together for one destination becomes ONE
  digest, most important first, cut into several messages only where the platform's length limit
  forces it, and only between lines.
- Quiet hours are local to the chat's time zone; a message due inside them waits for their end.
- A catch-up (the bot was down) folds old periods into one summary instead of paging anyone
  about each of them.

Nothing here does I/O: storage/outbox.py and bot/sender.py call these functions.
"""

from __future__ import annotations

import hashlib
import zoneinfo
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, tzinfo
from functools import lru_cache

from bot.catchup import CATCHUP_HIGHLIGHTS, CatchupSummary, event_age
from bot.events import Event
from bot.ports import DeadLetter, Delivery, DeliveryCounts
from bot.render import event_line
from bot.subscriptions import ChatSettings

# Message length limits, for notifiers that do not declare their own (AlertNotifier.text_limit).
# Telegram: 4096 characters of text per message (Bot API sendMessage, counted in UTF-16 units).
TELEGRAM_TEXT_LIMIT = 4096
# Discord: 2000 characters of message content.
DISCORD_TEXT_LIMIT = 2000
TEXT_LIMITS: dict[str, int] = {"telegram": TELEGRAM_TEXT_LIMIT, "discord": DISCORD_TEXT_LIMIT}
DEFAULT_TEXT_LIMIT = DISCORD_TEXT_LIMIT

# Room kept for the header line of a digest part ("12 chart updates (2/3)"). Fixed, so that the
# way a digest is cut does not depend on how many parts it has: after a crash the parts still to
# send are cut exactly as before and keep their idempotency keys.
HEADER_BUDGET = 48
BULLET = "• "
# Discord allows a nonce of at most 25 characters.
MAX_IDEMPOTENCY_KEY = 25

Measure = Callable[[str], int]


def utf16_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units): an emoji counts twice."""
    return len(text.encode("utf-16-le")) // 2


# -- which events -------------------------------------------------------------------------------


def digest_order(events: Iterable[Event]) -> list[Event]:
    """Most important first; ties by chart, then rank, then key, so the order is stable."""
    return sorted(
        events,
        key=lambda e: (-e.importance, e.chart, e.period, e.rank or 0, e.key),
    )


# -- digests ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DigestPart:
    """One message of a digest and the deliveries it carries."""

    delivery_ids: tuple[int, ...]
    text: str
    idempotency_key: str


def idempotency_key(delivery_ids: Iterable[int], salt: str = "") -> str:
    """Derived from the delivery ids a message carries: the same message always gets the same key,
    a message with other deliveries never does. `<first id>-<digest of all ids>`, ≤ 25 chars."""
    ids = sorted(set(delivery_ids))
    if not ids:
        raise ValueError("a message carries at least one delivery")
    head = str(ids[0])
    room = MAX_IDEMPOTENCY_KEY - len(head) - 1
    material = ",".join(map(str, ids)) + salt
    digest = hashlib.blake2b(material.encode(), digest_size=16).hexdigest()
    return f"{head}-{digest[: max(room, 4)]}"[-MAX_IDEMPOTENCY_KEY:]


def _wrap_line(line: str, budget: int, measure: Measure) -> list[str]:
    """Cut one over-long line at spaces (hard cut when a word alone is too long)."""
    pieces: list[str] = []
    current = ""
    for word in line.split(" "):
        candidate = f"{current} {word}" if current else word
        if measure(candidate) <= budget:
            current = candidate
            continue
        if current:
            pieces.append(current)
        while measure(word) > budget:
            cut = budget
            while cut > 1 and measure(word[:cut]) > budget:
                cut -= 1
            pieces.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        pieces.append(current)
    return pieces


def _header(total_events: int, part: int, parts: int) -> str:
    noun = "chart update" if total_events == 1 else "chart updates"
    suffix = f" ({part}/{parts})" if parts > 1 else ""
    return f"{total_events} {noun}{suffix}"


def build_digest(
    deliveries: Sequence[Delivery],
    limit: int,
    measure: Measure = utf16_length,
    *,
    catchup_max_age: timedelta | None = None,
) -> list[DigestPart]:
    """The messages for one destination's deliveries: one if it fits, else as few as needed.

    A single event is sent as its line alone; several get a header line and one bullet each,
    most important first. Lines are never cut unless one alone exceeds the limit.

    Events whose period had ended more than `catchup_max_age` before they were queued (a backfill
    after downtime) are not listed one by one: they fold into one catch-up summary (the poller's
    `CatchupSummary`), after the fresh news and in the same message when it fits. Age is measured
    at queueing, so a message sent again after a crash is cut exactly as before.
    """
    if limit <= HEADER_BUDGET + 8:
        raise ValueError(f"a text limit of {limit} leaves no room for a digest")
    budget = limit - HEADER_BUDGET
    fresh_ids: dict[str, list[int]] = {}
    fresh: dict[str, Event] = {}
    old_ids: list[int] = []
    old: dict[str, Event] = {}
    for delivery in deliveries:
        event = delivery.event
        if catchup_max_age is not None and event_age(event, delivery.queued_at) > catchup_max_age:
            old_ids.append(delivery.id)
            old.setdefault(event.key, event)
        else:
            fresh_ids.setdefault(event.key, []).append(delivery.id)
            fresh.setdefault(event.key, event)
    ordered = digest_order(fresh.values())
    summary = _catchup_text(list(old.values()), budget, measure) if old else None

    if summary is None and len(ordered) == 1:
        line = event_line(ordered[0])
        only = tuple(fresh_ids[ordered[0].key])
        if measure(line) <= limit:
            return [DigestPart(only, line, idempotency_key(only))]
    if summary is not None and not ordered:
        return [DigestPart(tuple(old_ids), summary, idempotency_key(old_ids))]

    # Units are packed whole, in order: a piece of an event's line, or the catch-up summary.
    units: list[_Unit] = []
    for event in ordered:
        event_ids = fresh_ids[event.key]
        pieces = _wrap_line(BULLET + event_line(event), budget, measure)
        for index, piece in enumerate(pieces):
            # An event is marked sent with the part that holds the end of its line.
            done = event_ids if index == len(pieces) - 1 else []
            units.append(_Unit(piece, done, event_ids))
    if summary is not None:
        units.append(_Unit(summary, old_ids, old_ids))

    parts: list[_Part] = []
    current = _Part()
    for unit in units:
        size = measure(unit.text) + 1  # the newline before it
        if current.lines and current.used + size > budget:
            parts.append(current)
            current = _Part()
        current.lines.append(unit.text)
        current.used += size
        current.ids.extend(unit.ids)
        current.touched.extend(unit.touched)
    parts.append(current)

    messages: list[DigestPart] = []
    for number, part in enumerate(parts, start=1):
        text = "\n".join([_header(len(ordered), number, len(parts)), *part.lines])
        if part.ids:
            key = idempotency_key(part.ids)
        else:
            # Only the start of an over-long line: nothing to mark, but a key of its own.
            key = idempotency_key(part.touched, salt=f"/{number}")
        messages.append(DigestPart(tuple(part.ids), text, key))
    return messages


def _catchup_text(events: list[Event], budget: int, measure: Measure) -> str:
    """The catch-up summary, with as many highlights as fit in one message."""
    summary = CatchupSummary(tuple(events))
    for highlights in range(CATCHUP_HIGHLIGHTS, -1, -1):
        text = summary.text(highlights)
        if measure(text) <= budget:
            return text
    return "\n".join(_wrap_line(summary.text(0).replace("\n", " "), budget, measure)[:1])


@dataclass(frozen=True, slots=True)
class _Unit:
    text: str
    ids: list[int]  # deliveries done once this unit is sent
    touched: list[int]  # deliveries this unit shows part of


@dataclass(slots=True)
class _Part:
    lines: list[str] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    touched: list[int] = field(default_factory=list)
    used: int = 0


# -- quiet hours --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A local period without alerts, e.g. 22:00–07:00 (it may wrap past midnight)."""

    start: time
    end: time

    @classmethod
    def parse(cls, start: str, end: str) -> QuietHours | None:
        """From "HH:MM" texts; None when either is empty (no quiet hours)."""
        if not start or not end:
            return None
        return cls(time.fromisoformat(start), time.fromisoformat(end))


def quiet_hours_of(settings: ChatSettings, default: QuietHours | None) -> QuietHours | None:
    """The chat's own quiet hours, else the configured default."""
    if settings.quiet_start is not None and settings.quiet_end is not None:
        return QuietHours(settings.quiet_start, settings.quiet_end)
    return default


@lru_cache(maxsize=1024)
def _zone(name: str) -> tzinfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return UTC  # a zone this system does not know: UTC rather than no alerts at all


def quiet_until(now: datetime, timezone: str, quiet: QuietHours | None) -> datetime | None:
    """When the quiet period that `now` falls in ends (UTC), or None when `now` is not quiet."""
    if quiet is None or quiet.start == quiet.end:
        return None
    zone = _zone(timezone)
    local = now.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    today = local.date()
    if quiet.start < quiet.end:
        if not quiet.start <= clock < quiet.end:
            return None
        end_day = today
    elif clock >= quiet.start:
        end_day = today + timedelta(days=1)
    elif clock < quiet.end:
        end_day = today
    else:
        return None
    # A wall time inside a DST gap resolves to one side of it; either way it is after `now`.
    end = datetime.combine(end_day, quiet.end, tzinfo=zone).astimezone(UTC)
    return end if end > now else None


# -- operators ------------------------------------------------------------------------------------


def format_delivery_counts(counts: DeliveryCounts) -> str:
    """One status line: `deliveries: 3 pending, 1 failed (retry scheduled), 250 sent, 2 dead`."""
    line = (
        f"deliveries: {counts.pending} pending, {counts.failed} failed (retry scheduled),"
        f" {counts.sent} sent, {counts.dead} dead"
    )
    if counts.uncertain:
        line += f"; {counts.uncertain} sent again after a timeout"
    if counts.dead:
        line += " — `top10bot deliveries status` lists them, `deliveries retry` queues them again"
    return line


def format_dead_letter(letter: DeadLetter) -> str:
    when = letter.updated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    return f"dead #{letter.id} {when} {letter.destination} {letter.event_key}: {letter.reason}"
