"""The sender's in-memory state per platform: claimed digests waiting for a pacing token.

A lane holds the digests claimed for one platform. Workers take the first one whose chat may
receive a message now (PlatformPacer.chat_wait); the others wait on a timer of their own, so a
slow chat never holds the queue. A flood-control answer pauses the whole lane.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.delivery.digest import DigestPart
from bot.delivery.pacing import PlatformPacer
from bot.ports import ClaimedGroup, Notifier
from bot.subscriptions import Destination


@dataclass(slots=True)
class SenderStats:
    messages_sent: int = 0
    deliveries_sent: int = 0
    rate_limited: int = 0  # flood-control answers (each paused the platform)
    uncertain: int = 0  # timeouts after sending (each retried once)
    retries_scheduled: int = 0
    dead: int = 0
    deactivated: int = 0
    moved: int = 0
    held_for_quiet_hours: int = 0
    held_for_digest: int = 0  # detail deliveries postponed to their chat's daily digest
    live_edits: int = 0  # live messages edited in place
    live_posts: int = 0  # live messages posted (first time, or again after a deletion)
    taken_over: int = 0  # digests dropped: another sender claimed their rows after a stall
    first_sent_at: datetime | None = None


@dataclass(slots=True)
class QueuedDigest:
    """One claimed group on its way: its digest parts still to send."""

    group: ClaimedGroup
    destination: Destination
    parts: list[DigestPart]
    moves: int = 0

    @property
    def all_ids(self) -> list[int]:
        return [delivery.id for delivery in self.group.deliveries]

    @property
    def remaining_ids(self) -> list[int]:
        return [i for part in self.parts for i in part.delivery_ids]

    def attempts(self) -> int:
        remaining = set(self.remaining_ids)
        return max((d.attempts for d in self.group.deliveries if d.id in remaining), default=0)

    def uncertain_before(self, part: DigestPart) -> bool:
        ids = set(part.delivery_ids)
        return any(d.uncertain > 0 for d in self.group.deliveries if d.id in ids)


class Lane:
    """The queue of one platform: claimed messages waiting for a pacing token."""

    def __init__(self, notifier: Notifier, pacer: PlatformPacer, capacity: int) -> None:
        self.notifier = notifier
        self.platform = notifier.platform
        self.pacer = pacer
        self.capacity = capacity
        self.ready: deque[QueuedDigest] = deque()
        # Items whose chat must wait for its own pace, by token, with the timer that requeues them.
        self._deferred: dict[int, tuple[asyncio.TimerHandle, QueuedDigest]] = {}
        self._tokens = itertools.count()
        # Delivery ids this process holds: queued, in flight, or sent and not yet recorded. Their
        # leases are renewed, and a claim returning one of them is ignored, so that no row is
        # sent twice while this process is alive.
        self.held: set[int] = set()
        # Until when each held row is known to be this sender's: its claim's or last renewal's
        # lease. A message goes out only while its rows have time left (Sender._still_ours).
        self.leased_until: dict[int, datetime] = {}
        # Sent, their recording not yet committed (Sender._sent): held until it is.
        self.recording: set[int] = set()
        # Sent, not yet handed to the store: only on a platform that drops repeats.
        self.unrecorded: list[int] = []
        self.record_now = asyncio.Event()
        # Elsewhere: the recording of the last messages sent, awaited before the next one goes.
        self.recordings: set[asyncio.Task[None]] = set()
        self.has_ready = asyncio.Event()
        self.unpaused = asyncio.Event()
        self.unpaused.set()
        self.wake = asyncio.Event()
        self.room = asyncio.Event()
        self._paused_until = 0.0
        self._pause_timer: asyncio.TimerHandle | None = None
        # Digests admitted and not yet released (queued, deferred or in flight); `idle` is set
        # whenever none is left, which is when a run until idle may look for the end.
        self.open_items = 0
        self.idle = asyncio.Event()
        self.idle.set()

    @property
    def queued(self) -> int:
        return len(self.ready) + len(self._deferred)

    def admit(self, item: QueuedDigest, leased_until: datetime) -> None:
        self.held.update(item.all_ids)
        self.leased_until.update(dict.fromkeys(item.all_ids, leased_until))
        self.open_items += 1
        self.idle.clear()
        self.put(item)

    def put(self, item: QueuedDigest, *, front: bool = False) -> None:
        if front:
            self.ready.appendleft(item)
        else:
            self.ready.append(item)
        self.has_ready.set()

    def release(self, item: QueuedDigest) -> None:
        """The digest leaves the lane; its rows' outcomes are committed, except those of sent
        messages still being recorded, which stay held until `recorded`."""
        self._forget(set(item.all_ids).difference(self.recording))
        self.open_items -= 1
        if self.open_items == 0:
            self.idle.set()
        if self.queued < self.capacity // 2:
            self.room.set()

    def recorded(self, ids: Iterable[int]) -> None:
        """Sent rows are recorded (or their recording failed and the lease brings them back)."""
        ids = set(ids)
        self.recording.difference_update(ids)
        self._forget(ids)

    def _forget(self, ids: set[int]) -> None:
        self.held.difference_update(ids)
        for i in ids:
            self.leased_until.pop(i, None)

    def renewed(self, ids: Iterable[int], until: datetime) -> None:
        """The store confirmed these rows as this sender's until `until`."""
        for i in ids:
            if i in self.held:
                self.leased_until[i] = until

    def leased_for(self, item: QueuedDigest) -> datetime | None:
        """Until when all of a digest's rows still to send are known to be this sender's."""
        leases = [self.leased_until.get(i) for i in item.remaining_ids]
        if not leases or None in leases:
            return None
        return min(lease for lease in leases if lease is not None)

    def drop_taken(self, ids: Iterable[int]) -> int:
        """Forget the queued digests holding any of these rows: another sender claimed them after
        this one's lease ran out, and sends them now. Returns how many digests were dropped."""
        taken = set(ids)
        dropped = [item for item in self._items() if taken.intersection(item.all_ids)]
        for item in dropped:
            self._remove(item)
            self.release(item)
        return len(dropped)

    def _remove(self, item: QueuedDigest) -> None:
        """Take a queued or deferred item out of the queue (it is not released)."""
        for index, queued in enumerate(self.ready):
            if queued is item:
                del self.ready[index]
                if not self.ready:
                    self.has_ready.clear()
                return
        for token, (handle, deferred) in list(self._deferred.items()):
            if deferred is item:
                handle.cancel()
                del self._deferred[token]

    def pop_ready(self) -> QueuedDigest | None:
        """The first queued item whose chat may receive a message now; others are deferred."""
        while self.ready:
            item = self.ready.popleft()
            wait = self.pacer.chat_wait(item.destination.chat_id)
            if wait <= 0:
                if not self.ready:
                    self.has_ready.clear()
                return item
            self.defer(item, wait)
        self.has_ready.clear()
        return None

    def defer(self, item: QueuedDigest, wait: float) -> None:
        """Queue the item again once its chat may receive a message (in `wait` seconds)."""
        token = next(self._tokens)
        loop = asyncio.get_running_loop()
        self._deferred[token] = (loop.call_later(wait, self._undefer, token), item)

    def _undefer(self, token: int) -> None:
        _, item = self._deferred.pop(token)
        self.put(item, front=True)

    def _items(self) -> list[QueuedDigest]:
        return [*self.ready, *(item for _, item in self._deferred.values())]

    def pause(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        until = loop.time() + seconds
        if until <= self._paused_until:
            return
        self._paused_until = until
        self.unpaused.clear()
        if self._pause_timer is not None:
            self._pause_timer.cancel()
        self._pause_timer = loop.call_at(until, self.unpaused.set)

    def drop_chat(self, chat_id: str) -> None:
        """Forget queued items of a chat whose rows were settled in storage."""
        kept: deque[QueuedDigest] = deque()
        for item in self.ready:
            if item.destination.chat_id == chat_id:
                self.release(item)
            else:
                kept.append(item)
        self.ready = kept
        if not self.ready:
            self.has_ready.clear()
        for token, (handle, item) in list(self._deferred.items()):
            if item.destination.chat_id == chat_id:
                handle.cancel()
                del self._deferred[token]
                self.release(item)

    def readdress(self, old: Destination, new: Destination) -> None:
        for item in self._items():
            if item.destination == old:
                item.destination = new

    def close(self) -> list[QueuedDigest]:
        """Stop timers; return every item still queued or deferred (not in flight)."""
        items = self._items()
        for handle, _ in self._deferred.values():
            handle.cancel()
        self._deferred.clear()
        if self._pause_timer is not None:
            self._pause_timer.cancel()
        self.ready.clear()
        return items

    def advance(self, item: QueuedDigest) -> None:
        """The first part of the digest is settled: queue the next one, or let the digest go."""
        item.parts.pop(0)
        if item.parts:
            self.put(item, front=True)  # its chat's pacing decides when
        else:
            self.release(item)
