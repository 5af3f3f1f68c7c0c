"""The PostgreSQL backend: chart history, outbox and subscriptions in one database, and the unit
of work that stores a batch with the deliveries its events owe."""

from __future__ import annotations

from collections.abc import Sequence

from bot.events import Event
from bot.ports import Batch, SavedBatch
from storage import codec
from storage.postgres import migrations
from storage.postgres.budget import PostgresSendBudget
from storage.postgres.charts import PostgresCharts, write_charts, write_rejections, write_states
from storage.postgres.connection import Database, Transaction
from storage.postgres.events import recent_events, write_events
from storage.postgres.fanout import PostgresFanout
from storage.postgres.live import PostgresLiveStore
from storage.postgres.outbox import PostgresOutbox
from storage.postgres.subscriptions import PostgresSubscriptionStore
from storage.schema import Migration, load_migrations


class PostgresBackend(PostgresCharts):
    """Open with `await PostgresBackend.open(url)`; `migrate()` brings the schema up to date."""

    def __init__(self, db: Database, *, clock: codec.Clock = codec.utc_now) -> None:
        super().__init__(db)
        self._clock = clock
        self._outbox = PostgresOutbox(db)
        self._fanout = PostgresFanout(db)
        self._subscriptions = PostgresSubscriptionStore(db, clock=clock)
        self._live = PostgresLiveStore(db)

    @classmethod
    async def open(cls, url: str, *, clock: codec.Clock = codec.utc_now) -> PostgresBackend:
        return cls(await Database.open(url), clock=clock)

    @property
    def outbox(self) -> PostgresOutbox:
        return self._outbox

    @property
    def subscriptions(self) -> PostgresSubscriptionStore:
        return self._subscriptions

    @property
    def live(self) -> PostgresLiveStore:
        return self._live

    @property
    def database(self) -> Database:
        return self._db

    def send_budget(self) -> PostgresSendBudget:
        """The sending budget every sender of this database shares."""
        return PostgresSendBudget(self._db)

    async def close(self) -> None:
        await self._db.close()

    async def migrate(self) -> int:
        return await self.apply_migrations(load_migrations("postgres"))

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
