"""What one `top10bot run` process does: everything, or one part of a scaled-out deployment.

Several processes share one database (PostgreSQL; SQLite on one host):

- `poller`: polls the sources on their schedule, stores charts and events and queues their
  deliveries (one transaction). At most one polls at a time (bot/poll_leader.py); others stand by.
- `sender`: sends what the outbox holds through the platforms that have a token (REST only: no
  Discord gateway session, no Telegram getUpdates). Any number, sharing the outbox.
- `gateway`: the chat front ends (Discord, Telegram, console): answers commands and manages
  subscriptions. Command replies go out from here; alerts do not.
- `all` (the default): the three in one process, as a single-host bot runs.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ALL = "all"
    POLLER = "poller"
    SENDER = "sender"
    GATEWAY = "gateway"

    @property
    def polls(self) -> bool:
        return self in (Role.ALL, Role.POLLER)

    @property
    def sends(self) -> bool:
        return self in (Role.ALL, Role.SENDER)

    @property
    def serves_commands(self) -> bool:
        return self in (Role.ALL, Role.GATEWAY)
