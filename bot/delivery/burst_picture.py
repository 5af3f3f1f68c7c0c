"""Which chart's card goes with a chat's burst: the chart the chat follows.

A chat that follows a chart (`/subscribe KR TV`, `/subscribe world`) gets, with the news of a new
week (or day) of it, a picture of that chart's Top 10. A chat that only follows titles gets none:
its news come from many charts, and /title draws the title's own picture. Events of a catch-up
(old periods) get none either: the picture is of the news.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.events import Event
from bot.models import ALL_REGIONS, WORLD
from bot.pictures.model import ChartRef
from bot.subscriptions import Subscription, SubscriptionSpec

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
