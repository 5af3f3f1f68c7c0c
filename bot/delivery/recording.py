"""Recording sent messages in the outbox, the way each platform's guarantees allow.

Telegram has no idempotency key: a sent message is recorded before the next one on its lane
goes, so a crash repeats at most the one message in flight. Discord drops a repeat carrying the
same nonce, so its sent rows are recorded in batches (RECORD_BATCH rows or every RECORD_SECONDS).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from bot.delivery.lanes import Lane
from bot.ports import Outbox

log = logging.getLogger(__name__)

# A platform that drops repeated messages (Discord's nonce) gets its sent rows recorded in
# batches: this many, or after this long, whichever comes first. Far below the nonce memory
# (minutes), so a message resent after a crash is still recognised.
RECORD_BATCH = 200
RECORD_SECONDS = 0.2


class SentRecording:
    """The sent-recording of one sender's lanes."""

    def __init__(self, outbox: Outbox, clock: Callable[[], datetime]) -> None:
        self._outbox = outbox
        self._clock = clock

    async def sent(self, lane: Lane, ids: Sequence[int], now: datetime) -> None:
        """Record a sent message. On Telegram before anything else is sent: a crash can then
        leave at most the one message in flight unrecorded (sent again after the restart).
        Where the platform drops a repeat with the same idempotency key (Discord's nonce), a
        message sent again is harmless, so sent rows are recorded in batches."""
        if not ids:
            return
        lane.recording.update(ids)
        if not lane.notifier.deduplicates:
            # Recorded while the next message waits for its pacing token; it is not sent
            # before this is done (`settled`).
            lane.recordings.add(asyncio.create_task(self._mark_sent(lane, ids, now)))
            return
        lane.unrecorded.extend(ids)
        if len(lane.unrecorded) >= RECORD_BATCH:
            lane.record_now.set()

    async def _mark_sent(self, lane: Lane, ids: Sequence[int], now: datetime) -> None:
        try:
            await self._outbox.mark_sent(ids, now)
        finally:
            # Recorded; or not, and then no longer renewed: the lease brings the rows back.
            lane.recorded(ids)

    async def settled(self, lane: Lane) -> None:
        """Wait until the messages sent on a lane so far are recorded."""
        if not lane.recordings:
            return
        recordings = list(lane.recordings)
        lane.recordings.clear()
        pending = [task for task in recordings if not task.done()]
        if pending:
            # Only then: awaiting finished tasks would still cost a turn of the event loop,
            # on the path of every Telegram message.
            await asyncio.wait(pending)
        for task in recordings:
            error = None if task.cancelled() else task.exception()
            if error is not None:
                # The rows stay claimed; their lease brings them back (a duplicate, not a loss).
                log.error("%s: recording a sent message failed: %r", lane.platform, error)

    async def run(self, lane: Lane) -> None:
        """Record a deduplicating platform's sent rows every RECORD_SECONDS (or sooner when
        RECORD_BATCH of them wait)."""
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(RECORD_SECONDS):
                    await lane.record_now.wait()
            lane.record_now.clear()
            try:
                await self.flush(lane)
            except Exception:
                log.exception("%s: recording sent deliveries failed; will try again", lane.platform)

    async def flush(self, lane: Lane) -> None:
        if not lane.unrecorded:
            return
        ids, lane.unrecorded = lane.unrecorded, []
        try:
            await self._outbox.mark_sent(ids, self._clock())
        except BaseException:
            lane.unrecorded[:0] = ids
            raise
        lane.recorded(ids)
