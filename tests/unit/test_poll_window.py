"""Publication windows: parsing, the fast-poll grid, and the trigger that mixes it with cron."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.config import ConfigError
from bot.poll_window import PollTiming, PublicationWindow, current_window_close, next_window_poll
from bot.sources.netflix_fetch import NetflixSettings
from handlers.scheduler import PollTrigger, next_fire_time

MINUTE = timedelta(minutes=1)
TUESDAY = PublicationWindow.parse("tue 15:00-24:00")


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """July 2026: the 21st is a Tuesday."""
    return datetime(2026, 7, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "days", "start", "length"),
    [
        ("tue 15:00-24:00", {1}, timedelta(hours=15), timedelta(hours=9)),
        ("Mon-Fri 06:00-08:30", {0, 1, 2, 3, 4}, timedelta(hours=6), timedelta(hours=2.5)),
        ("sat-mon 10:00-11:00", {5, 6, 0}, timedelta(hours=10), timedelta(hours=1)),
        ("tue, thu 22:00-02:00", {1, 3}, timedelta(hours=22), timedelta(hours=4)),
        ("* 00:00-24:00", set(range(7)), timedelta(0), timedelta(hours=24)),
    ],
)
def test_windows_are_parsed(text: str, days: set[int], start: timedelta, length: timedelta) -> None:
    window = PublicationWindow.parse(text)
    assert (window.days, window.start, window.length) == (frozenset(days), start, length)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tux 15:00-24:00", "days are mon, tue"),
        ("tuesday 15:00-24:00", "is not a window"),
        ("tue 15:00", "is not a window"),
        ("tue 25:00-26:00", "not a time of day"),
        ("tue 15:60-16:00", "not a time of day"),
        ("tue 15:00-15:00", "opens and closes at the same time"),
        ("tue 24:00-02:00", "opens at 24:00"),
    ],
)
def test_bad_windows_fail_fast(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        PublicationWindow.parse(text)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (at(21, 14, 59, 30), at(21, 15)),  # just before the window: its opening
        (at(21, 15), at(21, 15)),  # on the grid
        (at(21, 15, 0, 1), at(21, 15, 1)),  # between two fast polls: the next one
        (at(21, 23, 59, 30), at(28, 15)),  # after the last one: next Tuesday
        (at(22, 9), at(28, 15)),  # Wednesday: next Tuesday
    ],
)
def test_fast_polls_follow_the_window_grid(moment: datetime, expected: datetime) -> None:
    assert next_window_poll((TUESDAY,), MINUTE, moment) == expected


def test_a_window_past_midnight_goes_on_the_next_day() -> None:
    late = PublicationWindow.parse("mon 22:00-02:00")
    assert next_window_poll((late,), timedelta(seconds=90), at(21, 1, 0, 10)) == at(21, 1, 1, 30)
    assert current_window_close((late,), at(21, 1)) == at(21, 2)
    assert current_window_close((late,), at(21, 2)) is None


def test_a_satisfied_window_is_quiet_until_it_closes() -> None:
    closes = current_window_close((TUESDAY,), at(21, 16))
    assert closes == at(22, 0)
    quiet = next_window_poll((TUESDAY,), MINUTE, at(21, 16), quiet_until=closes)
    assert quiet == at(28, 15)
    assert next_window_poll((), MINUTE, at(21, 16)) is None


def fire_times(trigger: PollTrigger, start: datetime, count: int) -> list[datetime]:
    """What APScheduler asks a trigger: the first fire time, then each one after the last."""
    fires: list[datetime] = []
    fire = trigger.get_next_fire_time(None, start)
    while fire is not None and len(fires) < count:
        fires.append(fire)
        fire = trigger.get_next_fire_time(fire, fire)
    return fires


def test_the_trigger_mixes_safety_polls_and_the_window() -> None:
    trigger = PollTrigger(NetflixSettings().timing, source="netflix")
    assert fire_times(trigger, at(21, 13), 4) == [
        at(21, 14),
        at(21, 15),
        at(21, 15, 1),
        at(21, 15, 2),
    ]
    # The 20:00 safety poll falls on the grid: one run, not two.
    assert fire_times(trigger, at(21, 19, 59), 3) == [at(21, 19, 59), at(21, 20), at(21, 20, 1)]
    # After the window, the safety polls only.
    assert fire_times(trigger, at(21, 23, 59), 3) == [at(21, 23, 59), at(22, 14), at(22, 20)]
    # Up to date inside the window: the safety polls only until it closes.
    trigger.quiet_until = at(22, 0)
    assert fire_times(trigger, at(21, 16), 2) == [at(21, 20), at(22, 14)]


def test_next_fire_time_counts_the_window() -> None:
    timing = NetflixSettings().timing
    assert next_fire_time(timing, at(21, 15, 0, 30)) == at(21, 15, 1)
    assert next_fire_time(timing, at(22, 15)) == at(22, 20)
    assert next_fire_time(PollTiming(()), at(21, 15)) is None


def test_window_keys_are_read_and_checked() -> None:
    settings = NetflixSettings.from_table(
        {"publication_window": ["tue 18:00-24:00", "wed 00:00-03:00"], "window_interval": "2m"}
    )
    assert [w.text for w in settings.timing.windows] == ["tue 18:00-24:00", "wed 00:00-03:00"]
    assert settings.timing.window_interval == timedelta(minutes=2)
    assert NetflixSettings.from_table({"window_interval": 30}).timing.window_interval == timedelta(
        seconds=30
    )
    assert NetflixSettings.from_table({"publication_window": []}).timing.windows == ()
    with pytest.raises(ConfigError, match=r"\[sources.netflix\] publication_window: 'tue'"):
        NetflixSettings.from_table({"publication_window": "tue"})
    with pytest.raises(ConfigError, match="window_interval must be longer than 0s"):
        NetflixSettings.from_table({"window_interval": "0s"})
    with pytest.raises(ConfigError, match="window_interval must be a duration"):
        NetflixSettings.from_table({"window_interval": "soon"})
