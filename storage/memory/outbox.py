"""The outbox in dictionaries (bot.ports.Outbox), for the memory:// backend and unit tests."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.events import Event
from bot.matching import route_events
from bot.ports import (
    ClaimedGroup,
    DeadLetter,
    Delivery,
    DeliveryBacklog,
    DeliveryCounts,
    DeliveryStatus,
    SubscriptionStore,
)
from bot.subscriptions import Destination
from storage import codec
from storage.outbox_rules import OpenRow, choose_group


@dataclass(slots=True)
class _Row:
    id: int
    event: Event
    destination: Destination
    status: DeliveryStatus
    due_at: datetime
    created_at: datetime
    updated_at: datetime
    claimed_until: datetime | None = None
    claimed_by: str = ""
    group_id: int | None = None
    attempts: int = 0
    uncertain: int = 0
    last_error: str = ""

    @property
    def open(self) -> bool:
        return self.status in (DeliveryStatus.PENDING, DeliveryStatus.FAILED)

    def held_by(self, claimant: str | None) -> bool:
        """Whether `claimant` holds the row (None: whoever does, or nobody)."""
        if claimant is None:
            return True
        return self.claimed_until is not None and self.claimed_by == claimant

    @property
    def delivery(self) -> Delivery:
        return Delivery(self.id, self.event, self.attempts, self.uncertain, self.created_at)


class MemoryOutbox:
    """The outbox in dictionaries, for the memory:// store and unit tests."""

    def __init__(self, subscriptions: SubscriptionStore) -> None:
        self._subscriptions = subscriptions
        self._rows: dict[int, _Row] = {}
        self._keys: dict[tuple[str, Destination], int] = {}
        self._ids = itertools.count(1)

    async def queue(self, events: Sequence[Event], now: datetime) -> int:
        """Queue a delivery of each new event to every active destination that wants it (the
        memory backend's unit of work calls it before it stores anything)."""
        wanted = list(events)
        if not wanted:
            return 0
        queued = 0
        for destination, destination_events in route_events(
            wanted, await self._subscriptions.active_routes()
        ):
            for event in destination_events:
                key = (event.key, destination)
                if key in self._keys:
                    continue
                row_id = next(self._ids)
                self._rows[row_id] = _Row(
                    row_id, event, destination, DeliveryStatus.PENDING, now, now, now
                )
                self._keys[key] = row_id
                queued += 1
        return queued

    async def claim(
        self, platform: str, now: datetime, lease: timedelta, limit: int, *, claimant: str = ""
    ) -> list[ClaimedGroup]:
        due = sorted(
            (
                row
                for row in self._rows.values()
                if row.destination.platform == platform
                and row.open
                and row.due_at <= now
                and (row.claimed_until is None or row.claimed_until <= now)
            ),
            key=lambda row: (row.due_at, row.id),
        )
        by_destination: dict[Destination, list[OpenRow]] = {}
        for row in due:
            if row.destination not in by_destination and len(by_destination) >= limit:
                continue
            by_destination.setdefault(row.destination, []).append(
                OpenRow(row.id, row.destination, row.group_id, row.delivery)
            )
        groups: list[ClaimedGroup] = []
        for destination, open_rows in by_destination.items():
            group_id, chosen = choose_group(open_rows)
            for open_row in chosen:
                row = self._rows[open_row.id]
                row.claimed_until = now + lease
                row.claimed_by = claimant
                row.group_id = group_id
            state = await self._subscriptions.destination_state(destination)
            settings = await self._subscriptions.get_settings(destination)
            groups.append(
                ClaimedGroup(
                    group_id=group_id,
                    destination=destination,
                    settings=settings,
                    active=state.active if state is not None else False,
                    inactive_reason=state.reason if state is not None else "destination removed",
                    deliveries=tuple(r.delivery for r in sorted(chosen, key=lambda r: r.id)),
                    done=self._done(group_id),
                )
            )
        return groups

    def _done(self, group_id: int) -> tuple[Delivery, ...]:
        """The group's recorded rows (ClaimedGroup.done)."""
        return tuple(
            row.delivery
            for row in sorted(self._rows.values(), key=lambda row: row.id)
            if row.group_id == group_id and row.status in (DeliveryStatus.SENT, DeliveryStatus.DEAD)
        )

    def _open_rows(self, ids: Iterable[int], claimant: str | None = None) -> list[_Row]:
        return [
            row
            for i in ids
            if (row := self._rows.get(i)) is not None and row.open and row.held_by(claimant)
        ]

    async def extend_lease(
        self, ids: Sequence[int], until: datetime, *, claimant: str = ""
    ) -> list[int]:
        kept = self._open_rows(ids, claimant)
        for row in kept:
            row.claimed_until = until
        return sorted(row.id for row in kept)

    async def mark_sent(self, ids: Sequence[int], now: datetime) -> None:
        for row in self._open_rows(ids):
            row.status, row.claimed_until, row.last_error = DeliveryStatus.SENT, None, ""
            row.updated_at = now

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
        for row in self._open_rows(ids, claimant):
            row.status, row.claimed_until, row.last_error = DeliveryStatus.FAILED, None, reason
            row.attempts += 1
            row.uncertain += int(uncertain)
            row.due_at, row.updated_at = retry_at, now

    async def mark_dead(
        self, ids: Sequence[int], now: datetime, reason: str, *, claimant: str | None = None
    ) -> None:
        for row in self._open_rows(ids, claimant):
            row.status, row.claimed_until, row.last_error = DeliveryStatus.DEAD, None, reason
            row.updated_at = now

    async def postpone(
        self,
        ids: Sequence[int],
        until: datetime,
        *,
        regroup: bool = False,
        claimant: str | None = None,
    ) -> None:
        for row in self._open_rows(ids, claimant):
            row.due_at, row.claimed_until = until, None
            if regroup:
                row.group_id = None

    async def listen(self, wake: Callable[[], None]) -> None:
        """One process owns a memory store: its poller wakes its sender in memory."""

    async def dead_letter_chat(
        self, platform: str, chat_id: str, now: datetime, reason: str
    ) -> int:
        doomed = [
            row.id
            for row in self._rows.values()
            if row.open
            and row.destination.platform == platform
            and row.destination.chat_id == chat_id
        ]
        await self.mark_dead(doomed, now, reason)
        return len(doomed)

    async def move_destination(self, old: Destination, new: Destination) -> int:
        moved = 0
        for row in [r for r in self._rows.values() if r.open and r.destination == old]:
            del self._keys[(row.event.key, old)]
            if (row.event.key, new) in self._keys:
                del self._rows[row.id]  # the new address already has this event
                continue
            row.destination, row.group_id = new, None
            self._keys[(row.event.key, new)] = row.id
            moved += 1
        return moved

    async def counts(self) -> DeliveryCounts:
        totals = {status: 0 for status in DeliveryStatus}
        for row in self._rows.values():
            totals[row.status] += 1
        return DeliveryCounts(
            pending=totals[DeliveryStatus.PENDING],
            failed=totals[DeliveryStatus.FAILED],
            sent=totals[DeliveryStatus.SENT],
            dead=totals[DeliveryStatus.DEAD],
            uncertain=sum(row.uncertain for row in self._rows.values()),
        )

    async def backlog(self) -> DeliveryBacklog:
        counts = await self.counts()
        return DeliveryBacklog(pending=counts.pending, failed=counts.failed, dead=counts.dead)

    async def dead_letters(self, limit: int = 20) -> list[DeadLetter]:
        codec.check_limit(limit)
        dead = sorted(
            (row for row in self._rows.values() if row.status == DeliveryStatus.DEAD),
            key=lambda row: (row.updated_at, row.id),
            reverse=True,
        )
        return [
            DeadLetter(
                row.id, row.destination, row.event.key, row.attempts, row.last_error, row.updated_at
            )
            for row in dead[:limit]
        ]

    async def requeue_dead(self, now: datetime) -> int:
        requeued = 0
        for row in self._rows.values():
            if row.status == DeliveryStatus.DEAD:
                row.status, row.attempts, row.uncertain = DeliveryStatus.PENDING, 0, 0
                row.due_at, row.claimed_until, row.group_id, row.updated_at = now, None, None, now
                requeued += 1
        return requeued
