"""Destinations, their subscriptions and settings in PostgreSQL (bot.ports.SubscriptionStore)."""

from __future__ import annotations

from bot.subscriptions import (
    ChatSettings,
    Destination,
    DestinationState,
    Route,
    Subscription,
    SubscriptionSpec,
)
from storage import codec
from storage.live_rules import COPIED_COLUMNS
from storage.postgres.connection import Database, Transaction
from storage.rows import (
    SETTINGS_COLUMNS,
    SUBSCRIPTION_COLUMNS,
    destination_params,
    settings_from_row,
    settings_row,
    subscription_from_row,
)

_DESTINATION_MATCH = "d.platform = $1 AND d.chat_id = $2 AND d.thread_id = $3"
_SETTINGS_OF_D = ", ".join(f"d.{column}" for column in SETTINGS_COLUMNS)

_ENSURE_DESTINATION = """
INSERT INTO destinations (platform, chat_id, thread_id, changed_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (platform, chat_id, thread_id) DO NOTHING
"""


_INSERT_SUBSCRIPTION = """
INSERT INTO subscriptions (destination_id, identity, show, show_title, service, region, category,
                           event_types, details, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (destination_id, identity) DO NOTHING
"""

# The subscriptions of one destination ($2) copied to another ($1); ones it has are kept once.
_COPY_SUBSCRIPTIONS = """
INSERT INTO subscriptions (destination_id, identity, show, show_title, service, region, category,
                           event_types, details, created_at)
SELECT $1, identity, show, show_title, service, region, category, event_types, details,
       created_at
FROM subscriptions WHERE destination_id = $2 ORDER BY id
ON CONFLICT (destination_id, identity) DO NOTHING
"""


# The live messages of one destination ($2) copied to another ($1); charts it has live are kept.
_COPY_LIVE = f"""
INSERT INTO live_messages (destination_id, {COPIED_COLUMNS})
SELECT $1, {COPIED_COLUMNS} FROM live_messages WHERE destination_id = $2 ORDER BY id
ON CONFLICT (destination_id, source, service, region, category, granularity) DO NOTHING
"""


