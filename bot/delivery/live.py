"""Live messages (/live), the sender's side: post a chart's Top 10 once, then edit it in place
every new period, through the platform's notifier and its pacing.

Nothing is queued for a live message: the store says which ones are due (their chart has a
newer period than they show, or they show nothing yet: bot.live_store), and the period shown is
recorded only after the edit went through. So a crash in between repeats the same edit (the
same text: Telegram answers "not modified", which is no error), a period stored while the bot
was down is shown when it is back, and a claim's lease keeps two processes off the same message.

A message someone deleted (MessageGone) is posted again and its new id kept. A post carries an
idempotency key made of the live message, the period and the message it replaces, so Discord
drops a post repeated after a crash but not the one that replaces a deleted message.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta

from bot.chart_history import chart_neighbours
from bot.commands.top10 import format_chart
from bot.delivery.config import DeliveryConfig
from bot.delivery.failure_policy import backoff_seconds
from bot.delivery.lanes import Lane, SenderStats
from bot.delivery.lifecycle import DestinationLifecycle, moved_address
from bot.delivery.text import split_text
from bot.i18n import Translator, chat_translator
from bot.live_store import LiveClaim, LiveMessage, LiveStore
from bot.models import Chart
from bot.ports import (
    DestinationGone,
    DestinationMoved,
    MessageGone,
    MessageRejected,
    Notifier,
    RetryLater,
    Storage,
)
from bot.render import period_label, source_name, top10_title

log = logging.getLogger(__name__)

# Live messages claimed at once per platform: a few seconds of sending at most, well inside a
# lease, so a claim is never taken over by another process while this one still holds it.
LIVE_CLAIM_BATCH = 20


async def live_text(charts: Storage, chart: Chart, tr: Translator) -> str:
    """The live message: the chart's Top 10 as /top10 shows it, and what it is, in the chat's
    language. The same chart always gives the same text (an edit repeated after a crash changes
    nothing)."""
    key = chart.key
    previous, returning = await chart_neighbours(charts, chart)
    live = (
        tr._("live: this message is updated every new day")
        if key.granularity == "daily"
        else tr._("live: this message is updated every new week")
    )
    footer = (
        f"{source_name(key.source, tr)} · {period_label(key.granularity, chart.period, tr)}"
        f" · {live}"
    )
    lines = format_chart(chart, previous, tr, returning)
    return "\n".join([top10_title(key, tr), *lines, footer])


def post_key(live: LiveMessage, period: date) -> str:
    """The idempotency key of a post: the same post again (after a crash) has the same key, the
    post replacing a deleted message another one. ≤ 25 characters (a Discord nonce)."""
    material = f"{live.id}:{period.isoformat()}:{live.message_id or ''}"
    return "live-" + hashlib.blake2b(material.encode(), digest_size=10).hexdigest()


class LiveUpdater:
    """Claims due live messages of one platform at a time and shows their chart's new period."""

    def __init__(
        self,
        store: LiveStore,
        charts: Storage,
        lifecycle: DestinationLifecycle,
        config: DeliveryConfig,
        stats: SenderStats,
        *,
        clock: Callable[[], datetime],
        rng: random.Random,
    ) -> None:
        self._store = store
        self._charts = charts
        self._lifecycle = lifecycle
        self._config = config
        self._stats = stats
        self._clock = clock
        self._rng = rng
        self._wake: dict[str, asyncio.Event] = {}

    def wake(self) -> None:
        """A chart or a live message changed: look now rather than at the next poll."""
        for event in self._wake.values():
            event.set()

    async def run(self, lane: Lane, *, until_idle: bool = False) -> None:
        """Update the lane's platform's due live messages until cancelled (`until_idle`: until
        none is due now)."""
        wake = self._wake.setdefault(lane.platform, asyncio.Event())
        while True:
            wake.clear()
            try:
                claimed_at = self._clock()
                claims = await self._store.claim_live(
                    lane.platform, claimed_at, self._config.lease, LIVE_CLAIM_BATCH
                )
                await self._update_all(lane, claims, claimed_at)
            except Exception:
                log.exception("%s: updating live messages failed", lane.platform)
                claims = []
            if claims:
                continue
            if until_idle:
                return
            try:
                async with asyncio.timeout(self._config.idle_poll_seconds):
                    await wake.wait()
            except TimeoutError:
                pass

    async def _update_all(
        self, lane: Lane, claims: Sequence[LiveClaim], claimed_at: datetime
    ) -> None:
        # Past half the lease, the rest is released: it must not outlive its claim.
        deadline = claimed_at + self._config.lease / 2
        for index, claim in enumerate(claims):
            if self._clock() > deadline:
                for rest in claims[index:]:
                    await self._store.live_failed(
                        rest.live.id, self._clock(), self._clock(), "", count=False
                    )
                return
            await self._update(lane, claim)

    async def _update(self, lane: Lane, claim: LiveClaim) -> None:
        live = claim.live
        chart = await self._charts.latest_chart(live.key)
        if chart is None:  # the claim saw one: only a store emptied meanwhile gets here
            return
        notifier = lane.notifier
        settings = await self._lifecycle.subscriptions.get_settings(live.destination)
        text = await live_text(self._charts, chart, chat_translator(settings.language))
        text = split_text(text, notifier.text_limit, notifier.text_length)[0]
        try:
            async with asyncio.timeout(self._config.send_timeout_seconds):
                new_id = await self._show(lane, live, text, chart.period)
        except Exception as exc:
            await self._failed(lane, claim, chart.period, exc)
            return
        await self._store.live_shown(live.id, new_id, chart.period, self._clock())

    async def _paced(self, lane: Lane, chat_id: str) -> None:
        await lane.unpaused.wait()
        await lane.pacer.overall()
        await lane.pacer.take_chat(chat_id)

    async def _show(self, lane: Lane, live: LiveMessage, text: str, period: date) -> str | None:
        """Edit the message in place, or post it (never posted, or deleted). The id of a posted
        message; None when the old one was edited."""
        notifier: Notifier = lane.notifier
        address = live.destination.address
        if live.message_id is not None:
            await self._paced(lane, live.destination.chat_id)
            try:
                await notifier.edit(address, live.message_id, text)
            except MessageGone as gone:
                log.info("%s: live message deleted (%s); posting it again", live.destination, gone)
            else:
                self._stats.live_edits += 1
                return None
            await self._paced(lane, live.destination.chat_id)
        message_id = await notifier.post(address, text, idempotency_key=post_key(live, period))
        self._stats.live_posts += 1
        return message_id

    async def _failed(self, lane: Lane, claim: LiveClaim, period: date, error: Exception) -> None:
        """What a failure means for a live message (as bot.delivery.failure_policy for alerts)."""
        live, now = claim.live, self._clock()
        reason = f"{type(error).__name__}: {error}"
        if isinstance(error, RetryLater):
            self._stats.rate_limited += 1
            lane.pause(error.seconds)
            retry_at = now + timedelta(seconds=error.seconds)
            await self._store.live_failed(live.id, now, retry_at, reason, count=False)
        elif isinstance(error, DestinationGone):
            # Kept: shown again once the chat is back (re-added, unblocked).
            await self._lifecycle.gone(lane.platform, live.destination.chat_id, error.reason)
            self._stats.deactivated += 1
            await self._store.live_failed(live.id, now, now, reason, count=False)
        elif isinstance(error, DestinationMoved):
            new = moved_address(live.destination, error.new_address)
            await self._lifecycle.moved(live.destination, new)
            self._stats.moved += 1
            await self._store.live_failed(live.id, now, now, reason, count=False)
        elif isinstance(error, MessageRejected) or claim.attempts + 1 >= self._config.max_attempts:
            # Showing this period cannot work: the next period tries again.
            log.warning("%s: live message gave up on %s: %s", live.destination, period, reason)
            await self._store.live_shown(live.id, None, period, now, error=reason)
        else:
            retry_at = now + timedelta(
                seconds=backoff_seconds(claim.attempts + 1, self._config, self._rng)
            )
            await self._store.live_failed(live.id, now, retry_at, reason)
