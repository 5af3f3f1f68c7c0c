"""Publication windows: the hours a source is expected to publish, polled every few seconds.

A window is written `"tue 15:00-24:00"`: days (a name, a range `mon-fri`, a list `tue,wed`, or
`*` for every day), then a UTC time range; `"mon 22:00-02:00"` runs past midnight into Tuesday.
Inside a window a source is polled on a grid — the window's start, then every `window_interval`
— so fire times are a pure function of the clock, whatever ran before. Outside, the source's
cron `schedule` (the safety polls) is all there is.

Pure functions only: the scheduler (handlers/scheduler.py) turns them into an APScheduler
trigger, and tests call them with any datetime.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from bot.config import ConfigError
from bot.sources.settings import SectionReader

DAY_NAMES: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY: Final = 24 * 60
DEFAULT_WINDOW_INTERVAL: Final = timedelta(seconds=60)
_WINDOW = re.compile(
    r"^\s*(?P<days>\*|[a-z]{3}(?:\s*[-,]\s*[a-z]{3})*)\s+"
    r"(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*$"
)


@dataclass(frozen=True, slots=True)
class PublicationWindow:
    """Days of the week (0 = Monday) on which the window opens at `start` for `length`."""

    days: frozenset[int]
    start: timedelta  # after midnight UTC
    length: timedelta
    text: str  # as written in the config, for logs

    @classmethod
    def parse(cls, text: str, key: str = "publication_window") -> PublicationWindow:
        match = _WINDOW.match(text.lower())
        if match is None:
            raise ConfigError(
                f'{key}: {text!r} is not a window such as "tue 15:00-24:00" '
                '(days: a name, a range "mon-fri", a list "tue,wed" or "*"; times UTC)'
            )
        start = _clock_time(match["start"], text, key)
        end = _clock_time(match["end"], text, key)
        if start >= MINUTES_PER_DAY:
            raise ConfigError(f"{key}: {text!r} opens at 24:00; write 00:00 of the next day")
        if start == end:
            raise ConfigError(f"{key}: {text!r} opens and closes at the same time")
        length = end - start if end > start else end + MINUTES_PER_DAY - start
        days = _days(match["days"], text, key)
        return cls(days, timedelta(minutes=start), timedelta(minutes=length), text.strip())

    def occurrence(self, moment: datetime) -> tuple[datetime, datetime] | None:
        """The (open, close) of the occurrence of this window that contains `moment`, if any."""
        for opened in self._openings_around(moment.astimezone(UTC).date()):
            if opened <= moment < opened + self.length:
                return opened, opened + self.length
        return None

    def next_opening(self, moment: datetime) -> datetime:
        """The first time this window opens at or after `moment`."""
        day = moment.astimezone(UTC).date()
        for offset in range(8):
            opened = self._opening(day + timedelta(days=offset))
            if opened is not None and opened >= moment:
                return opened
        raise AssertionError("a window opens at least once a week")

    def _openings_around(self, day: date) -> Iterable[datetime]:
        for candidate in (day - timedelta(days=1), day):
            opened = self._opening(candidate)
            if opened is not None:
                yield opened

    def _opening(self, day: date) -> datetime | None:
        if day.weekday() not in self.days:
            return None
        return datetime.combine(day, time(), tzinfo=UTC) + self.start


def _clock_time(value: str, text: str, key: str) -> int:
    hours, minutes = (int(part) for part in value.split(":"))
    if minutes >= 60 or hours > 24 or (hours == 24 and minutes):
        raise ConfigError(f"{key}: {text!r}: {value} is not a time of day (00:00-24:00)")
    return hours * 60 + minutes


def _days(spec: str, text: str, key: str) -> frozenset[int]:
    if spec == "*":
        return frozenset(range(7))
    days: set[int] = set()
    for part in (p.strip() for p in spec.split(",")):
        first, _, last = (name.strip() for name in part.partition("-"))
        try:
            start = DAY_NAMES.index(first)
            stop = DAY_NAMES.index(last or first)
        except ValueError:
            raise ConfigError(
                f"{key}: {text!r}: days are {', '.join(DAY_NAMES)} (or ranges, lists, *)"
            ) from None
        days.update((start + i) % 7 for i in range((stop - start) % 7 + 1))
    return frozenset(days)


@dataclass(frozen=True, slots=True)
class PollTiming:
    """When one source is polled: its cron `schedule`, plus every `window_interval` inside its
    publication windows (until the source is up to date for the window)."""

    schedule: tuple[str, ...]  # crontab lines, UTC
    windows: tuple[PublicationWindow, ...] = ()
    window_interval: timedelta = DEFAULT_WINDOW_INTERVAL

    def describe_windows(self) -> str:
        """For `status`: "tue 15:00-24:00 UTC, every 60s until the new data is in"."""
        if not self.windows:
            return ""
        texts = ", ".join(window.text for window in self.windows)
        seconds = self.window_interval.total_seconds()
        return f"{texts} UTC, every {seconds:g}s until the new data is in"

    @classmethod
    def of(cls, schedule: tuple[str, ...], windows: tuple[str, ...] = ()) -> PollTiming:
        return cls(schedule, tuple(PublicationWindow.parse(text) for text in windows))

    @classmethod
    def read(
        cls, reader: SectionReader, schedule: tuple[str, ...], windows: tuple[str, ...]
    ) -> PollTiming:
        """`schedule`, `publication_window` and `window_interval` of a `[sources.<name>]`
        table, with a source's defaults."""
        key = f"[{reader.name}] publication_window"
        texts = reader.strings("publication_window", windows, allow_empty=True)
        interval = reader.duration("window_interval", DEFAULT_WINDOW_INTERVAL)
        if interval <= timedelta(0):
            raise ConfigError(f"[{reader.name}] window_interval must be longer than 0s")
        return cls(
            reader.strings("schedule", schedule, allow_empty=True),
            tuple(PublicationWindow.parse(text, key) for text in texts),
            interval,
        )


def current_window_close(windows: Sequence[PublicationWindow], moment: datetime) -> datetime | None:
    """When the window(s) open at `moment` close (the latest close of overlapping ones)."""
    closes = [found[1] for window in windows if (found := window.occurrence(moment)) is not None]
    return max(closes, default=None)


def next_window_poll(
    windows: Sequence[PublicationWindow],
    interval: timedelta,
    earliest: datetime,
    *,
    quiet_until: datetime | None = None,
) -> datetime | None:
    """The first fast poll at or after `earliest`, on each window's grid (its opening, then every
    `interval`), skipping any before `quiet_until` (the window was satisfied). None: no window."""
    if not windows or interval <= timedelta(0):
        return None
    if quiet_until is not None and earliest < quiet_until:
        earliest = quiet_until
    candidates: list[datetime] = []
    for window in windows:
        found = window.occurrence(earliest)
        if found is not None:
            opened, closed = found
            steps = -((opened - earliest) // interval)  # ceil((earliest - opened) / interval)
            on_grid = opened + steps * interval
            if on_grid < closed:
                candidates.append(on_grid)
                continue
        candidates.append(window.next_opening(earliest))
    return min(candidates)
