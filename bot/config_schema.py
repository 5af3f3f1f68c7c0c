"""Every section and key the config file may hold, checked before any section is read.

A typo (`[discrod]`, `shedule = …`) is an error that names the key and the closest valid one,
never a setting silently left at its default. Sections parsed into dataclasses take their keys
from the dataclass fields; the others list the keys their reader reads. A new key goes here and
in config.example.toml (with a comment): tests/unit/test_config_schema.py checks that the two
agree and that each reader accepts every key listed here.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import fields
from typing import Any, Final

from bot.config import ConfigError, ConsoleConfig, StorageConfig
from bot.delivery.config import DeliveryConfig
from bot.diff import DiffConfig
from bot.metrics import MetricsConfig
from bot.pictures.config import PicturesConfig


def _field_names(cls: type[Any]) -> frozenset[str]:
    return frozenset(f.name for f in fields(cls))


# What every source's table shares: SectionReader.fetch_settings (bot/sources/settings.py) and
# PollTiming.read (bot/poll_window.py).
_SOURCE_KEYS: Final = frozenset(
    {"enabled", "base_url", "timeout", "retries", "retry_wait", "retry_wait_max"}
    | {"user_agent", "proxy", "schedule", "publication_window", "window_interval"}
)

SECTION_KEYS: Final[Mapping[str, frozenset[str]]] = {
    "storage": _field_names(StorageConfig),
    "console": _field_names(ConsoleConfig),
    "diff": _field_names(DiffConfig),
    "delivery": _field_names(DeliveryConfig),
    "pictures": _field_names(PicturesConfig),
    "metrics": _field_names(MetricsConfig),
    # NetflixSettings.from_table (bot/sources/netflix_fetch.py)
    "sources.netflix": _SOURCE_KEYS | {"files"},
    # FlixPatrolSettings.from_table (bot/sources/flixpatrol_fetch.py)
    "sources.flixpatrol": _SOURCE_KEYS
    | {"services", "countries", "lists", "world", "streaming", "backfill_days"}
    | {"request_interval", "pages_in_flight", "solver_url"},
    # load_poll_config (bot/poll_config.py)
    "alerts": frozenset({"catchup_max_age"}),
    "admin": frozenset({"chat", "alert_after"}),
    # build_chat_layer (bot/app.py)
    "commands": frozenset({"rate_burst", "rate_seconds"}),
    # load_aliases (bot/commands/aliases.py)
    "titles": frozenset({"aliases"}),
    # discord_settings and telegram_settings (handlers/discord/adapter.py, telegram/adapter.py)
    "discord": frozenset({"token", "guild_ids", "sync_commands", "shard_count", "shard_ids"}),
    "telegram": frozenset(
        {"token", "base_url", "base_file_url", "rate_limiter", "flood_retries"}
        | {"poll_timeout", "read_timeout", "webhook_url", "webhook_listen", "webhook_secret"}
    ),
}


def closest(name: str, choices: Mapping[str, object] | frozenset[str]) -> str | None:
    """The valid name a typo most likely meant, or None when nothing is close."""
    by_folded = {choice.casefold(): choice for choice in choices}
    found = difflib.get_close_matches(name.casefold(), list(by_folded), n=1, cutoff=0.6)
    return by_folded[found[0]] if found else None


def _unknown_section(name: str, known: list[str], *, parent: str = "") -> ConfigError:
    """Under a parent ([sources]) the child names alone are compared, so [sources.hulu] is
    not "close" to [sources.netflix] for their shared "sources."; at the top, a bare
    "[source.netflix]" is close to [sources] and an old-style [netflix] to [sources.netflix]."""
    if parent:
        cut = len(parent) + 1
        guess = closest(name[cut:], frozenset(section[cut:] for section in known))
        guess = f"{parent}.{guess}" if guess is not None else None
    else:
        containers = {section.partition(".")[0] for section in known}
        guess = closest(name, frozenset(known) | containers)
    if guess is not None:
        return ConfigError(f"unknown section [{name}]; did you mean [{guess}]?")
    listed = ", ".join(f"[{section}]" for section in sorted(known))
    return ConfigError(f"unknown section [{name}]; known sections: {listed}")


def _unknown_key(section: str, key: str, keys: frozenset[str]) -> ConfigError:
    guess = closest(key, keys)
    if guess is not None:
        return ConfigError(f"unknown key [{section}] {key}; did you mean {guess}?")
    return ConfigError(f"unknown key [{section}] {key}; known keys: {', '.join(sorted(keys))}")


def _check_table(name: str, table: Mapping[str, Any]) -> None:
    keys = SECTION_KEYS[name]
    for key in table:
        if key not in keys:
            raise _unknown_key(name, key, keys)


def check_known_keys(raw: Mapping[str, Any]) -> None:
    """Raise ConfigError on the first section or key the schema does not know (file order)."""
    for name, value in raw.items():
        if name in SECTION_KEYS:
            if not isinstance(value, dict):
                raise ConfigError(f"{name} must be a section ([{name}]), not a value")
            _check_table(name, value)
            continue
        children = sorted(s for s in SECTION_KEYS if s.startswith(f"{name}."))
        if not children:
            if not isinstance(value, dict):
                raise ConfigError(f"unknown top-level key {name}; every key belongs in a [section]")
            raise _unknown_section(name, list(SECTION_KEYS))
        if not isinstance(value, dict):
            raise ConfigError(f"{name} must be sections ([{children[0]}], …), not a value")
        for child, table in value.items():
            full = f"{name}.{child}"
            if full not in SECTION_KEYS:
                raise _unknown_section(full, children, parent=name)
            if not isinstance(table, dict):
                raise ConfigError(f"{full} must be a section ([{full}]), not a value")
            _check_table(full, table)
