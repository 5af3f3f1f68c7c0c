"""The memory backend: the SQLite backend's behaviour in dictionaries (unit tests, memory://)."""

from __future__ import annotations

from bot.events import Event
from bot.ports import Batch, SavedBatch
from storage import codec
from storage.memory.charts import EncodedStates, MemoryCharts
from storage.memory.live import MemoryLiveStore
from storage.memory.outbox import MemoryOutbox
from storage.memory.subscriptions import MemorySubscriptionStore
from storage.schema import latest_version


class MemoryBackend(MemoryCharts):
    """Chart history, events, outbox and subscriptions in memory; nothing survives the process."""

    def __init__(self, *, clock: codec.Clock = codec.utc_now) -> None:
        super().__init__()
        self._clock = clock
        # Each event in its stored row form (codec.event_row), by key, in storage order, so it
        # reads back as from SQLite.
        self._events: dict[str, tuple[str, ...]] = {}
        self._subscriptions = MemorySubscriptionStore(clock=clock)
        self._outbox = MemoryOutbox(self._subscriptions)
        self._live = MemoryLiveStore(self._subscriptions, self)

    @property
    def outbox(self) -> MemoryOutbox:
        return self._outbox

    @property
    def subscriptions(self) -> MemorySubscriptionStore:
        return self._subscriptions

    @property
    def live(self) -> MemoryLiveStore:
        return self._live

    async def migrate(self) -> int:
        # Nothing to apply, but callers see the same schema version as with a database.
        return latest_version("sqlite")

    async def close(self) -> None:
        return None

    async def save_batch(self, batch: Batch, *, queue_deliveries: bool) -> SavedBatch:
        # Through the stored text form, so times read back exactly as from SQLite (UTC).
        now = codec.decode_time(codec.encode_time(self._clock()))
        states = EncodedStates.of(batch.chart_states, batch.family_states)
        new = [e for e in codec.first_per_key(batch.events) if e.key not in self._events]
        rows = [codec.event_row(event) for event in new]
        # Queued before anything is stored: if queueing fails, the store is left as it was, as
        # a rollback of the SQLite transaction would leave it.
        queued = await self._outbox.queue(new, now) if queue_deliveries else 0
        self.write(codec.last_per_period(batch.accepted), batch.rejected, states, now)
        for event, row in zip(new, rows, strict=True):
            self._events[event.key] = row
        return SavedBatch(new, queued)

    async def queue_unfinished(self) -> int:
        # Queued with its events, in one step: nothing is ever left half done.
        return 0

    async def recent_events(self, limit: int = 50, title_id: str | None = None) -> list[Event]:
        codec.check_limit(limit)
        found: list[Event] = []
        for row in reversed(self._events.values()):
            if len(found) == limit:
                break
            if title_id is None or row[codec.EVENT_COLUMNS.index("title_id")] == title_id:
                found.append(codec.event_from_row(row))
        return found
