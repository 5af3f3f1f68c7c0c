"""The sender's configuration, backoff and pacer (bot/delivery), without any platform."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config, section
from bot.delivery.config import DeliveryConfig
from bot.delivery.failure_policy import backoff_seconds
from bot.delivery.pacing import PlatformPacer, build_pacer, telegram_chat_ceilings

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"


def test_the_example_config_documents_the_defaults() -> None:
    table = section(load_config(EXAMPLE), "delivery")
    assert DeliveryConfig.from_table(table) == DeliveryConfig()
    # Every key of the dataclass is in the example (where it is commented).
    assert set(table) == set(DeliveryConfig.__dataclass_fields__)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"telegram_per_secnd": 30}, "unknown key 'telegram_per_secnd'"),
        ({"telegram_per_second": "fast"}, "telegram_per_second must be a number"),
        ({"telegram_in_flight": 1.5}, "telegram_in_flight must be an integer"),
        ({"quiet_start": 22}, "quiet_start must be a string"),
        ({"quiet_start": "25:00", "quiet_end": "07:00"}, "must be HH:MM"),
        ({"telegram_reply_reserve_per_second": 30}, "must be below telegram_per_second"),
        ({"discord_in_flight": 0}, "discord_in_flight must be at least 1"),
        ({"lease_seconds": 0}, "lease_seconds must be positive"),
        ({"headroom": 0.7}, "headroom must be between 0 and 0.5"),
        ({"max_attempts": True}, "max_attempts must be an integer"),
    ],
)
def test_a_wrong_delivery_setting_fails_fast_with_its_name(
    table: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        DeliveryConfig.from_table(table)


def test_numbers_may_be_written_as_integers_and_quiet_hours_parsed() -> None:
    config = DeliveryConfig.from_table(
        {"discord_per_second": 45, "quiet_start": "22:30", "quiet_end": "06:00"}
    )
    assert config.discord_per_second == 45.0 and isinstance(config.discord_per_second, float)
    quiet = config.default_quiet_hours
    assert quiet is not None and (quiet.start.hour, quiet.end.hour) == (22, 6)
    assert DeliveryConfig().default_quiet_hours is None


def test_backoff_grows_is_capped_and_jittered() -> None:
    config = DeliveryConfig(retry_base_seconds=5, retry_max_seconds=60)
    rng = random.Random(7)
    waits = [backoff_seconds(attempt, config, rng) for attempt in range(1, 8)]
    ceilings = [5, 10, 20, 40, 60, 60, 60]
    assert all(c / 2 <= w <= c for w, c in zip(waits, ceilings, strict=True))
    assert len({round(w, 6) for w in waits[4:]}) == 3  # capped, but not all at once


def test_telegram_groups_get_the_group_ceiling_too() -> None:
    ceilings = telegram_chat_ceilings(DeliveryConfig())
    assert ceilings("12345") == ((1.0, 1.0),)
    assert ceilings("-1001234567890") == ((1.0, 1.0), (20.0, 60.0))


async def test_a_chat_waits_for_its_own_pace_not_for_others() -> None:
    pacer = build_pacer("telegram", DeliveryConfig())
    assert pacer.chat_wait("-100") == 0.0
    await pacer.take_chat("-100")
    # The group may have its next message in ~3 s (20/min); a private chat is unaffected.
    assert pacer.chat_wait("-100") == pytest.approx(60 / 20 / 0.98)
    assert pacer.chat_wait("42") == 0.0


def test_the_overall_pace_stays_below_the_ceiling_in_every_window() -> None:
    cases = [(30, 0.02, 1.0), (40, 0.02, 1.0), (100, 0.02, 1.0), (120, 0.02, 1.0)]
    cases += [(1000, 0.03, 1.0), (3000, 0.1, 0.1), (400, 0.1, 0.1)]
    for per_second, headroom, window in cases:
        pacer = PlatformPacer(per_second, lambda _chat: (), headroom=headroom, window=window)
        rate = 1 / pacer.interval
        assert pacer.burst >= 1
        # A full bucket at once, then one send per interval: in any window at most
        # burst - 1 + ceil(rate × window) sends, never more than the ceiling allows.
        assert pacer.burst - 1 + math.ceil(rate * window) <= per_second * window
    # Where the headroom leaves room, a late wake-up may catch up.
    assert PlatformPacer(100, lambda _chat: (), headroom=0.02).burst == 2
    # Telegram's alerts get the ceiling less the replies' reserve; the burst fits the ceiling.
    telegram = build_pacer("telegram", DeliveryConfig(telegram_per_second=100))
    assert 1 / telegram.interval == pytest.approx(99 * 0.98)
    assert telegram.burst - 1 + math.ceil(1 / telegram.interval) <= 100
