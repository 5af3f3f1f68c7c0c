"""The polling part of the config: `[sources.*]`, `[alerts] catchup_max_age`, `[admin] chat` and
`[admin] alert_after`."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Final, NamedTuple

from bot.catchup import DEFAULT_CATCHUP_MAX_AGE
from bot.config import Config, ConfigError, section
from bot.config_schema import closest
from bot.poll_window import PollTiming
from bot.sources import flixpatrol_fetch, netflix_fetch
from bot.sources.flixpatrol_fetch import FlixPatrolSettings
from bot.sources.http import FetchSettings
from bot.sources.netflix_fetch import NetflixSettings
from bot.sources.settings import parse_duration

log = logging.getLogger(__name__)

# A source must have failed this long (and 3 polls in a row) before the operator is paged: inside
# the 60 s publication window 3 polls take 3 minutes, and a CDN blip that short is not news.
DEFAULT_ALERT_AFTER: Final = timedelta(minutes=30)

SOURCE_NAMES: Final = (netflix_fetch.NAME, flixpatrol_fetch.NAME)


class SourceBasics(NamedTuple):
    """What every source's table says, whatever the source."""

    enabled: bool
    timing: PollTiming
    fetch: FetchSettings

    @property
    def schedule(self) -> tuple[str, ...]:
        return self.timing.schedule


@dataclass(frozen=True, slots=True)
class PollConfig:
    netflix: NetflixSettings = field(default_factory=NetflixSettings)
    flixpatrol: FlixPatrolSettings = field(default_factory=FlixPatrolSettings)
    catchup_max_age: timedelta = DEFAULT_CATCHUP_MAX_AGE
    # "console", or "<platform>:<destination>" (e.g. "telegram:-100123", "discord:1234567890").
    admin_chat: str | None = None
    alert_after: timedelta = DEFAULT_ALERT_AFTER

    def enabled(self, name: str) -> bool:
        return self.settings(name).enabled

    def settings(self, name: str) -> SourceBasics:
        if name == netflix_fetch.NAME:
            n = self.netflix
            return SourceBasics(n.enabled, n.timing, n.fetch)
        if name == flixpatrol_fetch.NAME:
            f = self.flixpatrol
            return SourceBasics(f.enabled, f.timing, f.fetch)
        raise KeyError(name)

    def enabled_sources(self) -> list[str]:
        return [name for name in SOURCE_NAMES if self.enabled(name)]

    def timings(self, names: Sequence[str] | None = None) -> dict[str, PollTiming]:
        return {name: self.settings(name).timing for name in names or self.enabled_sources()}


def load_poll_config(config: Config) -> PollConfig:
    """Read `[sources.*]`, `[alerts] catchup_max_age` and `[admin]`; fail fast on typos."""
    sources = config.sections.get("sources", {})
    if not isinstance(sources, dict):
        raise ConfigError("[sources] must be a table of [sources.<name>] tables")
    # load_config has checked every key against bot.config_schema; this guards a Config built
    # by hand.
    unknown = sorted(set(sources) - set(SOURCE_NAMES))
    if unknown:
        raise ConfigError(f"unknown section [sources.{unknown[0]}]{_did_you_mean(unknown[0])}")
    alerts = section(config, "alerts")
    admin = section(config, "admin")
    chat = admin.get("chat")
    if chat is not None and (not isinstance(chat, str) or not chat.strip()):
        raise ConfigError('[admin] chat must be "console" or "<platform>:<chat id>"')
    return PollConfig(
        netflix=NetflixSettings.from_table(section(config, "sources.netflix")),
        flixpatrol=FlixPatrolSettings.from_table(section(config, "sources.flixpatrol")),
        catchup_max_age=parse_duration(alerts["catchup_max_age"], "[alerts] catchup_max_age")
        if "catchup_max_age" in alerts
        else DEFAULT_CATCHUP_MAX_AGE,
        admin_chat=chat.strip() if isinstance(chat, str) else None,
        alert_after=parse_duration(admin["alert_after"], "[admin] alert_after")
        if "alert_after" in admin
        else DEFAULT_ALERT_AFTER,
    )


def resolve_source_names(poll_config: PollConfig, source: str | None) -> list[str]:
    """The sources a CLI pass covers: one named explicitly (even if disabled), else the enabled."""
    if source is None:
        return poll_config.enabled_sources()
    if source not in SOURCE_NAMES:
        raise ConfigError(f"unknown source {source!r}{_did_you_mean(source)}")
    if not poll_config.enabled(source):
        log.warning("%s is disabled in the config; polling it because it was named", source)
    return [source]


def _did_you_mean(name: str) -> str:
    guess = closest(name, frozenset(SOURCE_NAMES))
    if guess is not None:
        return f"; did you mean {guess}?"
    return f"; known sources: {', '.join(SOURCE_NAMES)}"
