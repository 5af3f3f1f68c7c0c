"""What each delivery failure means for the rows (docs: platforms.md, "Failures and what each one
means"), in one place:

| notifier raises | the rows | the platform / chat |
| --- | --- | --- |
| RetryLater | stay queued, first in line | the whole lane pauses for `seconds` |
| DestinationMoved | follow the chat (lifecycle.moved), sent again | subscriptions move too |
| DestinationGone | every open row of the chat dead (lifecycle.gone) | inactive, subs kept |
| DeliveryUncertain, timeout | retried once (`uncertain_retry_seconds`), then dead | — |
| MessageRejected | this message's rows are dead (sending again cannot help) | — |
| anything else | retried with exponential backoff; dead after `max_attempts` | — |
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.delivery.config import DeliveryConfig
from bot.delivery.digest import DigestPart
from bot.delivery.lanes import Lane, QueuedDigest, SenderStats
from bot.delivery.lifecycle import DestinationLifecycle, moved_address
from bot.ports import (
    DeliveryUncertain,
    DestinationGone,
    DestinationMoved,
    MessageRejected,
    Outbox,
    RetryLater,
)

log = logging.getLogger(__name__)

# A chat that moved more often than this while one message was being sent is not followed further.
MAX_MOVES_PER_MESSAGE = 3


def backoff_seconds(attempt: int, config: DeliveryConfig, rng: random.Random) -> float:
    """Exponential backoff with jitter: base × 2^(attempt-1), capped, times 0.5–1.0 (so that
    chats failing together do not come back together)."""
    ceiling = min(config.retry_max_seconds, config.retry_base_seconds * 2.0 ** max(attempt - 1, 0))
    return ceiling * (0.5 + rng.random() / 2)


class FailurePolicy:
    """Settles a digest part that could not be sent, in the outbox and in its lane."""

    def __init__(
        self,
        outbox: Outbox,
        lifecycle: DestinationLifecycle,
        config: DeliveryConfig,
        stats: SenderStats,
        *,
        clock: Callable[[], datetime],
        rng: random.Random,
        claimant: str | None = None,
    ) -> None:
        """`claimant`: the sender's claims; only rows it still holds are settled."""
        self._outbox = outbox
        self._claimant = claimant
        self._lifecycle = lifecycle
        self._config = config
        self._stats = stats
        self._clock = clock
        self._rng = rng

    async def settle(self, lane: Lane, item: QueuedDigest, error: BaseException) -> None:
        part = item.parts[0]
        if isinstance(error, RetryLater):
            self._stats.rate_limited += 1
            log.warning("%s: flood control, pausing %.1f s", lane.platform, error.seconds)
            lane.pause(error.seconds)
            lane.put(item, front=True)
        elif isinstance(error, DestinationMoved):
            await self.moved(lane, item, error.new_address)
        elif isinstance(error, DestinationGone):
            await self.gone(lane, item, error.reason)
        elif isinstance(error, DeliveryUncertain | TimeoutError):
            await self.uncertain(lane, item, part, str(error) or "no answer in time")
        elif isinstance(error, MessageRejected):
            await self.rejected(lane, item, part, str(error))
        else:  # 5xx, a broken connection, anything unknown: transient
            await self.failed(lane, item, f"{type(error).__name__}: {error}")

    async def rejected(self, lane: Lane, item: QueuedDigest, part: DigestPart, why: str) -> None:
        await self._outbox.mark_dead(
            part.delivery_ids, self._clock(), f"rejected: {why}", claimant=self._claimant
        )
        self._stats.dead += len(part.delivery_ids)
        log.warning("%s: %s refused a message: %s", lane.platform, item.destination, why)
        lane.advance(item)

    async def failed(self, lane: Lane, item: QueuedDigest, reason: str) -> None:
        now = self._clock()
        attempts = item.attempts() + 1
        ids = item.remaining_ids
        if attempts >= self._config.max_attempts:
            await self._outbox.mark_dead(
                ids,
                now,
                f"gave up after {attempts} attempts: {reason}",
                claimant=self._claimant,
            )
            self._stats.dead += len(ids)
            log.warning(
                "%s: %s: dead letter after %d attempts: %s",
                lane.platform,
                item.destination,
                attempts,
                reason,
            )
        else:
            retry_at = now + timedelta(seconds=backoff_seconds(attempts, self._config, self._rng))
            await self._outbox.mark_failed(ids, now, retry_at, reason, claimant=self._claimant)
            self._stats.retries_scheduled += 1
            log.info(
                "%s: %s: attempt %d failed (%s); retry at %s",
                lane.platform,
                item.destination,
                attempts,
                reason,
                retry_at.isoformat(timespec="seconds"),
            )
        lane.release(item)

    async def uncertain(
        self, lane: Lane, item: QueuedDigest, part: DigestPart, reason: str
    ) -> None:
        """The request went out and no answer came: send once more (a duplicate beats a loss)."""
        now = self._clock()
        self._stats.uncertain += 1
        later = [i for i in item.remaining_ids if i not in set(part.delivery_ids)]
        if item.uncertain_before(part):
            ids = item.remaining_ids
            await self._outbox.mark_dead(
                ids,
                now,
                f"timed out twice after sending, may have been delivered: {reason}",
                claimant=self._claimant,
            )
            self._stats.dead += len(ids)
        else:
            retry_at = now + timedelta(seconds=self._config.uncertain_retry_seconds)
            why = f"timed out after sending: {reason}"
            await self._outbox.mark_failed(
                part.delivery_ids, now, retry_at, why, uncertain=True, claimant=self._claimant
            )
            if later:
                await self._outbox.postpone(later, retry_at, claimant=self._claimant)
            self._stats.retries_scheduled += 1
        log.warning("%s: %s: no answer after sending (%s)", lane.platform, item.destination, reason)
        lane.release(item)

    async def gone(self, lane: Lane, item: QueuedDigest, reason: str) -> None:
        """Blocked, kicked, deleted, no access: stop sending there, keep the subscriptions."""
        destination = item.destination
        dead = await self._lifecycle.gone(lane.platform, destination.chat_id, reason)
        self._stats.deactivated += 1
        self._stats.dead += dead
        lane.release(item)
        lane.drop_chat(destination.chat_id)

    async def moved(self, lane: Lane, item: QueuedDigest, new_address: str) -> None:
        """A Telegram group became a supergroup: subscriptions and rows follow; send again."""
        old = item.destination
        new = moved_address(old, new_address)
        item.moves += 1
        if item.moves > MAX_MOVES_PER_MESSAGE:
            await self.failed(lane, item, f"chat keeps moving (last to {new_address})")
            return
        await self._lifecycle.moved(old, new)
        self._stats.moved += 1
        item.destination = new
        lane.readdress(old, new)
        lane.put(item, front=True)
