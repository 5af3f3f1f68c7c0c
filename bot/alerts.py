"""Alerts, the direct way: match new events to subscriptions and send one digest per chat.

This is the stand-in for the delivery engine (a durable outbox with pacing and retries): the
pipeline's event sink is `DirectAlerts`, and replacing it is the only change the engine needs.
What it already does right: one message per chat per burst of events (platforms limit messages,
not lines), a chat that is gone is deactivated with its subscriptions kept, a migrated Telegram
group is moved and sent again, a flood-control pause is honoured once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

from bot.events import Event
from bot.ports import (
    DestinationGone,
    DestinationMoved,
    Notifier,
    RetryLater,
    SubscriptionStore,
)
from bot.render import event_line
from bot.subscriptions import Destination, route_events

log = logging.getLogger(__name__)

# A digest longer than this is cut: a chat wants the headlines, /top10 has the rest.
MAX_DIGEST_EVENTS = 15
# Never wait longer than this on one flood-control answer inside a pipeline run.
MAX_RETRY_WAIT_SECONDS = 30.0

Sleep = Callable[[float], Awaitable[None]]


def render_digest(events: Sequence[Event]) -> str:
    """Plain text of one alert message: one line per event, most important first."""
    shown = [f"• {event_line(event)}" for event in events[:MAX_DIGEST_EVENTS]]
    hidden = len(events) - len(shown)
    if hidden > 0:
        shown.append(f"… and {hidden} more event{'s' if hidden != 1 else ''}")
    return "\n".join(shown)


def utf16_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units: an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def _hard_cut(line: str, limit: int, measure: Callable[[str], int]) -> tuple[str, str]:
    """The longest head of `line` that measures at most `limit`, and the rest."""
    cut = min(len(line), limit)
    while cut > 1 and measure(line[:cut]) > limit:
        cut -= 1
    return line[:cut], line[cut:]


def split_text(text: str, limit: int, measure: Callable[[str], int] = len) -> list[str]:
    """Cut text into messages of at most `limit` (as `measure` counts), at line ends if possible.

    Written once for every notifier (Telegram: 4096 UTF-16 units, Discord: 2000 characters).
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while measure(line) > limit:  # a single line longer than a message: cut it hard
            if current:
                chunks.append(current)
                current = ""
            head, line = _hard_cut(line, limit, measure)
            chunks.append(head)
        candidate = f"{current}\n{line}" if current else line
        if measure(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current or not chunks:
        chunks.append(current)
    return chunks


@dataclass(slots=True)
class AlertStats:
    destinations: int = 0
    sent: int = 0
    failed: int = 0
    deactivated: int = 0
    moved: int = 0
    skipped: int = 0  # the destination's platform has no running adapter


class DirectAlerts:
    """The pipeline's event sink until the delivery engine replaces it."""

    def __init__(
        self,
        subscriptions: SubscriptionStore,
        notifiers: Iterable[Notifier] = (),
        *,
        sleep: Sleep = asyncio.sleep,
        max_retry_wait: float = MAX_RETRY_WAIT_SECONDS,
    ) -> None:
        self._subscriptions = subscriptions
        self._notifiers: dict[str, Notifier] = {}
        self._sleep = sleep
        self._max_retry_wait = max_retry_wait
        for notifier in notifiers:
            self.add_notifier(notifier)

    def add_notifier(self, notifier: Notifier) -> None:
        self._notifiers[notifier.platform] = notifier

    async def __call__(self, events: list[Event]) -> None:
        await self.deliver(events)

    async def deliver(self, events: Sequence[Event]) -> AlertStats:
        stats = AlertStats()
        if not events:
            return stats
        plan = route_events(events, await self._subscriptions.active_routes())
        stats.destinations = len(plan)
        by_platform: dict[str, list[tuple[Destination, list[Event]]]] = {}
        for destination, wanted in plan:
            by_platform.setdefault(destination.platform, []).append((destination, wanted))
        # Platforms are independent: a slow or failing one must not hold the others back.
        await asyncio.gather(
            *(
                self._deliver_platform(platform, items, stats)
                for platform, items in by_platform.items()
            )
        )
        log.info(
            "%d events → %d chats: %d sent, %d failed, %d deactivated, %d moved, %d skipped",
            len(events),
            stats.destinations,
            stats.sent,
            stats.failed,
            stats.deactivated,
            stats.moved,
            stats.skipped,
        )
        return stats

    async def _deliver_platform(
        self,
        platform: str,
        items: list[tuple[Destination, list[Event]]],
        stats: AlertStats,
    ) -> None:
        notifier = self._notifiers.get(platform)
        if notifier is None:
            log.warning("no running %s adapter: %d chats not alerted", platform, len(items))
            stats.skipped += len(items)
            return
        for destination, wanted in items:
            await self._send(notifier, destination, render_digest(wanted), stats)

    async def _send(
        self, notifier: Notifier, destination: Destination, text: str, stats: AlertStats
    ) -> None:
        waited = moved = False
        while True:
            try:
                await notifier.send(destination.address, text)
            except RetryLater as exc:
                if waited:
                    log.warning("%s: still rate limited; alert dropped", destination)
                    stats.failed += 1
                    return
                waited = True
                await self._sleep(min(exc.seconds, self._max_retry_wait))
                continue
            except DestinationMoved as exc:
                if moved:
                    stats.failed += 1
                    return
                moved = True
                moved_to = Destination.from_address(destination.platform, exc.new_address)
                # A group that became a supergroup keeps its topic, if any.
                new = Destination(
                    destination.platform,
                    moved_to.chat_id,
                    moved_to.thread_id or destination.thread_id,
                )
                await self._subscriptions.move_destination(destination, new)
                log.info("%s moved to %s; subscriptions follow", destination, new)
                stats.moved += 1
                destination = new
                continue
            except DestinationGone as exc:
                await self._subscriptions.set_active(
                    destination.platform, destination.chat_id, False, exc.reason
                )
                log.info("%s deactivated: %s", destination, exc.reason)
                stats.deactivated += 1
                return
            except Exception:
                # Transient or unknown: this chat misses this alert; the others still get theirs.
                log.exception("%s: alert failed", destination)
                stats.failed += 1
                return
            stats.sent += 1
            return
