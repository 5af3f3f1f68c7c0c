"""What a sender does to share a store with other senders (several processes on PostgreSQL).

- Its claims stay its own until each send is recorded (`ClaimKeeper`): the leases of every row a
  lane holds are renewed every third of a lease, and a message goes out only while its rows are
  known to be this sender's for at least a third of a lease more (else the claim is confirmed
  with the store first). A sender that stalled past its lease and was taken over drops those
  rows instead of sending them a second time.
- Its pacing is shared (`SharedTurns`, [delivery] shared_budget): each message takes its turn in
  the platform's overall bucket and its chat's buckets, which every sender charges, and flood
  control pauses every sender.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable, Sequence
from datetime import datetime

from bot.delivery.config import DeliveryConfig
from bot.delivery.lanes import Lane, QueuedDigest, SenderStats
from bot.ports import Outbox, SendBudget

log = logging.getLogger(__name__)


def new_claimant() -> str:
    """A name for a sender's claims, unique among the senders sharing a store (and telling an
    operator which process holds a row)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class ClaimKeeper:
    """Keeps one sender's claims its own (see the module's docstring)."""

    def __init__(
        self,
        outbox: Outbox,
        config: DeliveryConfig,
        stats: SenderStats,
        claimant: str,
        clock: Callable[[], datetime],
    ) -> None:
        self._outbox = outbox
        self._config = config
        self._stats = stats
        self._claimant = claimant
        self._clock = clock

    async def renew_forever(self, lane: Lane) -> None:
        """Keep every row the lane holds claimed, well before its lease runs out: a digest may
        wait for its pacing turn, or be sent and not yet recorded, for longer than a lease.
        If this process dies, the leases run out and another sender takes the rows over."""
        period = self._config.lease_seconds / 3
        while True:
            await asyncio.sleep(period)
            if not lane.held:
                continue
            try:
                await self.renew(lane, sorted(lane.held))
            except Exception:
                log.exception("%s: renewing leases failed; will try again", lane.platform)

    async def renew(self, lane: Lane, ids: Sequence[int]) -> set[int]:
        """Extend this sender's claim of rows it holds; the ids another sender took over (after
        this one's lease ran out) are returned, and their queued digests dropped."""
        until = self._clock() + self._config.lease
        kept = await self._outbox.extend_lease(ids, until, claimant=self._claimant)
        lane.renewed(kept, until)
        # Rows recorded or released meanwhile are not renewed either; they are not taken.
        taken = (set(ids) - set(kept)) & (lane.held - lane.recording)
        if taken:
            dropped = lane.drop_taken(taken)
            self._stats.taken_over += dropped
            log.warning(
                "%s: %d claimed rows were taken over by another sender (this one's lease ran"
                " out); %d queued messages dropped",
                lane.platform,
                len(taken),
                dropped,
            )
        return taken

    async def still_ours(self, lane: Lane, item: QueuedDigest) -> bool:
        """Whether the digest's rows are this sender's for long enough to send a message: known
        for at least a third of a lease more (renewals come every third of one, so only a late
        renewal needs one), or confirmed now. Rows another sender took over are left to it,
        and the digest leaves the lane."""
        leased = lane.leased_for(item)
        if leased is not None and leased - self._clock() >= self._config.lease / 3:
            return True
        ids = item.remaining_ids
        taken = await self.renew(lane, ids)
        if not taken:
            return True
        kept = [i for i in ids if i not in taken]
        if kept:  # part of the group is still ours: release it to go out with the rest
            await self._outbox.postpone(kept, self._clock(), claimant=self._claimant)
        self._stats.taken_over += 1
        lane.release(item)
        return False


class SharedTurns:
    """Turns taken in a budget shared with other senders (see the module's docstring)."""

    def __init__(self, budget: SendBudget, config: DeliveryConfig) -> None:
        self._budget = budget
        self._config = config

    async def take(self, lane: Lane, item: QueuedDigest) -> bool:
        """Take the message's turn. False: not now; the item is queued again (its chat had a
        message from another sender: after its turn, with others meanwhile; the platform's
        turn is not yet come: first in line, after a wait; the budget could not be reached)."""
        pacer = lane.pacer
        asked = time.monotonic()
        try:
            turn = await self._budget.take(
                pacer.overall_bucket, pacer.chat_buckets(item.destination.chat_id)
            )
        except Exception:
            log.exception("%s: the shared sending budget failed; trying again", lane.platform)
            lane.put(item, front=True)
            await asyncio.sleep(min(1.0, self._config.idle_poll_seconds))
            return False
        if turn.granted:
            return True
        if turn.chat_busy:
            lane.defer(item, turn.wait)
        else:
            lane.put(item, front=True)
            # Ask again so as to arrive when the turn is due: the answer took a round trip, and
            # so will the question.
            await asyncio.sleep(max(0.0, turn.wait - (time.monotonic() - asked)))
        return False

    async def pause(self, lane: Lane, seconds: float) -> None:
        """Flood control: every sender sharing the budget pauses, not only this one."""
        try:
            await self._budget.pause(lane.pacer.overall_bucket, seconds)
        except Exception:
            log.exception("%s: pausing the shared sending budget failed", lane.platform)
