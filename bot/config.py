"""Configuration: one TOML file (every key optional) plus environment variables for secrets.

Loaded once by the CLI and passed down; nothing reads configuration at import time.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from bot.diff import DiffConfig

CONFIG_ENV = "TOP10BOT_CONFIG"
DEFAULT_STORAGE_URL = "sqlite:///top10bot.db"


class ConfigError(Exception):
    """The configuration file is unreadable or a key has the wrong name or type."""


@dataclass(frozen=True, slots=True)
class StorageConfig:
    url: str = DEFAULT_STORAGE_URL
    # Seconds between a standby poller's attempts to take the poller lock (bot/poll_leader.py),
    # and between the active poller's checks that it still holds it.
    poller_takeover_seconds: float = 5.0

    def __post_init__(self) -> None:
        if not self.poller_takeover_seconds > 0:
            raise ConfigError("[storage] poller_takeover_seconds must be a positive number")


@dataclass(frozen=True, slots=True)
class ConsoleConfig:
    # None = on when no chat platform has a token, so `top10bot run` always has a front end.
    enabled: bool | None = None


@dataclass(frozen=True, slots=True)
class Config:
    storage: StorageConfig = field(default_factory=StorageConfig)
    diff: DiffConfig = field(default_factory=DiffConfig)
    console: ConsoleConfig = field(default_factory=ConsoleConfig)
    # Sections owned by other subsystems (sources, discord, telegram, delivery) stay raw tables
    # here and are parsed by those subsystems; bot.config_schema has already checked their keys.
    sections: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None


def _coerce(section: str, cls: type[Any], table: dict[str, Any]) -> Any:
    """Build a dataclass from a TOML table, failing fast on unknown keys and wrong types."""
    known = {f.name: f for f in fields(cls)}
    values: dict[str, Any] = {}
    for name, value in table.items():
        if name not in known:
            raise ConfigError(f"[{section}] unknown key {name!r}; known keys: {', '.join(known)}")
        default = getattr(cls(), name)
        if isinstance(default, tuple):
            if not isinstance(value, list) or not all(isinstance(v, int) for v in value):
                raise ConfigError(f"[{section}] {name} must be a list of integers")
            value = tuple(value)
        elif isinstance(default, bool) or default is None:
            if not isinstance(value, bool):
                raise ConfigError(f"[{section}] {name} must be true or false")
        elif isinstance(default, int):
            if not isinstance(value, int) or isinstance(value, bool):
                raise ConfigError(f"[{section}] {name} must be an integer")
        elif isinstance(default, float):
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise ConfigError(f"[{section}] {name} must be a number")
            value = float(value)
        elif isinstance(default, str) and not isinstance(value, str):
            raise ConfigError(f"[{section}] {name} must be a string")
        values[name] = value
    return replace(cls(), **values)


def load_config(path: str | Path | None = None, *, environ: dict[str, str] | None = None) -> Config:
    """Load the config file given (or $TOP10BOT_CONFIG); with neither, every default applies."""
    env = os.environ if environ is None else environ
    chosen = path if path is not None else env.get(CONFIG_ENV) or None
    raw: dict[str, Any] = {}
    file_path: Path | None = None
    if chosen is not None:
        file_path = Path(chosen)
        try:
            raw = tomllib.loads(file_path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file not found: {file_path}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {file_path} is not valid TOML: {exc}") from exc
    # Imported here: the schema takes keys from section dataclasses whose modules import this one.
    from bot.config_schema import check_known_keys

    check_known_keys(raw)
    storage = _coerce("storage", StorageConfig, raw.pop("storage", {}))
    diff = _coerce("diff", DiffConfig, raw.pop("diff", {}))
    console = _coerce("console", ConsoleConfig, raw.pop("console", {}))
    return Config(storage=storage, diff=diff, console=console, sections=raw, path=file_path)


def section(config: Config, name: str) -> dict[str, Any]:
    """A raw sub-table such as "sources.netflix" (empty when absent)."""
    node: Any = config.sections
    for part in name.split("."):
        if not isinstance(node, dict):
            return {}
        node = node.get(part, {})
    return node if isinstance(node, dict) else {}