class PostgresSubscriptionStore:
    """Destinations, their subscriptions and settings, in the backend's database."""

    def __init__(self, db: Database, *, clock: codec.Clock = codec.utc_now) -> None:
        self._db = db
        self._clock = clock

    def _now(self) -> str:
        return codec.encode_time(self._clock())

    async def add_subscription(
        self, destination: Destination, spec: SubscriptionSpec
    ) -> tuple[Subscription, bool]:
        identity = spec.identity()
        async with self._db.transaction() as tx:
            destination_id = await ensure_destination(tx, destination, self._now(), reactivate=True)
            added = await tx.execute(
                _INSERT_SUBSCRIPTION,
                destination_id,
                identity,
                spec.show,
                spec.show_title,
                spec.service,
                spec.region,
                spec.category,
                codec.encode_types(spec.event_types),
                int(spec.details),
                self._now(),
            )
            rows = await tx.fetch(
                f"SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions AS s"
                " JOIN destinations AS d ON d.id = s.destination_id"
                " WHERE s.destination_id = $1 AND s.identity = $2",
                destination_id,
                identity,
            )
        return subscription_from_row(rows[0]), added > 0

    async def remove_subscription(self, destination: Destination, subscription_id: int) -> bool:
        removed = await self._db.execute(
            "DELETE FROM subscriptions WHERE id = $4 AND destination_id ="
            f" (SELECT id FROM destinations AS d WHERE {_DESTINATION_MATCH})",
            *destination_params(destination),
            subscription_id,
        )
        return removed > 0

    async def remove_all_subscriptions(self, destination: Destination) -> int:
        return await self._db.execute(
            "DELETE FROM subscriptions WHERE destination_id ="
            f" (SELECT id FROM destinations AS d WHERE {_DESTINATION_MATCH})",
            *destination_params(destination),
        )

    async def subscriptions_of(self, destination: Destination) -> list[Subscription]:
        rows = await self._db.read(
            f"SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions AS s"
            " JOIN destinations AS d ON d.id = s.destination_id"
            f" WHERE {_DESTINATION_MATCH} ORDER BY s.id",
            *destination_params(destination),
        )
        return [subscription_from_row(row) for row in rows]

    async def active_routes(self) -> list[Route]:
        rows = await self._db.read(
            f"SELECT {SUBSCRIPTION_COLUMNS},"
            f" {_SETTINGS_OF_D}"
            " FROM subscriptions AS s JOIN destinations AS d ON d.id = s.destination_id"
            " WHERE d.active = 1 ORDER BY d.id, s.id"
        )
        grouped: dict[Destination, tuple[ChatSettings, list[Subscription]]] = {}
        for row in rows:
            subscription = subscription_from_row(row)
            entry = grouped.setdefault(subscription.destination, (settings_from_row(row[11:]), []))
            entry[1].append(subscription)
        return [
            Route(destination, settings, tuple(subscriptions))
            for destination, (settings, subscriptions) in grouped.items()
        ]

    async def destination_state(self, destination: Destination) -> DestinationState | None:
        rows = await self._db.read(
            "SELECT active, inactive_reason, changed_at FROM destinations AS d"
            f" WHERE {_DESTINATION_MATCH}",
            *destination_params(destination),
        )
        if not rows:
            return None
        return DestinationState(bool(rows[0][0]), rows[0][1], codec.decode_time(rows[0][2]))

    async def set_active(self, platform: str, chat_id: str, active: bool, reason: str = "") -> int:
        flag, why = int(active), "" if active else reason
        return await self._db.execute(
            "UPDATE destinations SET active = $1, inactive_reason = $2, changed_at = $3"
            " WHERE platform = $4 AND chat_id = $5 AND active != $1",
            flag,
            why,
            self._now(),
            platform,
            chat_id,
        )

    async def get_settings(self, destination: Destination) -> ChatSettings:
        rows = await self._db.read(
            f"SELECT {_SETTINGS_OF_D} FROM destinations AS d WHERE {_DESTINATION_MATCH}",
            *destination_params(destination),
        )
        return settings_from_row(rows[0]) if rows else ChatSettings()

    async def save_settings(self, destination: Destination, settings: ChatSettings) -> None:
        async with self._db.transaction() as tx:
            destination_id = await ensure_destination(tx, destination, self._now())
            assignments = ", ".join(
                f"{column} = ${number}" for number, column in enumerate(SETTINGS_COLUMNS, start=1)
            )
            await tx.execute(
                f"UPDATE destinations SET {assignments} WHERE id = ${len(SETTINGS_COLUMNS) + 1}",
                *settings_row(settings),
                destination_id,
            )

    async def move_destination(self, old: Destination, new: Destination) -> int:
        if old == new:
            return 0
        async with self._db.transaction() as tx:
            old_id = await find_destination_id(tx, old)
            if old_id is None:
                return 0
            new_id = await find_destination_id(tx, new)
            if new_id is None:
                # The common case: rename the destination, keeping its settings and state.
                await tx.execute(
                    "UPDATE destinations SET chat_id = $1, thread_id = $2 WHERE id = $3",
                    new.chat_id,
                    new.thread_id or "",
                    old_id,
                )
                counted = await tx.fetch(
                    "SELECT count(*) FROM subscriptions WHERE destination_id = $1", old_id
                )
                return int(counted[0][0])
            moved = await tx.execute(_COPY_SUBSCRIPTIONS, new_id, old_id)
            # Live messages follow too (their message ids are then stale: re-posted at once).
            await tx.execute(_COPY_LIVE, new_id, old_id)
            await tx.execute("DELETE FROM destinations WHERE id = $1", old_id)
            return moved


async def find_destination_id(tx: Transaction, destination: Destination) -> int | None:
    """The id of the destination's row; None when it has none."""
    rows = await tx.fetch(
        f"SELECT id FROM destinations AS d WHERE {_DESTINATION_MATCH}",
        *destination_params(destination),
    )
    return int(rows[0][0]) if rows else None


async def ensure_destination(
    tx: Transaction, destination: Destination, now: str, *, reactivate: bool = False
) -> int:
    """The destination's row id, creating the row; call inside a transaction. `reactivate`: the
    bot may post there again (someone subscribed or started a live message there)."""
    await tx.execute(_ENSURE_DESTINATION, *destination_params(destination), now)
    destination_id = await find_destination_id(tx, destination) or 0
    if reactivate:
        await tx.execute(
            "UPDATE destinations SET active = 1, inactive_reason = '', changed_at = $1"
            " WHERE id = $2 AND active = 0",
            now,
            destination_id,
        )
    return destination_id
