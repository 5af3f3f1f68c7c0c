"""The [delivery] section of the config: ceilings, retries, leases, quiet hours."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any

from bot.config import ConfigError
from bot.delivery.quiet_hours import QuietHours
from bot.subscriptions import Platform

# Where several senders share their pacing ([delivery] shared_budget).
SHARED_BUDGETS = ("auto", "local", "postgresql")


@dataclass(frozen=True, slots=True)
class DeliveryConfig:
    """The [delivery] section of the config (see config.example.toml for every key)."""

    # Telegram Bots FAQ: ~30 messages/s overall, ~1/s in one chat, 20/min in one group or channel.
    telegram_per_second: float = 30.0
    telegram_per_chat_per_second: float = 1.0
    telegram_per_group_per_minute: float = 20.0
    telegram_reply_reserve_per_second: float = 1.0
    telegram_in_flight: int = 1
    # Discord: 50 requests/s for a whole bot (kept well below), ~5 messages per 5 s in a channel.
    discord_per_second: float = 40.0
    discord_per_channel: int = 5
    discord_channel_seconds: float = 5.0
    discord_in_flight: int = 8
    headroom: float = 0.02
    ceiling_window_seconds: float = 1.0
    lease_seconds: float = 60.0
    max_attempts: int = 6
    retry_base_seconds: float = 5.0
    retry_max_seconds: float = 900.0
    uncertain_retry_seconds: float = 10.0
    send_timeout_seconds: float = 30.0
    quiet_start: str = ""
    quiet_end: str = ""
    claim_batch: int = 200
    idle_poll_seconds: float = 5.0
    # "auto": shared through the store when it is PostgreSQL, else in memory; "local";
    # "postgresql" (see config.example.toml).
    shared_budget: str = "auto"

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> DeliveryConfig:
        """Parse the raw [delivery] table, failing fast on unknown keys and wrong types."""
        known = {f.name for f in fields(cls)}
        defaults = cls()
        values: dict[str, Any] = {}
        for name, value in table.items():
            if name not in known:
                raise ConfigError(
                    f"[delivery] unknown key {name!r}; known keys: {', '.join(sorted(known))}"
                )
            default = getattr(defaults, name)
            if isinstance(default, str):
                if not isinstance(value, str):
                    raise ConfigError(f"[delivery] {name} must be a string")
            elif isinstance(default, int):
                if not isinstance(value, int) or isinstance(value, bool):
                    raise ConfigError(f"[delivery] {name} must be an integer")
            elif not isinstance(value, int | float) or isinstance(value, bool):
                raise ConfigError(f"[delivery] {name} must be a number")
            values[name] = float(value) if isinstance(default, float) else value
        config = cls(**{**{f.name: getattr(defaults, f.name) for f in fields(cls)}, **values})
        config.validate()
        return config

    def validate(self) -> None:
        positive = (
            "telegram_per_second",
            "telegram_per_chat_per_second",
            "telegram_per_group_per_minute",
            "discord_per_second",
            "discord_channel_seconds",
            "lease_seconds",
            "retry_base_seconds",
            "retry_max_seconds",
            "send_timeout_seconds",
            "idle_poll_seconds",
            "ceiling_window_seconds",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise ConfigError(f"[delivery] {name} must be positive")
        for name in ("telegram_in_flight", "discord_in_flight", "discord_per_channel"):
            if getattr(self, name) < 1:
                raise ConfigError(f"[delivery] {name} must be at least 1")
        if self.max_attempts < 1 or self.claim_batch < 1:
            raise ConfigError("[delivery] max_attempts and claim_batch must be at least 1")
        if not 0 <= self.headroom < 0.5:
            raise ConfigError("[delivery] headroom must be between 0 and 0.5")
        if not 0 <= self.telegram_reply_reserve_per_second < self.telegram_per_second:
            raise ConfigError(
                "[delivery] telegram_reply_reserve_per_second must be below telegram_per_second"
            )
        if self.shared_budget not in SHARED_BUDGETS:
            raise ConfigError(
                f"[delivery] shared_budget must be one of {', '.join(SHARED_BUDGETS)},"
                f" not {self.shared_budget!r}"
            )
        try:
            QuietHours.parse(self.quiet_start, self.quiet_end)
        except ValueError as exc:
            raise ConfigError(f"[delivery] quiet_start/quiet_end must be HH:MM: {exc}") from None

    @property
    def default_quiet_hours(self) -> QuietHours | None:
        return QuietHours.parse(self.quiet_start, self.quiet_end)

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.lease_seconds)

    def in_flight(self, platform: str) -> int:
        if platform == Platform.TELEGRAM:
            return self.telegram_in_flight
        if platform == Platform.DISCORD:
            return self.discord_in_flight
        return 1
