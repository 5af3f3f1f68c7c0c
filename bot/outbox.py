"""The outbox port: durable deliveries (event × destination), claimed with a lease, sent by
bot.delivery, stored by storage/ (Backend.outbox). Re-exported by bot.ports.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
    # The group's rows recorded before (sent, or dead): a digest resumed after a restart is
    # rebuilt from all of its rows, so that the parts still to send keep their numbers ("(3/5)")
    # and their idempotency keys.
    done: tuple[Delivery, ...] = ()


@dataclass(frozen=True, slots=True)
class DeliveryCounts:
    pending: int = 0
    failed: int = 0
    sent: int = 0
    dead: int = 0
    uncertain: int = 0  # attempts that timed out after sending (each retried once)


@dataclass(frozen=True, slots=True)
class DeliveryBacklog:
    """What the outbox still holds: the rows not sent (Outbox.backlog)."""

    pending: int = 0
    failed: int = 0
    dead: int = 0

    @property
    def waiting(self) -> int:
        """Rows a sender will still try (pending, or failed with a retry scheduled)."""
        return self.pending + self.failed


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
    Each claim names its `claimant` (a sender's token): the rows remember who holds them, and a
    sender renews, fails or releases only rows it still holds (`claimant` given), so a sender
    whose lease ran out and was taken over by another can neither send nor release them again.
    `None` (operators, a chat that is gone) acts whoever holds the rows.
    """

    async def claim(
        self, platform: str, now: datetime, lease: timedelta, limit: int, *, claimant: str = ""
    ) -> list[ClaimedGroup]:
        """Up to `limit` destinations' due deliveries, oldest first, leased until now + lease
        to `claimant`."""
        ...

    async def extend_lease(
        self, ids: Sequence[int], until: datetime, *, claimant: str = ""
    ) -> list[int]:
        """Keep rows claimed until `until`: their sender still holds them (queued or in flight).

        Only rows still open and held by `claimant` are touched, and their ids returned: one
        released, recorded or claimed by another sender meanwhile is left alone (and not
        returned), even when its lease had run out."""
        ...

    async def mark_sent(self, ids: Sequence[int], now: datetime) -> None:
        """Whoever holds the rows: a message that went out is sent, and recording it stops a
        sender that took the rows over from sending them again."""
        ...

    async def mark_failed(
        self,
        ids: Sequence[int],
        now: datetime,
        retry_at: datetime,
        reason: str,
        *,
        uncertain: bool = False,
        claimant: str | None = None,
    ) -> None:
        """Count an attempt and schedule the next one (the group is kept for it)."""
        ...

    async def mark_dead(
        self, ids: Sequence[int], now: datetime, reason: str, *, claimant: str | None = None
    ) -> None: ...

    async def postpone(
        self,
        ids: Sequence[int],
        until: datetime,
        *,
        regroup: bool = False,
        claimant: str | None = None,
    ) -> None:
        """Release without counting an attempt (quiet hours, flood control, a moved chat).

        `regroup`: nothing of the group was attempted, so its rows may join a later digest.
        """
        ...

    async def listen(self, wake: Callable[[], None]) -> None:
        """Until cancelled, call `wake` whenever deliveries are queued in this store by any
        process (PostgreSQL: LISTEN/NOTIFY). A store one process owns (SQLite, memory) returns
        at once: the poller of that process wakes its sender itself."""
        ...

    async def dead_letter_chat(
        self, platform: str, chat_id: str, now: datetime, reason: str
    ) -> int:
        """Every undelivered row of a chat (all its topics) becomes dead: the chat is gone."""
        ...

    async def move_destination(self, old: Destination, new: Destination) -> int:
        """Undelivered rows follow a chat to its new address; returns how many moved."""
        ...

    async def counts(self) -> DeliveryCounts:
        """Every row by status, the whole history: a scan of every delivery ever queued (tens
        of millions after a year of a large bot), for `top10bot deliveries status` only."""
        ...

    async def backlog(self) -> DeliveryBacklog:
        """Pending, failed and dead rows, counted from small indexes of those rows alone: cheap
        however long the history (for /metrics, `top10bot status`, a send run's summary)."""
        ...

    async def dead_letters(self, limit: int = 20) -> list[DeadLetter]:
        """Newest first."""
        ...

    async def requeue_dead(self, now: datetime) -> int:
        """Dead letters become pending again, due now, with their attempts reset."""
        ...
