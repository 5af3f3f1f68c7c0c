"""The [pictures] section of the config."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from bot.config import ConfigError
from bot.pictures.service import DEFAULT_CACHE_SIZE

CONSOLE_DIR_NAME = "top10bot-pictures"


@dataclass(frozen=True, slots=True)
class PicturesConfig:
    """Pictures with /title and with the bursts of followed charts (config.example.toml)."""

    enabled: bool = True
    cache_size: int = DEFAULT_CACHE_SIZE
    console_dir: str = ""  # where the console saves pictures; "" = the system's temp directory

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> PicturesConfig:
        known = sorted(f.name for f in fields(cls))
        for name in table:
            if name not in known:
                listed = ", ".join(known)
                raise ConfigError(f"[pictures] unknown key {name!r}; known keys: {listed}")
        enabled = table.get("enabled", True)
        cache_size = table.get("cache_size", DEFAULT_CACHE_SIZE)
        console_dir = table.get("console_dir", "")
        if not isinstance(enabled, bool):
            raise ConfigError("[pictures] enabled must be true or false")
        if not isinstance(cache_size, int) or isinstance(cache_size, bool) or cache_size < 1:
            raise ConfigError("[pictures] cache_size must be a whole number of at least 1")
        if not isinstance(console_dir, str):
            raise ConfigError("[pictures] console_dir must be a string (a directory)")
        return cls(enabled, cache_size, console_dir)

    def console_directory(self) -> Path:
        if self.console_dir:
            return Path(self.console_dir)
        return Path(tempfile.gettempdir()) / CONSOLE_DIR_NAME
