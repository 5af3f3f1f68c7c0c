"""The SQLite backend: chart history, outbox and subscriptions in one file, and the unit of work
that stores a batch with the deliveries its events owe."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bot.events import Event
from bot.ports import Batch, SavedBatch
from storage import codec
from storage.schema import Migration, load_migrations
from storage.sqlite import migrations
from storage.sqlite.charts import SqliteCharts, write_charts, write_rejections, write_states
from storage.sqlite.connection import Database, Transaction
from storage.sqlite.events import recent_events, write_events
from storage.sqlite.fanout import SqliteFanout
from storage.sqlite.live import SqliteLiveStore
from storage.sqlite.outbox import SqliteOutbox
from storage.sqlite.subscriptions import SqliteSubscriptionStore


class SqliteBackend(SqliteCharts):
    """Open with `await SqliteBackend.open(path)`; `migrate()` brings the schema up to date."""

    def __init__(self, db: Database, *, clock: codec.Clock = codec.utc_now) -> None:
        super().__init__(db)
        self._clock = clock
        self._outbox = SqliteOutbox(db)
        self._fanout = SqliteFanout(db)
        self._subscriptions = SqliteSubscriptionStore(db, clock=clock)
        self._live = SqliteLiveStore(db)

    @classmethod
    async def open(cls, path: str | Path, *, clock: codec.Clock = codec.utc_now) -> SqliteBackend:
        return cls(await Database.open(path), clock=clock)

    @property
    def outbox(self) -> SqliteOutbox:
        return self._outbox

    @property
    def subscriptions(self) -> SqliteSubscriptionStore:
        return self._subscriptions

    @property
    def live(self) -> SqliteLiveStore:
        return self._live

    @property
    def database(self) -> Database:
        return self._db

    async def close(self) -> None:
        await self._db.close()

    async def journal_mode(self) -> str:
        rows = await self._db.read("PRAGMA journal_mode")
        return str(rows[0][0])

    async def migrate(self) -> int:
        return await self.apply_migrations(load_migrations("sqlite"))

    async def apply_migrations(self, pending: Sequence[Migration]) -> int:
        return await migrations.apply_migrations(self._db, pending, self._clock)

    async def applied_migrations(self) -> list[tuple[int, str]]:
        return await migrations.applied_migrations(self._db)

    async def save_batch(self, batch: Batch, *, queue_deliveries: bool) -> SavedBatch:
        now = codec.encode_time(self._clock())
        charts = codec.last_per_period(batch.accepted)

        async def store(tx: Transaction) -> list[tuple[int, Event]]:
            await write_charts(tx, charts, now)
            await write_rejections(tx, batch.rejected, now)
            await write_states(tx, batch.chart_states, batch.family_states, now)
            return await write_events(tx, batch.events)

        new, queued = await self._fanout.store_and_queue(
            store, batch.events, now, queue=queue_deliveries
        )
        return SavedBatch([event for _, event in new], queued)

    async def queue_unfinished(self) -> int:
        return await self._fanout.queue_unfinished(codec.encode_time(self._clock()))

    async def recent_events(self, limit: int = 50, title_id: str | None = None) -> list[Event]:
        return await recent_events(self._db, limit, title_id)
