"""Quiet hours: a local period without alerts. A message due inside them waits for their end."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from functools import lru_cache

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
