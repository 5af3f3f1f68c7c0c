"""The outbox port: durable deliveries (event × destination), claimed with a lease, sent by
bot.delivery, stored by storage/ (Backend.outbox). Re-exported by bot.ports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from bot.events import Event
from bot.subscriptions import ChatSettings, Destination


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its first attempt (or for quiet hours to end)
    FAILED = "failed"  # an attempt failed; another is scheduled
    SENT = "sent"
    DEAD = "dead"  # given up, with a reason; `top10bot deliveries retry` queues it again


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event promised to one destination (a row of the outbox)."""

    id: int
    event: Event
    attempts: int
    uncertain: int  # attempts that timed out after the request went out
    queued_at: datetime


@dataclass(frozen=True, slots=True)
class ClaimedGroup:
    """Deliveries of one destination claimed together: they become one digest.

    `group_id` is fixed at the first claim and kept across retries and restarts, so a message
    sent again is the same message (same deliveries, same idempotency key).
    """

    group_id: int
    destination: Destination
    settings: ChatSettings
    active: bool
    inactive_reason: str
    deliveries: tuple[Delivery, ...]


@dataclass(frozen=True, slots=True)
class DeliveryCounts:
    pending: int = 0
    failed: int = 0
    sent: int = 0
    dead: int = 0
    uncertain: int = 0  # attempts that timed out after sending (each retried once)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: int
    destination: Destination
    event_key: str
    attempts: int
    reason: str
    updated_at: datetime


class Outbox(Protocol):
    """Durable deliveries (event × destination), written with the events that caused them
    (Storage.save_batch with queue_deliveries; Backend.outbox).

    Rows are claimed with a lease: a row whose lease ran out (its sender died) is claimed again.
    """

    async def claim(
        self, platform: str, now: datetime, lease: timedelta, limit: int
    ) -> list[ClaimedGroup]:
        """Up to `limit` destinations' due deliveries, oldest first, leased until now + lease."""
        ...

    async def extend_lease(self, ids: Sequence[int], until: datetime) -> None:
        """Keep rows claimed until `until`: their sender still holds them (queued or in flight).

        Only rows still open and claimed are touched; one released meanwhile stays released."""
        ...

    async def mark_sent(self, ids: Sequence[int], now: datetime) -> None: ...

    async def mark_failed(
        self,
        ids: Sequence[int],
        now: datetime,
        retry_at: datetime,
        reason: str,
        *,
        uncertain: bool = False,
    ) -> None:
        """Count an attempt and schedule the next one (the group is kept for it)."""
        ...

    async def mark_dead(self, ids: Sequence[int], now: datetime, reason: str) -> None: ...

    async def postpone(self, ids: Sequence[int], until: datetime, *, regroup: bool = False) -> None:
        """Release without counting an attempt (quiet hours, flood control, a moved chat).

        `regroup`: nothing of the group was attempted, so its rows may join a later digest.
        """
        ...

    async def dead_letter_chat(
        self, platform: str, chat_id: str, now: datetime, reason: str
    ) -> int:
        """Every undelivered row of a chat (all its topics) becomes dead: the chat is gone."""
        ...

    async def move_destination(self, old: Destination, new: Destination) -> int:
        """Undelivered rows follow a chat to its new address; returns how many moved."""
        ...

    async def counts(self) -> DeliveryCounts: ...

    async def dead_letters(self, limit: int = 20) -> list[DeadLetter]:
        """Newest first."""
        ...

    async def requeue_dead(self, now: datetime) -> int:
        """Dead letters become pending again, due now, with their attempts reset."""
        ...
