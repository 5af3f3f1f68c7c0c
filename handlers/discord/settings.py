"""What [discord] and DISCORD_TOKEN say, checked; sharding: which shards this process runs.

Discord splits a bot's servers into `shard_count` shards by `(guild_id >> 22) % shard_count`;
each gateway connection IDENTIFYs as one `[shard_id, shard_count]` and receives the events of
its shard's servers only (and shard 0 the DMs). Several gateway processes split the servers by
each running some shard ids, with the same `shard_count` everywhere; one process may run them
all. Discord requires sharding from 2,500 servers on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.config import ConfigError
from handlers.secrets import resolve_token


@dataclass(frozen=True, slots=True)
class Sharding:
    # None: one unsharded connection (a bot in fewer than 2,500 servers needs no more).
    count: int | None = None
    # The shards this process runs; empty with a count: every shard, 0 … count-1.
    ids: tuple[int, ...] = ()

    @property
    def sharded(self) -> bool:
        return self.count is not None

    @property
    def runs_shard_zero(self) -> bool:
        """Shard 0 gets the DMs; its process also registers the slash commands, once for all."""
        return self.count is None or not self.ids or 0 in self.ids

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments of discord.AutoShardedClient for these shards."""
        if self.count is None:
            return {}
        return {"shard_count": self.count, "shard_ids": list(self.ids) if self.ids else None}

    def describe(self) -> str:
        if self.count is None:
            return "one unsharded connection"
        ids = self.ids or tuple(range(self.count))
        return f"shard{'s' if len(ids) > 1 else ''} {', '.join(map(str, ids))} of {self.count}"


def _whole_number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def read_sharding(section: Mapping[str, Any]) -> Sharding:
    """`[discord] shard_count` and `shard_ids`, checked: a wrong value is a ConfigError that says
    what is wrong, never a gateway process that silently serves the wrong servers."""
    count = section.get("shard_count")
    ids = section.get("shard_ids")
    if count is None:
        if ids is not None:
            raise ConfigError(
                "[discord] shard_ids needs shard_count (the number of shards across every"
                " gateway process)"
            )
        return Sharding()
    if not _whole_number(count) or count < 1:
        raise ConfigError(f"[discord] shard_count must be a whole number ≥ 1, not {count!r}")
    if ids is None:
        return Sharding(count)
    if not isinstance(ids, list) or not ids:
        raise ConfigError(
            "[discord] shard_ids must be a non-empty list of shard numbers (leave it out to run"
            " every shard in this process)"
        )
    seen: set[int] = set()
    for shard_id in ids:
        if not _whole_number(shard_id):
            raise ConfigError(f"[discord] shard_ids must hold whole numbers, not {shard_id!r}")
        if not 0 <= shard_id < count:
            raise ConfigError(
                f"[discord] shard_ids: {shard_id} is out of range; with shard_count = {count}"
                f" the shards are 0 to {count - 1}"
            )
        if shard_id in seen:
            raise ConfigError(f"[discord] shard_ids lists shard {shard_id} twice")
        seen.add(shard_id)
    return Sharding(count, tuple(ids))


@dataclass(frozen=True, slots=True)
class DiscordSettings:
    token: str
    # Guilds whose commands are synced directly (instant); none: global commands (slower to
    # appear, but one registration for every server).
    guild_ids: tuple[int, ...] = ()
    sync_commands: bool = True
    # How long discord.py waits for more GUILD_CREATEs before it calls itself ready.
    guild_ready_timeout: float = 2.0
    # A quick command still answering after this long is deferred: Discord's limit is 3 s.
    defer_after: float = 2.0
    sharding: Sharding = Sharding()


def discord_settings(
    section: Mapping[str, Any], environ: Mapping[str, str]
) -> DiscordSettings | None:
    """[discord] config plus DISCORD_TOKEN (the environment wins); None without a token."""
    sharding = read_sharding(section)  # checked even without a token: a wrong value is an error
    token = resolve_token("DISCORD_TOKEN", section, environ)
    if not token:
        return None
    guild_ids: Sequence[Any] = section.get("guild_ids", ())
    try:
        guilds = tuple(int(g) for g in guild_ids)
    except (TypeError, ValueError) as exc:
        raise ConfigError("[discord] guild_ids must be a list of server ids (numbers)") from exc
    return DiscordSettings(
        token=token,
        guild_ids=guilds,
        sync_commands=bool(section.get("sync_commands", True)),
        sharding=sharding,
    )


__all__ = ["DiscordSettings", "Sharding", "discord_settings", "read_sharding"]
