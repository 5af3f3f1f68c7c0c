"""Which chart's card goes with a chat's burst: the chart the chat follows.

A chat that follows a chart (`/subscribe KR TV`, `/subscribe world`) gets, with the news of a new
week (or day) of it, a picture of that chart's Top 10. A chat that only follows titles gets none:
its news come from many charts, and /title draws the title's own picture. Events of a catch-up
(old periods) get none either: the picture is of the news.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from datetime import timedelta

from bot.catchup import event_age
from bot.events import Event
from bot.i18n import chat_translator
from bot.models import ALL_REGIONS, WORLD
from bot.pictures.model import ChartRef, Picture
from bot.pictures.service import PictureService
from bot.ports import ClaimedGroup, SubscriptionStore
from bot.subscriptions import ChatSettings, Subscription, SubscriptionSpec

log = logging.getLogger(__name__)

PICTURED_GRANULARITIES = ("weekly", "daily")


def follows_a_chart(spec: SubscriptionSpec) -> bool:
    """A subscription to a chart (a region, a category or a service), not to a title."""
    return spec.show is None and bool(spec.region or spec.category or spec.service)


def may_carry_a_picture(events: Iterable[Event]) -> bool:
    """Whether any event is of a chart a card can show (cheap: before reading subscriptions)."""
    return any(_pictured(event) for event in events)


def followed_chart(
    events: Sequence[Event], subscriptions: Sequence[Subscription]
) -> ChartRef | None:
    """The followed chart of the burst: worldwide first, then the newest period, then the chart
    with the most important news; None when the chat follows no chart of these events."""
    specs = [s.spec for s in subscriptions if follows_a_chart(s.spec)]
    candidates = [
        event
        for event in events
        if _pictured(event) and any(spec.matches_chart(event) for spec in specs)
    ]
    if not candidates:
        return None
    best = min(
        candidates,
        key=lambda e: (e.chart.region != WORLD, -e.period.toordinal(), -e.importance, e.chart),
    )
    return ChartRef(best.chart, best.period)


def _pictured(event: Event) -> bool:
    chart = event.chart
    return chart.granularity in PICTURED_GRANULARITIES and chart.region != ALL_REGIONS


class BurstPictures:
    """The sender's side of the cards: which chart a group's digest shows (its drawing starts as
    soon as the group is admitted, so it is ready, and cached for every other chat, when the
    message goes), and the picture when it goes. Without a PictureService (pictures turned off)
    every message goes as text alone."""

    def __init__(
        self,
        pictures: PictureService | None,
        subscriptions: SubscriptionStore,
        catchup_max_age: timedelta | None,
    ) -> None:
        self._pictures = pictures
        self._subscriptions = subscriptions
        self._catchup_max_age = catchup_max_age
        # Drawings started for admitted groups; the sender cancels those left when it stops.
        self.drawing: set[asyncio.Task[Picture | None]] = set()

    async def chart_of(self, group: ClaimedGroup) -> ChartRef | None:
        """The followed chart whose card goes with this group's digest, if any."""
        if self._pictures is None:
            return None
        max_age = self._catchup_max_age
        fresh = [
            d.event
            for d in group.deliveries
            if max_age is None or event_age(d.event, d.queued_at) <= max_age
        ]
        if not may_carry_a_picture(fresh):
            return None
        try:
            subscriptions = await self._subscriptions.subscriptions_of(group.destination)
        except Exception:
            log.exception("%s: reading subscriptions failed; no picture", group.destination)
            return None
        chart = followed_chart(fresh, subscriptions)
        if chart is not None:
            tr = chat_translator(group.settings.language)
            task = asyncio.create_task(self._pictures.chart_picture(chart, tr))
            self.drawing.add(task)
            task.add_done_callback(self.drawing.discard)
        return chart

    async def picture(self, chart: ChartRef | None, settings: ChatSettings) -> Picture | None:
        """The card of the message about to go, in the chat's language (cached: drawn once per
        chart, period and language); None without one or when drawing failed."""
        if chart is None or self._pictures is None:
            return None
        return await self._pictures.chart_picture(chart, chat_translator(settings.language))
