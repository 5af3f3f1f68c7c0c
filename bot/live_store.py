"""The port of live messages (/live): a Top 10 message posted once in a chat and edited in place
every new period of its chart. Implemented by each storage backend (Backend.live)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from bot.models import ChartKey
from bot.subscriptions import Destination


@dataclass(frozen=True, slots=True)
class LiveMessage:
    """A Top 10 message kept up to date in a chat: posted once, edited every new period."""

    id: int
    destination: Destination
    key: ChartKey
    message_id: str | None  # the platform's id; None until it is posted
    period: date | None  # the period it shows; None: nothing yet, or asked to be shown again


class LiveStart(StrEnum):
    STARTED = "started"
    EXISTING = "existing"  # it was live there already: it is shown again (re-posted if deleted)
    FULL = "full"  # the chat has as many live messages as it may have: nothing changed


@dataclass(frozen=True, slots=True)
class LiveClaim:
    """A live message whose chart has a newer period than it shows (or never posted)."""

    live: LiveMessage
    latest: date  # the newest accepted period of its chart
    attempts: int  # failed attempts since it was last shown


class LiveStore(Protocol):
    """Live messages (Backend.live). What a live message owes is derived from the charts, not
    queued: a row is due while its chart has a newer accepted period than it shows, so a crash
    between an edit and its record repeats the same edit, and a period stored while the bot was
    down is shown when it is back. Claims take a lease, like the outbox's."""

    async def start_live(
        self, destination: Destination, key: ChartKey, now: datetime, *, limit: int
    ) -> tuple[LiveStart, LiveMessage | None]:
        """Make the chart live in the destination (which becomes active again, as a
        subscription makes it). At most `limit` live messages per chat (all its topics): one
        more is FULL and stores nothing. An existing one is due again at once (shown again)."""
        ...

    async def stop_live(self, destination: Destination, keys: Sequence[ChartKey] | None) -> int:
        """Stop the destination's live messages of these charts (None: all); how many."""
        ...

    async def live_of(self, destination: Destination) -> list[LiveMessage]:
        """Oldest first."""
        ...

    async def claim_live(
        self, platform: str, now: datetime, lease: timedelta, limit: int
    ) -> list[LiveClaim]:
        """Up to `limit` due live messages of active destinations, leased until now + lease."""
        ...

    async def live_shown(
        self, live_id: int, message_id: str | None, period: date, now: datetime, error: str = ""
    ) -> None:
        """The message shows `period` (`message_id`: the one posted; None keeps the stored id).
        `error`: the period was given up on instead (the next one tries again)."""
        ...

    async def live_failed(
        self, live_id: int, now: datetime, retry_at: datetime, reason: str, *, count: bool = True
    ) -> None:
        """Release a claim to try again at `retry_at`; `count`: it was an attempt."""
        ...
