"""The sender: claims due deliveries from the outbox, paces them per platform, sends them through
each platform's notifier, and hands every failure to the failure policy.

Per platform there is one lane (bot.delivery.lanes): a claim loop that keeps a bounded queue
filled from the outbox, and `in_flight` workers that take a pacing token, pick the first queued
message whose chat may receive one now, and send it.

- Pacing is aiolimiter leaky buckets a little below every ceiling (bot.delivery.pacing).
- A chat that follows a chart gets that chart's card as a picture with the burst
  (bot.delivery.burst_picture): the digest's first part names the chart, and the picture is drawn
  once for every chat (bot.pictures.service caches it), starting as soon as a group is admitted.
- Telegram has no idempotency key, so a crash loses the knowledge of whether the request in
  flight arrived: its rows are sent again when their lease runs out. A sent message is recorded
  before the next one goes, so with `telegram_in_flight = 1` (the default) a crash repeats at
  most one message. Discord messages carry a nonce derived from their delivery ids, and Discord
  drops a repeat; its sent rows are recorded in batches.
- Several senders may share one store (PostgreSQL): a claim names its sender (`claimant`),
  stays its own until each send is recorded, and the pacing budget may be shared
  (bot.delivery.sharing).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from bot.catchup import DEFAULT_CATCHUP_MAX_AGE
from bot.delivery.burst_picture import BurstPictures
from bot.delivery.config import DeliveryConfig
from bot.delivery.digest import DigestPart, resumed_digest
from bot.delivery.failure_policy import FailurePolicy
from bot.delivery.lanes import Lane, QueuedDigest, SenderStats
from bot.delivery.lifecycle import DestinationLifecycle
from bot.delivery.live import LiveUpdater
from bot.delivery.pacing import PlatformPacer, build_pacer
from bot.delivery.quiet_hours import hold_details, is_daily_digest, quiet_hours_of, quiet_until
from bot.delivery.recording import SentRecording
from bot.delivery.sharing import ClaimKeeper, SharedTurns, new_claimant
from bot.events import Event
from bot.i18n import chat_translator
from bot.live_store import LiveStore
from bot.metrics import NO_METRICS, Metrics
from bot.pictures.model import ChartRef
from bot.pictures.service import PictureService
from bot.ports import (
    ClaimedGroup,
    Notifier,
    Outbox,
    RetryLater,
    SendBudget,
    Storage,
    SubscriptionStore,
)
from bot.turns import Turns

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Sender:
    """Claims, paces and sends deliveries for every platform that has a notifier."""

    def __init__(
        self,
        outbox: Outbox,
        notifiers: Iterable[Notifier],
        subscriptions: SubscriptionStore,
        config: DeliveryConfig | None = None,
        *,
        clock: Clock = utc_now,
        rng: random.Random | None = None,
        pacers: Mapping[str, PlatformPacer] | None = None,
        catchup_max_age: timedelta | None = DEFAULT_CATCHUP_MAX_AGE,
        pictures: PictureService | None = None,
        live: LiveStore | None = None,
        charts: Storage | None = None,
        metrics: Metrics = NO_METRICS,
        claimant: str | None = None,
        budget: SendBudget | None = None,
    ) -> None:
        """`catchup_max_age` is the poller's ([alerts] catchup_max_age): older events fold into
        one catch-up summary per chat (None: every event is listed). `pictures`: the burst of a
        followed chart carries its card (None: text only). With `live` and `charts` (a
        backend's live messages and chart history) it keeps the live messages up to date too,
        through the same notifiers and pacing (bot.delivery.live). `claimant` names this
        sender's claims (default: host, process and a random part). `budget`: the pacing
        shared with other senders (None: this process paces alone, in memory)."""
        self._outbox = outbox
        self._pictures = BurstPictures(pictures, subscriptions, catchup_max_age)
        self._metrics = metrics
        self.claimant = claimant or new_claimant()
        self._catchup_max_age = catchup_max_age
        self.config = config or DeliveryConfig()
        self._clock = clock
        self._rng = rng or random.Random()
        self._quiet_default = self.config.default_quiet_hours
        self.stats = SenderStats()
        self.lifecycle = DestinationLifecycle(subscriptions, outbox, clock=clock)
        self._policy = FailurePolicy(
            outbox,
            self.lifecycle,
            self.config,
            self.stats,
            clock=clock,
            rng=self._rng,
            claimant=self.claimant,
        )
        self._claims = ClaimKeeper(outbox, self.config, self.stats, self.claimant, clock)
        self._recording = SentRecording(outbox, clock)
        self._turns = None if budget is None else SharedTurns(budget, self.config)
        self._live = (
            LiveUpdater(
                live, charts, self.lifecycle, self.config, self.stats, clock=clock, rng=self._rng
            )
            if live is not None and charts is not None
            else None
        )
        self._lanes: dict[str, Lane] = {}
        for notifier in notifiers:
            platform = notifier.platform
            pacer = (pacers or {}).get(platform) or build_pacer(platform, self.config)
            # Room for about two seconds of sending, at least two claims' worth.
            capacity = max(2 * self.config.claim_batch, int(2.0 / pacer.interval))
            self._lanes[platform] = Lane(notifier, pacer, capacity)

    def wake(self) -> None:
        """New deliveries were committed: look for them now rather than at the next poll."""
        for lane in self._lanes.values():
            lane.wake.set()
        if self._live is not None:
            self._live.wake()

    async def on_new_events(self, events: Sequence[Event]) -> None:
        """The pipeline's event sink: the outbox rows were written with the events."""
        if events:
            self.wake()

    async def run(self, *, until_idle: bool = False) -> None:
        """Send until cancelled; then give back what was claimed but not sent.

        `until_idle`: return once no lane has anything due now (`top10bot deliveries send`).
        Rows waiting for quiet hours or a retry later stay in the outbox for the next run."""
        claimers: list[asyncio.Task[None]] = []
        helpers: list[asyncio.Task[None]] = [asyncio.create_task(self._listen())]
        try:
            for lane in self._lanes.values():
                claimers.append(asyncio.create_task(self._claim_loop(lane, until_idle)))
                if self._live is not None:
                    claimers.append(
                        asyncio.create_task(self._live_loop(self._live, lane, until_idle))
                    )
                helpers.append(asyncio.create_task(self._claims.renew_forever(lane)))
                if lane.notifier.deduplicates:
                    helpers.append(asyncio.create_task(self._recording.run(lane)))
                for _ in range(self.config.in_flight(lane.platform)):
                    helpers.append(asyncio.create_task(self._worker(lane)))
            if until_idle:
                await asyncio.gather(*claimers)  # workers and recorders are cancelled below
            else:
                await asyncio.gather(*claimers, *helpers)
        finally:
            tasks = [*claimers, *helpers, *self._pictures.drawing]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for lane in self._lanes.values():
                await self._recording.settled(lane)
                with contextlib.suppress(Exception):
                    await self._recording.flush(lane)
            await self._give_back()

    async def _listen(self) -> None:
        """Wake up when another process (a poller) queues deliveries in a shared store."""
        try:
            await self._outbox.listen(self.wake)
        except Exception:
            # The claim loops still look for work every idle_poll_seconds.
            log.exception("listening for queued deliveries failed; polling only")

    async def _give_back(self) -> None:
        """Release queued rows at once, so a restart need not wait for their lease to run out.

        Their groups are kept: a part of one may already have gone out."""
        now = self._clock()
        for lane in self._lanes.values():
            ids = [i for item in lane.close() for i in item.remaining_ids]
            if ids:
                with contextlib.suppress(Exception):
                    await self._outbox.postpone(ids, now, claimant=self.claimant)

    # -- claiming ------------------------------------------------------------------------------

    async def _until_ready(self, lane: Lane, until_idle: bool) -> None:
        while True:
            try:
                await lane.notifier.wait_until_ready()
                return
            except Exception:
                if until_idle:
                    raise  # a run from cron reports it and ends; the next run tries again
                log.exception("%s: not ready to send; trying again", lane.platform)
                await asyncio.sleep(self.config.idle_poll_seconds)

    async def _live_loop(self, live: LiveUpdater, lane: Lane, until_idle: bool) -> None:
        await self._until_ready(lane, until_idle)
        await live.run(lane, until_idle=until_idle)

    async def _claim_loop(self, lane: Lane, until_idle: bool = False) -> None:
        config = self.config
        await self._until_ready(lane, until_idle)
        while True:
            lane.wake.clear()
            lane.room.clear()
            room = lane.capacity - lane.queued
            # Top up in large claims only: each one holds the store's lock for a while, and a
            # stream of small ones would keep the sent-recording of Telegram waiting.
            full = room < lane.capacity // 2 and lane.queued > 0
            if not full:
                try:
                    claimed_at = self._clock()
                    groups = await self._outbox.claim(
                        lane.platform,
                        claimed_at,
                        config.lease,
                        min(room, config.claim_batch),
                        claimant=self.claimant,
                    )
                    taken = await self._admit(lane, groups, claimed_at + config.lease)
                except Exception:
                    log.exception("%s: claiming deliveries failed", lane.platform)
                    taken = 0
                if taken:
                    # Held for quiet hours or settled at once, they still count: more may be due.
                    continue
                if until_idle and lane.open_items == 0:
                    return  # nothing due now and nothing in hand
            # Nothing due: new deliveries (or the next poll) bring more. Queue full: room does.
            # A run until idle looks again once the lane has nothing in hand.
            events = [lane.wake, lane.room] if full else [lane.wake]
            if until_idle:
                events.append(lane.idle)
            waits = [asyncio.create_task(event.wait()) for event in events]
            try:
                await asyncio.wait(
                    waits, timeout=config.idle_poll_seconds, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                for wait in waits:
                    wait.cancel()

    async def _admit(
        self, lane: Lane, groups: Sequence[ClaimedGroup], leased_until: datetime
    ) -> int:
        """Queue claimed groups as digests; settle at once what must not be sent now. Returns
        how many groups were new to this process."""
        now = self._clock()
        taken = 0
        # Digests are built on the event loop: a claim of hundreds must not keep the other
        # lane's workers from their pacing turns past what the pacer's burst makes up for.
        turns = Turns()
        for group in groups:
            await turns.take()
            ids = [delivery.id for delivery in group.deliveries]
            if lane.held.intersection(ids):
                continue  # held here: a renewal came too late, and the rows are in hand
            taken += 1
            if not group.active:
                reason = f"destination inactive: {group.inactive_reason or 'no reason recorded'}"
                await self._outbox.mark_dead(ids, now, reason, claimant=self.claimant)
                self.stats.dead += len(ids)
                self._metrics.deliveries_dead(lane.platform, len(ids))
                continue
            due_now, held = await hold_details(self._outbox, group, now, claimant=self.claimant)
            self.stats.held_for_digest += held
            if due_now is None:
                continue
            group = due_now
            quiet = quiet_hours_of(group.settings, self._quiet_default)
            until = quiet_until(now, group.settings.timezone, quiet)
            if until is not None:
                untouched = all(d.attempts == 0 for d in group.deliveries)
                await self._outbox.postpone(ids, until, regroup=untouched, claimant=self.claimant)
                self.stats.held_for_quiet_hours += 1
                continue
            picture = await self._pictures.chart_of(group)
            parts = self._parts(lane, group, picture)
            lane.admit(QueuedDigest(group, group.destination, parts), leased_until)
        return taken

    def _parts(self, lane: Lane, group: ClaimedGroup, picture: ChartRef | None) -> list[DigestPart]:
        """The messages of a claimed group still to send (a resumed one keeps its numbering)."""
        notifier = lane.notifier
        tr = chat_translator(group.settings.language)
        return resumed_digest(
            group.done,
            group.deliveries,
            notifier.text_limit,
            notifier.text_length,
            tr,
            catchup_max_age=self._catchup_max_age,
            heading=tr._("Daily digest") if is_daily_digest(group) else "",
            picture=picture,
            caption_limit=notifier.caption_limit,
        )

    # -- sending -------------------------------------------------------------------------------

    async def _worker(self, lane: Lane) -> None:
        while True:
            await lane.unpaused.wait()
            await lane.has_ready.wait()
            if self._turns is None:
                await lane.pacer.overall()
                if not lane.unpaused.is_set():
                    continue  # flood control began while this worker waited for its token
            item = lane.pop_ready()
            if item is None:
                continue
            try:
                # Before the chat's pacing turn is taken: a confirmation's round trip must not
                # come between the turn and the send.
                if not await self._claims.still_ours(lane, item):
                    continue
                if self._turns is not None and not await self._turns.take(lane, item):
                    continue
                await lane.pacer.take_chat(item.destination.chat_id)
                await self._attempt(lane, item)
            except Exception:
                # A storage failure while recording the outcome: the lease brings the rows back.
                log.exception(
                    "%s: delivery to %s failed unexpectedly", lane.platform, item.destination
                )
                lane.release(item)

    async def _attempt(self, lane: Lane, item: QueuedDigest) -> None:
        part = item.parts[0]
        await self._recording.settled(lane)
        # None: no card, or drawing failed; the text goes alone.
        picture = await self._pictures.picture(part.picture, item.group.settings)
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.config.send_timeout_seconds):
                await lane.notifier.send(
                    item.destination.address,
                    part.text,
                    idempotency_key=part.idempotency_key,
                    buttons=part.buttons,
                    picture=picture,
                )
        except Exception as exc:
            self._metrics.send_finished(lane.platform, time.perf_counter() - started)
            dead_before = self.stats.dead
            if isinstance(exc, RetryLater) and self._turns is not None:
                await self._turns.pause(lane, exc.seconds)
            await self._policy.settle(lane, item, exc)
            self._metrics.deliveries_dead(lane.platform, self.stats.dead - dead_before)
            return
        self._metrics.send_finished(lane.platform, time.perf_counter() - started)
        self._metrics.deliveries_sent(lane.platform, len(part.delivery_ids))
        now = self._clock()
        await self._recording.sent(lane, part.delivery_ids, now)
        self.stats.messages_sent += 1
        self.stats.deliveries_sent += len(part.delivery_ids)
        if self.stats.first_sent_at is None:
            self.stats.first_sent_at = now
        lane.advance(item)
