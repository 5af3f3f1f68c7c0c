"""Typed, typo-proof reading of one `[sources.<name>]` table of the config."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Final

from bot.config import ConfigError
from bot.sources.http import FetchSettings

_DURATION = re.compile(r"^\s*(?P<amount>\d+)\s*(?P<unit>[smhdw])\s*$")
_UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(value: Any, key: str) -> timedelta:
    """'4d', '36h', '90m', '2w', '3600s' (or a number of seconds) → timedelta."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return timedelta(seconds=value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return timedelta(seconds=int(match["amount"]) * _UNIT_SECONDS[match["unit"]])
    raise ConfigError(f'{key} must be a duration such as "4d", "36h" or "90m", got {value!r}')


class SectionReader:
    """Reads one raw `[sources.<name>]` table: typed values, defaults, unknown keys refused."""

    def __init__(self, name: str, table: dict[str, Any]) -> None:
        self.name = name
        self._table = table
        self._read: set[str] = set()

    def _get(self, key: str) -> Any:
        self._read.add(key)
        return self._table.get(key)

    def _fail(self, key: str, expected: str) -> ConfigError:
        return ConfigError(f"[{self.name}] {key} must be {expected}")

    def boolean(self, key: str, default: bool) -> bool:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self._fail(key, "true or false")
        return value

    def string(self, key: str, default: str) -> str:
        value = self.optional_string(key)
        return default if value is None else value

    def optional_string(self, key: str) -> str | None:
        value = self._get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise self._fail(key, "a string")
        return value

    def number(self, key: str, default: float, *, minimum: float = 0.0) -> float:
        value = self._get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
            raise self._fail(key, f"a number >= {minimum:g}")
        return float(value)

    def integer(self, key: str, default: int, *, minimum: int = 0) -> int:
        value = self._get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self._fail(key, f"an integer >= {minimum}")
        return value

    def duration(self, key: str, default: timedelta) -> timedelta:
        value = self._get(key)
        return default if value is None else parse_duration(value, f"[{self.name}] {key}")

    def strings(
        self, key: str, default: tuple[str, ...], *, allow_empty: bool = False
    ) -> tuple[str, ...]:
        """A list of strings; a single string is taken as a list of one."""
        value = self._get(key)
        if value is None:
            return default
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self._fail(key, "a list of non-empty strings")
        if not value and not allow_empty:
            raise self._fail(key, "a non-empty list")
        return tuple(value)

    def fetch_settings(self, *, solver: bool) -> FetchSettings:
        """The keys every source shares: timeout, retries, user_agent, proxy (and solver_url
        where a browser-based solver makes sense: HTML pages, not TSV files)."""
        defaults = FetchSettings()
        return FetchSettings(
            timeout=self.number("timeout", defaults.timeout, minimum=0.001),
            retries=self.integer("retries", defaults.retries),
            user_agent=self.string("user_agent", defaults.user_agent),
            proxy=self.optional_string("proxy"),
            solver_url=self.optional_string("solver_url") if solver else None,
            retry_wait=self.number("retry_wait", defaults.retry_wait),
            retry_wait_max=self.number("retry_wait_max", defaults.retry_wait_max),
        )

    def finish(self) -> None:
        """Fail fast on a key nobody read: a typo must not silently keep a default."""
        unknown = sorted(set(self._table) - self._read)
        if unknown:
            known = ", ".join(sorted(self._read))
            raise ConfigError(f"[{self.name}] unknown key {unknown[0]!r}; known keys: {known}")
