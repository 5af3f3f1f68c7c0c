"""Pacing: staying a little below every ceiling of a platform (docs: platforms.md, "The ceilings").

aiolimiter leaky buckets, one overall per platform and one or two per chat; nothing sleeps to
pace. Telegram keeps `telegram_reply_reserve_per_second` of its overall ceiling for command
replies, which go straight through the adapter and never queue behind a fan-out. (Discord's
interaction replies are exempt from its global limit.)
"""

from __future__ import annotations

import math
from collections.abc import Callable

from aiolimiter import AsyncLimiter

from bot.delivery.config import DeliveryConfig
from bot.ports import Bucket
from bot.subscriptions import Platform

# A console has no flood control; a ceiling still keeps a runaway loop visible.
UNPACED_PER_SECOND = 1000.0

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
        name: str = "",
    ) -> None:
        """`per_second` is this pacer's share of the platform's `ceiling` (default: all of it;
        Telegram keeps a reserve for command replies). `name` keys its buckets in a shared
        budget."""
        self._slow = 1.0 - headroom
        self.name = name
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

    @property
    def overall_bucket(self) -> Bucket:
        """The overall limiter as a bucket of a budget shared with other senders."""
        return Bucket(self.name, self.interval, self.burst)

    def chat_buckets(self, chat_id: str) -> tuple[Bucket, ...]:
        """The chat's limiters as buckets of a shared budget."""
        return tuple(
            Bucket(f"{self.name}:{chat_id}:{index}", seconds / count / self._slow)
            for index, (count, seconds) in enumerate(self._chat_ceilings(chat_id))
        )

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
            name=platform,
        )
    if platform == Platform.DISCORD:
        per_channel = ((float(config.discord_per_channel), config.discord_channel_seconds),)
        return PlatformPacer(
            config.discord_per_second,
            lambda _channel: per_channel,
            headroom=config.headroom,
            window=config.ceiling_window_seconds,
            name=platform,
        )
    return PlatformPacer(UNPACED_PER_SECOND, lambda _chat: (), headroom=0.0, name=platform)
