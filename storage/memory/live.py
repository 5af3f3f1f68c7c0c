"""Live messages in dictionaries (bot.live_store.LiveStore), for memory:// and unit tests.

The rows live in the subscription store (they follow a moved destination with it); a row is due
while its chart, in the chart store, has a newer period than the row shows."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from bot.live_store import LiveClaim, LiveMessage, LiveStart
from bot.models import ChartKey
from bot.subscriptions import Destination
from storage import codec
from storage.memory.charts import MemoryCharts
from storage.memory.subscriptions import MemoryLiveRow, MemorySubscriptionStore


def _message(row: MemoryLiveRow) -> LiveMessage:
    return LiveMessage(row.id, row.destination, row.key, row.message_id, row.period)


class MemoryLiveStore:
    def __init__(self, subscriptions: MemorySubscriptionStore, charts: MemoryCharts) -> None:
        self._subscriptions = subscriptions
        self._charts = charts
        self._ids = itertools.count(1)

    @property
    def _rows(self) -> dict[int, MemoryLiveRow]:
        return self._subscriptions.live_rows

    def _find(self, destination: Destination, key: ChartKey) -> MemoryLiveRow | None:
        for row in self._rows.values():
            if row.destination == destination and row.key == key:
                return row
        return None

    async def start_live(
        self, destination: Destination, key: ChartKey, now: datetime, *, limit: int
    ) -> tuple[LiveStart, LiveMessage | None]:
        now = _stored(now)
        row = self._find(destination, key)
        if row is None:
            in_chat = [
                r
                for r in self._rows.values()
                if (r.destination.platform, r.destination.chat_id)
                == (destination.platform, destination.chat_id)
            ]
            if len(in_chat) >= limit:
                return LiveStart.FULL, None
        self._subscriptions.ensure_active(destination)
        if row is not None:
            row.period, row.due_at, row.attempts = None, now, 0
            return LiveStart.EXISTING, _message(row)
        row = MemoryLiveRow(next(self._ids), destination, key, now)
        self._rows[row.id] = row
        return LiveStart.STARTED, _message(row)

    async def stop_live(self, destination: Destination, keys: Sequence[ChartKey] | None) -> int:
        doomed = [
            row.id
            for row in self._rows.values()
            if row.destination == destination and (keys is None or row.key in keys)
        ]
        for row_id in doomed:
            del self._rows[row_id]
        return len(doomed)

    async def live_of(self, destination: Destination) -> list[LiveMessage]:
        return [_message(row) for row in self._rows.values() if row.destination == destination]

    async def claim_live(
        self, platform: str, now: datetime, lease: timedelta, limit: int
    ) -> list[LiveClaim]:
        due: list[tuple[MemoryLiveRow, date]] = []
        for row in self._rows.values():
            latest = await self._charts.latest_chart(row.key)
            state = await self._subscriptions.destination_state(row.destination)
            if (
                row.destination.platform != platform
                or row.due_at > now
                or (row.claimed_until is not None and row.claimed_until > now)
                or state is None
                or not state.active
                or latest is None
            ):
                continue
            if row.period is None or row.period < latest.period:
                due.append((row, latest.period))
        due.sort(key=lambda item: (item[0].due_at, item[0].id))
        claims = []
        for row, latest_period in due[: max(limit, 0)]:
            row.claimed_until = now + lease
            claims.append(LiveClaim(_message(row), latest_period, row.attempts))
        return claims

    async def live_shown(
        self, live_id: int, message_id: str | None, period: date, now: datetime, error: str = ""
    ) -> None:
        row = self._rows.get(live_id)
        if row is None:
            return
        row.message_id = message_id if message_id is not None else row.message_id
        row.period, row.claimed_until, row.attempts, row.last_error = period, None, 0, error

    async def live_failed(
        self, live_id: int, now: datetime, retry_at: datetime, reason: str, *, count: bool = True
    ) -> None:
        row = self._rows.get(live_id)
        if row is None:
            return
        row.claimed_until, row.due_at, row.last_error = None, _stored(retry_at), reason
        row.attempts += int(count)


def _stored(moment: datetime) -> datetime:
    """A time as it reads back from the SQL stores (UTC, their precision)."""
    return codec.decode_time(codec.encode_time(moment))
