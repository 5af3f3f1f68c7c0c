"""The one use case for a chat that is gone or has moved, whoever notices it first.

The sender notices when a send fails (Telegram 403, Discord 404/50013, a 400 with
`migrate_to_chat_id`); the adapters notice from platform events (a Discord channel deleted, a
Telegram `my_chat_member` update, a group's `migrate_to_chat_id` service message). Both call the
same methods, so the store ends the same either way:

- gone: the destination is deactivated with its subscriptions and settings kept (the owner may
  give the bot its access back), and its undelivered rows become dead letters at once instead of
  failing one by one;
- back: the destination is active again (re-added, unblocked);
- moved: a Telegram group became a supergroup; its undelivered rows, subscriptions and settings
  follow it to the new chat id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.ports import Outbox, SubscriptionStore
from bot.subscriptions import Destination

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Moved:
    deliveries: int
    subscriptions: int


def moved_address(old: Destination, new_address: str) -> Destination:
    """Where a chat moved to (DestinationMoved.new_address): a group that became a supergroup
    keeps its topic, if any."""
    moved_to = Destination.from_address(old.platform, new_address)
    return Destination(old.platform, moved_to.chat_id, moved_to.thread_id or old.thread_id)


class DestinationLifecycle:
    def __init__(
        self, subscriptions: SubscriptionStore, outbox: Outbox, *, clock: Clock = utc_now
    ) -> None:
        self.subscriptions = subscriptions
        self.outbox = outbox
        self._clock = clock

    async def gone(self, platform: str, chat_id: str, reason: str) -> int:
        """Deactivate every destination of the chat, keep its subscriptions, and dead-letter its
        undelivered rows. Returns how many rows became dead."""
        changed = await self.subscriptions.set_active(platform, chat_id, False, reason)
        dead = await self.outbox.dead_letter_chat(
            platform, chat_id, self._clock(), f"destination inactive: {reason}"
        )
        if changed or dead:
            log.info(
                "%s:%s deactivated (%s); %d deliveries set aside", platform, chat_id, reason, dead
            )
        return dead

    async def back(self, platform: str, chat_id: str) -> bool:
        """The bot may post in the chat again (re-added, unblocked)."""
        changed = await self.subscriptions.set_active(platform, chat_id, True)
        if changed:
            log.info("%s:%s active again", platform, chat_id)
        return changed > 0

    async def moved(self, old: Destination, new: Destination) -> Moved:
        """Undelivered rows, subscriptions and settings follow the chat to its new address."""
        # Rows first: the outbox merges or renames the destination its rows point at.
        deliveries = await self.outbox.move_destination(old, new)
        subscriptions = await self.subscriptions.move_destination(old, new)
        if deliveries or subscriptions:
            log.info(
                "%s moved to %s; %d subscriptions and %d deliveries follow",
                old,
                new,
                subscriptions,
                deliveries,
            )
        return Moved(deliveries, subscriptions)
