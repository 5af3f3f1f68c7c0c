"""Destinations, their subscriptions and settings in dictionaries (bot.ports.SubscriptionStore)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.models import ChartKey
from bot.subscriptions import (
    ChatSettings,
    Destination,
    DestinationState,
    Route,
    Subscription,
    SubscriptionSpec,
)
from storage import codec


@dataclass(slots=True)
class _MemoryDestination:
    state: DestinationState
    settings: ChatSettings


@dataclass(slots=True)
class MemoryLiveRow:
    """A live message (storage.memory.live): kept here, since it follows its destination."""

    id: int
    destination: Destination
    key: ChartKey
    due_at: datetime
    message_id: str | None = None
    period: date | None = None
    claimed_until: datetime | None = None
    attempts: int = 0
    last_error: str = ""


class MemorySubscriptionStore:
    """Subscriptions in dictionaries; nothing survives the process (the memory:// storage)."""

    def __init__(self, *, clock: codec.Clock = codec.utc_now) -> None:
        self._clock = clock
        self._destinations: dict[Destination, _MemoryDestination] = {}
        self._subscriptions: dict[int, Subscription] = {}  # insertion order is id order
        self._next_id = 1
        self.live_rows: dict[int, MemoryLiveRow] = {}  # insertion order is id order

    def ensure_active(self, destination: Destination) -> None:
        """Create the destination, or make it active again: the bot may post there."""
        known = self._ensure(destination)
        if not known.state.active:
            known.state = DestinationState(True, "", self._clock())

    def _ensure(self, destination: Destination) -> _MemoryDestination:
        known = self._destinations.get(destination)
        if known is None:
            known = _MemoryDestination(DestinationState(True, "", self._clock()), ChatSettings())
            self._destinations[destination] = known
        return known

    async def add_subscription(
        self, destination: Destination, spec: SubscriptionSpec
    ) -> tuple[Subscription, bool]:
        self.ensure_active(destination)
        identity = spec.identity()
        for existing in self._subscriptions.values():
            if existing.destination == destination and existing.spec.identity() == identity:
                return existing, False
        subscription = Subscription(self._next_id, destination, spec)
        self._subscriptions[subscription.id] = subscription
        self._next_id += 1
        return subscription, True

    async def remove_subscription(self, destination: Destination, subscription_id: int) -> bool:
        found = self._subscriptions.get(subscription_id)
        if found is None or found.destination != destination:
            return False
        del self._subscriptions[subscription_id]
        return True

    async def remove_all_subscriptions(self, destination: Destination) -> int:
        doomed = [s.id for s in self._subscriptions.values() if s.destination == destination]
        for subscription_id in doomed:
            del self._subscriptions[subscription_id]
        return len(doomed)

    async def subscriptions_of(self, destination: Destination) -> list[Subscription]:
        return [s for s in self._subscriptions.values() if s.destination == destination]

    async def active_routes(self) -> list[Route]:
        grouped: dict[Destination, list[Subscription]] = {}
        for subscription in self._subscriptions.values():
            grouped.setdefault(subscription.destination, []).append(subscription)
        routes = []
        for destination, subscriptions in grouped.items():
            known = self._destinations[destination]
            if known.state.active:
                routes.append(Route(destination, known.settings, tuple(subscriptions)))
        return routes

    async def destination_state(self, destination: Destination) -> DestinationState | None:
        known = self._destinations.get(destination)
        return known.state if known is not None else None

    async def set_active(self, platform: str, chat_id: str, active: bool, reason: str = "") -> int:
        changed = 0
        for destination, known in self._destinations.items():
            if destination.platform != platform or destination.chat_id != chat_id:
                continue
            if known.state.active != active:
                known.state = DestinationState(active, "" if active else reason, self._clock())
                changed += 1
        return changed

    async def get_settings(self, destination: Destination) -> ChatSettings:
        known = self._destinations.get(destination)
        return known.settings if known is not None else ChatSettings()

    async def save_settings(self, destination: Destination, settings: ChatSettings) -> None:
        self._ensure(destination).settings = settings

    async def move_destination(self, old: Destination, new: Destination) -> int:
        if old == new or old not in self._destinations:
            return 0
        moving = [s for s in self._subscriptions.values() if s.destination == old]
        old_record = self._destinations.pop(old)
        if new not in self._destinations:
            self._destinations[new] = old_record
        live_keys = {row.key for row in self.live_rows.values() if row.destination == new}
        for row in [row for row in self.live_rows.values() if row.destination == old]:
            if row.key in live_keys:
                del self.live_rows[row.id]  # the new address has that chart live already
            else:
                row.destination = new
        kept = {s.spec.identity() for s in self._subscriptions.values() if s.destination == new}
        moved = 0
        for subscription in moving:
            del self._subscriptions[subscription.id]
            if subscription.spec.identity() in kept:
                continue
            kept.add(subscription.spec.identity())
            moved_subscription = Subscription(self._next_id, new, subscription.spec)
            self._subscriptions[moved_subscription.id] = moved_subscription
            self._next_id += 1
            moved += 1
        return moved
