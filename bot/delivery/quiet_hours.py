"""A chat's local times: quiet hours (a local period without alerts: a message due inside them
waits for their end) and the daily digest (detail events wait for one message at a local time)."""

from __future__ import annotations

import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta, tzinfo
from functools import lru_cache

from bot.events import Tier
from bot.ports import ClaimedGroup, Delivery, Outbox
from bot.subscriptions import ChatSettings


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


def digest_due(queued_at: datetime, timezone: str, at: time) -> datetime:
    """When the daily digest an event queued at `queued_at` belongs to goes out (UTC): the first
    local `at` at or after it. Derived from the queueing time alone, so a row claimed again (a
    restart, quiet hours) finds the same digest."""
    zone = _zone(timezone)
    local = queued_at.astimezone(zone)
    due = datetime.combine(local.date(), at, tzinfo=zone)
    if due < local:
        due = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=zone)
    return due.astimezone(UTC)


def hold_for_digest(
    deliveries: Sequence[Delivery], settings: ChatSettings, now: datetime
) -> tuple[list[Delivery], dict[datetime, list[int]]]:
    """Which deliveries go now, and which wait for the chat's daily digest (by when it is due):
    with a digest time set, a detail event waits for the first digest after it was queued;
    headlines never wait."""
    if settings.digest_at is None:
        return list(deliveries), {}
    going: list[Delivery] = []
    held: dict[datetime, list[int]] = {}
    for delivery in deliveries:
        if delivery.event.tier is Tier.DETAIL:
            due = digest_due(delivery.queued_at, settings.timezone, settings.digest_at)
            if due > now:
                held.setdefault(due, []).append(delivery.id)
                continue
        going.append(delivery)
    return going, held


async def hold_details(
    outbox: Outbox, group: ClaimedGroup, now: datetime, *, claimant: str | None = None
) -> tuple[ClaimedGroup | None, int]:
    """A chat with a daily digest gets its detail events in that digest: those whose digest is
    not due yet wait for it (postponed, free to join it); the rest go now. Returns what goes now
    (None: nothing) and how many deliveries were held. A group already attempted goes out as it
    was (its message must stay the same message). `claimant`: the sender holding the group."""
    if any(delivery.attempts for delivery in group.deliveries):
        return group, 0
    going, held = hold_for_digest(group.deliveries, group.settings, now)
    for due, ids in held.items():
        await outbox.postpone(ids, due, regroup=True, claimant=claimant)
    held_count = sum(len(ids) for ids in held.values())
    if not going:
        return None, held_count
    return (group if not held else replace(group, deliveries=tuple(going))), held_count


def is_daily_digest(group: ClaimedGroup) -> bool:
    """Whether a claimed group is a chat's daily digest: it has one, and detail events (which
    wait for it) are in the group. Headlines alone go out at once, under no such name."""
    return group.settings.digest_at is not None and any(
        delivery.event.tier is Tier.DETAIL for delivery in group.deliveries
    )
