"""The sender: claims due deliveries from the outbox, paces them per platform, sends, and acts on
every kind of failure (docs: platforms.md, "Failures and what each one means").

Per platform there is one lane: a claim loop that keeps a bounded queue filled from the outbox,
and `in_flight` workers that take a pacing token, pick the first queued message whose chat may
receive one now, and send it.

- Pacing is aiolimiter leaky buckets a little below every ceiling (`headroom`), because the
  platform counts requests when they arrive and network jitter bunches them up (PlatformPacer).
  Nothing sleeps to pace. Telegram also keeps `telegram_reply_reserve_per_second` of its overall
  ceiling for command replies, which go straight through the adapter and never queue behind a
  fan-out. (Discord's interaction replies are exempt from its global limit.)
- Telegram has no idempotency key, so a crash loses the knowledge of whether the request in
  flight arrived: its rows are sent again when their lease runs out. A sent message is recorded
  before the next one goes, so with `telegram_in_flight = 1` (the default) a crash repeats at
  most one message. Discord messages carry a nonce derived from their delivery ids, and Discord
  drops a repeat; its sent rows are recorded in batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import random
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from aiolimiter import AsyncLimiter

from bot.catchup import DEFAULT_CATCHUP_MAX_AGE
from bot.config import ConfigError
from bot.events import Event
from bot.outbox import (
    TEXT_LIMITS,
    DigestPart,
    QuietHours,
    build_digest,
    quiet_hours_of,
    quiet_until,
    utf16_length,
)
from bot.ports import (
    AlertNotifier,
    ClaimedGroup,
    DeliveryUncertain,
    DestinationGone,
    DestinationMoved,
    MessageRejected,
    Notifier,
    Outbox,
    RetryLater,
    SubscriptionStore,
)
from bot.subscriptions import Destination, Platform

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

# A chat that moved more often than this while one message was being sent is not followed further.
MAX_MOVES_PER_MESSAGE = 3
# A console has no flood control; a ceiling still keeps a runaway loop visible.
UNPACED_PER_SECOND = 1000.0
# A platform that drops repeated messages (Discord's nonce) gets its sent rows recorded in
# batches: this many, or after this long, whichever comes first. Far below the nonce memory
# (minutes), so a message resent after a crash is still recognised.
RECORD_BATCH = 200
RECORD_SECONDS = 0.2


def utc_now() -> datetime:
    return datetime.now(UTC)


# -- configuration ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeliveryConfig:
    """The [delivery] section of the config (see config.example.toml for every key)."""

    # Telegram Bots FAQ: ~30 messages/s overall, ~1/s in one chat, 20/min in one group or channel.
    telegram_per_second: float = 30.0
    telegram_per_chat_per_second: float = 1.0
    telegram_per_group_per_minute: float = 20.0
    telegram_reply_reserve_per_second: float = 1.0
    telegram_in_flight: int = 1
    # Discord: 50 requests/s for a whole bot (kept well below), ~5 messages per 5 s in a channel.
    discord_per_second: float = 40.0
    discord_per_channel: int = 5
    discord_channel_seconds: float = 5.0
    discord_in_flight: int = 8
    headroom: float = 0.02
    ceiling_window_seconds: float = 1.0
    lease_seconds: float = 60.0
    max_attempts: int = 6
    retry_base_seconds: float = 5.0
    retry_max_seconds: float = 900.0
    uncertain_retry_seconds: float = 10.0
    send_timeout_seconds: float = 30.0
    quiet_start: str = ""
    quiet_end: str = ""
    claim_batch: int = 200
    idle_poll_seconds: float = 5.0

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> DeliveryConfig:
        """Parse the raw [delivery] table, failing fast on unknown keys and wrong types."""
        known = {f.name for f in fields(cls)}
        defaults = cls()
        values: dict[str, Any] = {}
        for name, value in table.items():
            if name not in known:
                raise ConfigError(
                    f"[delivery] unknown key {name!r}; known keys: {', '.join(sorted(known))}"
                )
            default = getattr(defaults, name)
            if isinstance(default, str):
                if not isinstance(value, str):
                    raise ConfigError(f"[delivery] {name} must be a string")
            elif isinstance(default, int):
                if not isinstance(value, int) or isinstance(value, bool):
                    raise ConfigError(f"[delivery] {name} must be an integer")
            elif not isinstance(value, int | float) or isinstance(value, bool):
                raise ConfigError(f"[delivery] {name} must be a number")
            values[name] = float(value) if isinstance(default, float) else value
        config = cls(**{**{f.name: getattr(defaults, f.name) for f in fields(cls)}, **values})
        config.validate()
        return config

    def validate(self) -> None:
        positive = (
            "telegram_per_second",
            "telegram_per_chat_per_second",
            "telegram_per_group_per_minute",
            "discord_per_second",
            "discord_channel_seconds",
            "lease_seconds",
            "retry_base_seconds",
            "retry_max_seconds",
            "send_timeout_seconds",
            "idle_poll_seconds",
            "ceiling_window_seconds",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise ConfigError(f"[delivery] {name} must be positive")
        for name in ("telegram_in_flight", "discord_in_flight", "discord_per_channel"):
            if getattr(self, name) < 1:
                raise ConfigError(f"[delivery] {name} must be at least 1")
        if self.max_attempts < 1 or self.claim_batch < 1:
            raise ConfigError("[delivery] max_attempts and claim_batch must be at least 1")
        if not 0 <= self.headroom < 0.5:
            raise ConfigError("[delivery] headroom must be between 0 and 0.5")
        if not 0 <= self.telegram_reply_reserve_per_second < self.telegram_per_second:
            raise ConfigError(
                "[delivery] telegram_reply_reserve_per_second must be below telegram_per_second"
            )
        try:
            QuietHours.parse(self.quiet_start, self.quiet_end)
        except ValueError as exc:
            raise ConfigError(f"[delivery] quiet_start/quiet_end must be HH:MM: {exc}") from None

    @property
    def default_quiet_hours(self) -> QuietHours | None:
        return QuietHours.parse(self.quiet_start, self.quiet_end)

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.lease_seconds)

    def in_flight(self, platform: str) -> int:
        if platform == Platform.TELEGRAM:
            return self.telegram_in_flight
        if platform == Platform.DISCORD:
            return self.discord_in_flight
        return 1


def backoff_seconds(attempt: int, config: DeliveryConfig, rng: random.Random) -> float:
    """Exponential backoff with jitter: base × 2^(attempt-1), capped, times 0.5–1.0 (so that
    chats failing together do not come back together)."""
    ceiling = min(config.retry_max_seconds, config.retry_base_seconds * 2.0 ** max(attempt - 1, 0))
    return ceiling * (0.5 + rng.random() / 2)


# -- pacing -------------------------------------------------------------------------------------

# (messages, seconds) ceilings of one chat.
ChatCeilings = tuple[tuple[float, float], ...]


class PlatformPacer:
    """The overall ceiling of one platform and the ceilings of each of its chats.

    Every limiter is an aiolimiter leaky bucket running `headroom` below its ceiling. A chat's
    bucket holds one message: evenly spaced sends never exceed "N per period" however the
    platform slides its window. The overall bucket may hold a few more (two thirds of the
    messages the headroom leaves in the platform's counting window of one second), so that a
    worker woken late by a busy event loop does not lose its turn; the rest absorbs network
    jitter. In any window: at most `burst - 1 + ⌈rate × window⌉` sends, within the ceiling.
    Chat limiters are created on first use and forgotten once idle (a fan-out to 100,000 chats
    would otherwise keep 100,000 of them).
    """

    def __init__(
        self,
        per_second: float,
        chat_ceilings: Callable[[str], ChatCeilings],
        *,
        headroom: float,
        window: float = 1.0,
        ceiling: float | None = None,
    ) -> None:
        """`per_second` is this pacer's share of the platform's `ceiling` (default: all of it;
        Telegram keeps a reserve for command replies)."""
        self._slow = 1.0 - headroom
        rate = per_second * self._slow
        self.interval = 1.0 / rate
        # Messages a window would still accept beyond the steady pace: two thirds of them may
        # go back to back after a late wake-up, the rest is left to network jitter.
        slack = (ceiling or per_second) * window - math.ceil(rate * window)
        self.burst = 1 + max(0, int(slack * 2 / 3))
        self._overall = AsyncLimiter(self.burst, self.burst / rate)
        self._chat_ceilings = chat_ceilings
        self._chats: dict[str, tuple[AsyncLimiter, ...]] = {}
        self._acquired = 0

    def _limiters(self, chat_id: str) -> tuple[AsyncLimiter, ...]:
        limiters = self._chats.get(chat_id)
        if limiters is None:
            limiters = tuple(
                AsyncLimiter(1, seconds / count / self._slow)
                for count, seconds in self._chat_ceilings(chat_id)
            )
            self._chats[chat_id] = limiters
        return limiters

    async def overall(self) -> None:
        await self._overall.acquire()

    def chat_wait(self, chat_id: str) -> float:
        """0.0 when the chat may receive a message now, else when to look again (seconds)."""
        return max(
            (
                limiter.time_period / limiter.max_rate
                for limiter in self._limiters(chat_id)
                if not limiter.has_capacity()
            ),
            default=0.0,
        )

    async def take_chat(self, chat_id: str) -> None:
        """Take the chat's tokens (immediate after chat_wait() returned 0)."""
        for limiter in self._limiters(chat_id):
            await limiter.acquire()
        self._acquired += 1
        if self._acquired % 1000 == 0:
            self._forget_idle()

    def _forget_idle(self) -> None:
        # A full bucket is the same as a new one.
        idle = [
            chat
            for chat, limiters in self._chats.items()
            if all(limiter.has_capacity(limiter.max_rate) for limiter in limiters)
        ]
        for chat in idle:
            del self._chats[chat]

    @property
    def tracked_chats(self) -> int:
        return len(self._chats)


def telegram_chat_ceilings(config: DeliveryConfig) -> Callable[[str], ChatCeilings]:
    per_chat = (1.0, 1.0 / config.telegram_per_chat_per_second)
    per_group = (config.telegram_per_group_per_minute, 60.0)

    def ceilings(chat_id: str) -> ChatCeilings:
        # Groups, supergroups and channels have negative ids; private chats positive ones.
        return (per_chat, per_group) if chat_id.startswith("-") else (per_chat,)

    return ceilings


def build_pacer(platform: str, config: DeliveryConfig) -> PlatformPacer:
    if platform == Platform.TELEGRAM:
        return PlatformPacer(
            config.telegram_per_second - config.telegram_reply_reserve_per_second,
            telegram_chat_ceilings(config),
            headroom=config.headroom,
            window=config.ceiling_window_seconds,
            ceiling=config.telegram_per_second,
        )
    if platform == Platform.DISCORD:
        per_channel = ((float(config.discord_per_channel), config.discord_channel_seconds),)
        return PlatformPacer(
            config.discord_per_second,
            lambda _channel: per_channel,
            headroom=config.headroom,
            window=config.ceiling_window_seconds,
        )
    return PlatformPacer(UNPACED_PER_SECOND, lambda _chat: (), headroom=0.0)


# -- notifiers without the alert extras ---------------------------------------------------------


class PlainAlertNotifier:
    """An AlertNotifier over a plain Notifier (the console): no idempotency, nobody to tell."""

    def __init__(self, notifier: Notifier, text_limit: int | None = None) -> None:
        self._notifier = notifier
        self.platform = notifier.platform
        self.text_limit = text_limit or TEXT_LIMITS.get(notifier.platform, 4096)
        self.deduplicates = False

    async def wait_until_ready(self) -> None:
        return None

    def text_length(self, text: str) -> int:
        return utf16_length(text)

    async def send(
        self, destination: str, text: str, *, idempotency_key: str | None = None
    ) -> None:
        await self._notifier.send(destination, text)

    async def tell_owner(self, destination: str, text: str) -> bool:
        return False


# -- the sender ---------------------------------------------------------------------------------


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
    first_sent_at: datetime | None = None


@dataclass(slots=True)
class _Item:
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


class _Lane:
    """The queue of one platform: claimed messages waiting for a pacing token."""

    def __init__(self, notifier: AlertNotifier, pacer: PlatformPacer, capacity: int) -> None:
        self.notifier = notifier
        self.platform = notifier.platform
        self.pacer = pacer
        self.capacity = capacity
        self.ready: deque[_Item] = deque()
        # Items whose chat must wait for its own pace, by token, with the timer that requeues them.
        self._deferred: dict[int, tuple[asyncio.TimerHandle, _Item]] = {}
        self._tokens = itertools.count()
        self.held: set[int] = set()  # delivery ids this process holds (queued or in flight)
        # Sent, not yet recorded: only on a platform that drops repeats (see Sender._sent).
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

    @property
    def queued(self) -> int:
        return len(self.ready) + len(self._deferred)

    def admit(self, item: _Item) -> None:
        self.held.update(item.all_ids)
        self.put(item)

    def put(self, item: _Item, *, front: bool = False) -> None:
        if front:
            self.ready.appendleft(item)
        else:
            self.ready.append(item)
        self.has_ready.set()

    def release(self, item: _Item) -> None:
        # Rows sent but not yet recorded stay held until they are.
        self.held.difference_update(set(item.all_ids).difference(self.unrecorded))
        if self.queued < self.capacity // 2:
            self.room.set()

    def pop_ready(self) -> _Item | None:
        """The first queued item whose chat may receive a message now; others are deferred."""
        loop = asyncio.get_running_loop()
        while self.ready:
            item = self.ready.popleft()
            wait = self.pacer.chat_wait(item.destination.chat_id)
            if wait <= 0:
                if not self.ready:
                    self.has_ready.clear()
                return item
            token = next(self._tokens)
            self._deferred[token] = (loop.call_later(wait, self._undefer, token), item)
        self.has_ready.clear()
        return None

    def _undefer(self, token: int) -> None:
        _, item = self._deferred.pop(token)
        self.put(item, front=True)

    def _items(self) -> list[_Item]:
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
        kept: deque[_Item] = deque()
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

    def close(self) -> list[_Item]:
        """Stop timers; return every item still queued or deferred (not in flight)."""
        items = self._items()
        for handle, _ in self._deferred.values():
            handle.cancel()
        self._deferred.clear()
        if self._pause_timer is not None:
            self._pause_timer.cancel()
        self.ready.clear()
        return items


class Sender:
    """Claims, paces and sends deliveries for every platform that has a notifier."""

    def __init__(
        self,
        outbox: Outbox,
        notifiers: Iterable[AlertNotifier],
        subscriptions: SubscriptionStore,
        config: DeliveryConfig | None = None,
        *,
        clock: Clock = utc_now,
        rng: random.Random | None = None,
        pacers: Mapping[str, PlatformPacer] | None = None,
        catchup_max_age: timedelta | None = DEFAULT_CATCHUP_MAX_AGE,
    ) -> None:
        """`catchup_max_age` is the poller's ([alerts] catchup_max_age): older events fold into
        one catch-up summary per chat (None: every event is listed)."""
        self._outbox = outbox
        self._catchup_max_age = catchup_max_age
        self._subscriptions = subscriptions
        self.config = config or DeliveryConfig()
        self._clock = clock
        self._rng = rng or random.Random()
        self._quiet_default = self.config.default_quiet_hours
        self.stats = SenderStats()
        self._lanes: dict[str, _Lane] = {}
        for notifier in notifiers:
            platform = notifier.platform
            pacer = (pacers or {}).get(platform) or build_pacer(platform, self.config)
            # Room for about two seconds of sending, at least two claims' worth.
            capacity = max(2 * self.config.claim_batch, int(2.0 / pacer.interval))
            self._lanes[platform] = _Lane(notifier, pacer, capacity)

    def wake(self) -> None:
        """New deliveries were committed: look for them now rather than at the next poll."""
        for lane in self._lanes.values():
            lane.wake.set()

    async def on_new_events(self, events: Sequence[Event]) -> None:
        """The pipeline's event sink: the outbox rows were written with the events."""
        if events:
            self.wake()

    async def run(self) -> None:
        """Send until cancelled; then give back what was claimed but not sent."""
        tasks: list[asyncio.Task[None]] = []
        try:
            for lane in self._lanes.values():
                tasks.append(asyncio.create_task(self._claim_loop(lane)))
                if lane.notifier.deduplicates:
                    tasks.append(asyncio.create_task(self._recorder(lane)))
                for _ in range(self.config.in_flight(lane.platform)):
                    tasks.append(asyncio.create_task(self._worker(lane)))
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for lane in self._lanes.values():
                await self._recorded(lane)
                with contextlib.suppress(Exception):
                    await self._record(lane)
            await self._give_back()

    async def _give_back(self) -> None:
        """Release queued rows at once, so a restart need not wait for their lease to run out.

        Their groups are kept: a part of one may already have gone out."""
        now = self._clock()
        for lane in self._lanes.values():
            ids = [i for item in lane.close() for i in item.remaining_ids]
            if ids:
                with contextlib.suppress(Exception):
                    await self._outbox.postpone(ids, now)

    # -- claiming ------------------------------------------------------------------------------

    async def _claim_loop(self, lane: _Lane) -> None:
        config = self.config
        while True:
            try:
                await lane.notifier.wait_until_ready()
                break
            except Exception:
                log.exception("%s: not ready to send; trying again", lane.platform)
                await asyncio.sleep(config.idle_poll_seconds)
        while True:
            lane.wake.clear()
            lane.room.clear()
            room = lane.capacity - lane.queued
            # Top up in large claims only: each one holds the store's lock for a while, and a
            # stream of small ones would keep the sent-recording of Telegram waiting.
            full = room < lane.capacity // 2 and lane.queued > 0
            if not full:
                try:
                    groups = await self._outbox.claim(
                        lane.platform, self._clock(), config.lease, min(room, config.claim_batch)
                    )
                    await self._admit(lane, groups)
                except Exception:
                    log.exception("%s: claiming deliveries failed", lane.platform)
                    groups = []
                if groups:
                    # Held for quiet hours or settled at once, they still count: more may be due.
                    continue
            # Nothing due: new deliveries (or the next poll) bring more. Queue full: room does.
            events = [lane.wake, lane.room] if full else [lane.wake]
            waits = [asyncio.create_task(event.wait()) for event in events]
            try:
                await asyncio.wait(
                    waits, timeout=config.idle_poll_seconds, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                for wait in waits:
                    wait.cancel()

    async def _admit(self, lane: _Lane, groups: Sequence[ClaimedGroup]) -> None:
        """Queue claimed groups as digests; settle at once what must not be sent now."""
        now = self._clock()
        for group in groups:
            ids = [delivery.id for delivery in group.deliveries]
            if lane.held.intersection(ids):
                continue  # a lease ran out while this process still holds the rows
            if not group.active:
                reason = f"destination inactive: {group.inactive_reason or 'no reason recorded'}"
                await self._outbox.mark_dead(ids, now, reason)
                self.stats.dead += len(ids)
                continue
            quiet = quiet_hours_of(group.settings, self._quiet_default)
            until = quiet_until(now, group.settings.timezone, quiet)
            if until is not None:
                untouched = all(d.attempts == 0 for d in group.deliveries)
                await self._outbox.postpone(ids, until, regroup=untouched)
                self.stats.held_for_quiet_hours += 1
                continue
            notifier = lane.notifier
            parts = build_digest(
                group.deliveries,
                notifier.text_limit,
                notifier.text_length,
                catchup_max_age=self._catchup_max_age,
            )
            lane.admit(_Item(group, group.destination, parts))

    # -- sending -------------------------------------------------------------------------------

    async def _worker(self, lane: _Lane) -> None:
        while True:
            await lane.unpaused.wait()
            await lane.has_ready.wait()
            await lane.pacer.overall()
            if not lane.unpaused.is_set():
                continue  # flood control began while this worker waited for its token
            item = lane.pop_ready()
            if item is None:
                continue
            await lane.pacer.take_chat(item.destination.chat_id)
            try:
                await self._attempt(lane, item)
            except Exception:
                # A storage failure while recording the outcome: the lease brings the rows back.
                log.exception(
                    "%s: delivery to %s failed unexpectedly", lane.platform, item.destination
                )
                lane.release(item)

    async def _attempt(self, lane: _Lane, item: _Item) -> None:
        part = item.parts[0]
        notifier = lane.notifier
        config = self.config
        await self._recorded(lane)
        try:
            async with asyncio.timeout(config.send_timeout_seconds):
                await notifier.send(
                    item.destination.address, part.text, idempotency_key=part.idempotency_key
                )
        except RetryLater as exc:
            self.stats.rate_limited += 1
            log.warning("%s: flood control, pausing %.1f s", lane.platform, exc.seconds)
            lane.pause(exc.seconds)
            lane.put(item, front=True)
        except DestinationMoved as exc:
            await self._moved(lane, item, exc.new_address)
        except DestinationGone as exc:
            await self._gone(lane, item, exc.reason)
        except (DeliveryUncertain, TimeoutError) as exc:
            await self._uncertain(lane, item, part, str(exc) or "no answer in time")
        except MessageRejected as exc:
            now = self._clock()
            await self._outbox.mark_dead(part.delivery_ids, now, f"rejected: {exc}")
            self.stats.dead += len(part.delivery_ids)
            log.warning("%s: %s refused a message: %s", lane.platform, item.destination, exc)
            self._next_part(lane, item)
        except Exception as exc:  # 5xx, a broken connection, anything unknown: transient
            await self._failed(lane, item, f"{type(exc).__name__}: {exc}")
        else:
            now = self._clock()
            await self._sent(lane, part.delivery_ids, now)
            self.stats.messages_sent += 1
            self.stats.deliveries_sent += len(part.delivery_ids)
            if self.stats.first_sent_at is None:
                self.stats.first_sent_at = now
            self._next_part(lane, item)

    async def _sent(self, lane: _Lane, ids: Sequence[int], now: datetime) -> None:
        """Record a sent message. On Telegram before anything else is sent: a crash can then
        leave at most the one message in flight unrecorded (sent again after the restart).
        Where the platform drops a repeat with the same idempotency key (Discord's nonce), a
        message sent again is harmless, so sent rows are recorded in batches."""
        if not ids:
            return
        if not lane.notifier.deduplicates:
            # Recorded while the next message waits for its pacing token; it is not sent
            # before this is done (`_recorded`).
            lane.recordings.add(asyncio.create_task(self._outbox.mark_sent(ids, now)))
            return
        lane.unrecorded.extend(ids)
        if len(lane.unrecorded) >= RECORD_BATCH:
            lane.record_now.set()

    async def _recorded(self, lane: _Lane) -> None:
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

    async def _recorder(self, lane: _Lane) -> None:
        """Record a deduplicating platform's sent rows every RECORD_SECONDS (or sooner when
        RECORD_BATCH of them wait)."""
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(RECORD_SECONDS):
                    await lane.record_now.wait()
            lane.record_now.clear()
            try:
                await self._record(lane)
            except Exception:
                log.exception("%s: recording sent deliveries failed; will try again", lane.platform)

    async def _record(self, lane: _Lane) -> None:
        if not lane.unrecorded:
            return
        ids, lane.unrecorded = lane.unrecorded, []
        try:
            await self._outbox.mark_sent(ids, self._clock())
        except BaseException:
            lane.unrecorded[:0] = ids
            raise
        lane.held.difference_update(ids)

    def _next_part(self, lane: _Lane, item: _Item) -> None:
        item.parts.pop(0)
        if item.parts:
            lane.put(item, front=True)  # its chat's pacing decides when
        else:
            lane.release(item)

    async def _failed(self, lane: _Lane, item: _Item, reason: str) -> None:
        now = self._clock()
        attempts = item.attempts() + 1
        ids = item.remaining_ids
        if attempts >= self.config.max_attempts:
            await self._outbox.mark_dead(ids, now, f"gave up after {attempts} attempts: {reason}")
            self.stats.dead += len(ids)
            log.warning(
                "%s: %s: dead letter after %d attempts: %s",
                lane.platform,
                item.destination,
                attempts,
                reason,
            )
        else:
            retry_at = now + timedelta(seconds=backoff_seconds(attempts, self.config, self._rng))
            await self._outbox.mark_failed(ids, now, retry_at, reason)
            self.stats.retries_scheduled += 1
            log.info(
                "%s: %s: attempt %d failed (%s); retry at %s",
                lane.platform,
                item.destination,
                attempts,
                reason,
                retry_at.isoformat(timespec="seconds"),
            )
        lane.release(item)

    async def _uncertain(self, lane: _Lane, item: _Item, part: DigestPart, reason: str) -> None:
        """The request went out and no answer came: send once more (a duplicate beats a loss)."""
        now = self._clock()
        self.stats.uncertain += 1
        later = [i for i in item.remaining_ids if i not in set(part.delivery_ids)]
        if item.uncertain_before(part):
            ids = item.remaining_ids
            await self._outbox.mark_dead(
                ids, now, f"timed out twice after sending, may have been delivered: {reason}"
            )
            self.stats.dead += len(ids)
        else:
            retry_at = now + timedelta(seconds=self.config.uncertain_retry_seconds)
            why = f"timed out after sending: {reason}"
            await self._outbox.mark_failed(part.delivery_ids, now, retry_at, why, uncertain=True)
            if later:
                await self._outbox.postpone(later, retry_at)
            self.stats.retries_scheduled += 1
        log.warning("%s: %s: no answer after sending (%s)", lane.platform, item.destination, reason)
        lane.release(item)

    async def _gone(self, lane: _Lane, item: _Item, reason: str) -> None:
        """Blocked, kicked, deleted, no access: stop sending there, keep the subscriptions."""
        now = self._clock()
        destination = item.destination
        await self._subscriptions.set_active(lane.platform, destination.chat_id, False, reason)
        dead = await self._outbox.dead_letter_chat(
            lane.platform, destination.chat_id, now, f"destination inactive: {reason}"
        )
        self.stats.deactivated += 1
        self.stats.dead += dead
        lane.release(item)
        lane.drop_chat(destination.chat_id)
        log.info(
            "%s: %s deactivated (%s); %d deliveries set aside",
            lane.platform,
            destination,
            reason,
            dead,
        )
        notice = (
            f"top10bot can no longer post alerts in this channel ({reason}). Its subscriptions "
            "are kept: give the bot its access back and use /subscribe there to resume."
        )
        try:
            told = await lane.notifier.tell_owner(destination.address, notice)
        except Exception:
            log.exception("%s: could not tell the owner of %s", lane.platform, destination)
        else:
            if told:
                log.info("%s: told the owner of %s", lane.platform, destination)

    async def _moved(self, lane: _Lane, item: _Item, new_address: str) -> None:
        """A Telegram group became a supergroup: subscriptions and rows follow; send again."""
        old = item.destination
        moved_to = Destination.from_address(lane.platform, new_address)
        new = Destination(lane.platform, moved_to.chat_id, moved_to.thread_id or old.thread_id)
        item.moves += 1
        if item.moves > MAX_MOVES_PER_MESSAGE:
            await self._failed(lane, item, f"chat keeps moving (last to {new_address})")
            return
        # Rows first: the store merges or renames the destination the rows point at.
        await self._outbox.move_destination(old, new)
        await self._subscriptions.move_destination(old, new)
        self.stats.moved += 1
        log.info("%s: %s moved to %s; subscriptions and deliveries follow", lane.platform, old, new)
        item.destination = new
        lane.readdress(old, new)
        lane.put(item, front=True)
