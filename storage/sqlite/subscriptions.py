"""Destinations, their subscriptions and settings in SQLite (bot.ports.SubscriptionStore)."""

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
from storage.rows import (
    SETTINGS_COLUMNS,
    SUBSCRIPTION_COLUMNS,
    destination_params,
    settings_from_row,
    settings_row,
    subscription_from_row,
)
from storage.sqlite.connection import Database, Transaction

_DESTINATION_MATCH = "platform = ? AND chat_id = ? AND thread_id = ?"
_SETTINGS_OF_D = ", ".join(f"d.{column}" for column in SETTINGS_COLUMNS)

_ENSURE_DESTINATION = """
INSERT INTO destinations (platform, chat_id, thread_id, changed_at) VALUES (?, ?, ?, ?)
ON CONFLICT (platform, chat_id, thread_id) DO NOTHING
"""


# The live messages of one destination copied to another; charts it has live are kept once.
_COPY_LIVE = f"""
INSERT INTO live_messages (destination_id, {COPIED_COLUMNS})
SELECT ?, {COPIED_COLUMNS} FROM live_messages WHERE destination_id = ? ORDER BY id
ON CONFLICT (destination_id, source, service, region, category, granularity) DO NOTHING
"""


async def ensure_destination(
    tx: Transaction, destination: Destination, now: str, *, reactivate: bool = False
) -> int:
    """The destination's row id, creating the row; call inside a transaction. `reactivate`: the
    bot may post there again (someone subscribed or started a live message there)."""
    params = destination_params(destination)
    await tx.execute(_ENSURE_DESTINATION, (*params, now))
    rows = await tx.fetch(f"SELECT id FROM destinations WHERE {_DESTINATION_MATCH}", params)
    destination_id = int(rows[0][0])
    if reactivate:
        await tx.execute(
            "UPDATE destinations SET active = 1, inactive_reason = '', changed_at = ?"
            " WHERE id = ? AND active = 0",
            (now, destination_id),
        )
    return destination_id


class SqliteSubscriptionStore:
    """Destinations, their subscriptions and settings, in the backend's SQLite file."""

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
            changed = await tx.execute(
                """
                INSERT INTO subscriptions (destination_id, identity, show, show_title, service,
                                           region, category, event_types, details,
                                           created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (destination_id, identity) DO NOTHING
                """,
                (
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
                ),
            )
            added = changed > 0
            rows = await tx.fetch(
                f"SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions AS s"
                " JOIN destinations AS d ON d.id = s.destination_id"
                " WHERE s.destination_id = ? AND s.identity = ?",
                (destination_id, identity),
            )
        return subscription_from_row(rows[0]), added

    async def remove_subscription(self, destination: Destination, subscription_id: int) -> bool:
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "DELETE FROM subscriptions WHERE id = ? AND destination_id ="
                f" (SELECT id FROM destinations WHERE {_DESTINATION_MATCH})",
                (subscription_id, *destination_params(destination)),
            )
            return changed > 0

    async def remove_all_subscriptions(self, destination: Destination) -> int:
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "DELETE FROM subscriptions WHERE destination_id ="
                f" (SELECT id FROM destinations WHERE {_DESTINATION_MATCH})",
                destination_params(destination),
            )
            return changed

    async def subscriptions_of(self, destination: Destination) -> list[Subscription]:
        rows = await self._db.read(
            f"SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions AS s"
            " JOIN destinations AS d ON d.id = s.destination_id"
            " WHERE d.platform = ? AND d.chat_id = ? AND d.thread_id = ? ORDER BY s.id",
            destination_params(destination),
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
            "SELECT active, inactive_reason, changed_at FROM destinations"
            f" WHERE {_DESTINATION_MATCH}",
            destination_params(destination),
        )
        if not rows:
            return None
        return DestinationState(bool(rows[0][0]), rows[0][1], codec.decode_time(rows[0][2]))

    async def set_active(self, platform: str, chat_id: str, active: bool, reason: str = "") -> int:
        flag, why = int(active), "" if active else reason
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE destinations SET active = ?, inactive_reason = ?, changed_at = ?"
                " WHERE platform = ? AND chat_id = ? AND active != ?",
                (flag, why, self._now(), platform, chat_id, flag),
            )
            return changed

    async def get_settings(self, destination: Destination) -> ChatSettings:
        rows = await self._db.read(
            f"SELECT {', '.join(SETTINGS_COLUMNS)} FROM destinations WHERE {_DESTINATION_MATCH}",
            destination_params(destination),
        )
        return settings_from_row(rows[0]) if rows else ChatSettings()

    async def save_settings(self, destination: Destination, settings: ChatSettings) -> None:
        async with self._db.transaction() as tx:
            destination_id = await ensure_destination(tx, destination, self._now())
            assignments = ", ".join(f"{column} = ?" for column in SETTINGS_COLUMNS)
            await tx.execute(
                f"UPDATE destinations SET {assignments} WHERE id = ?",
                (*settings_row(settings), destination_id),
            )

    async def move_destination(self, old: Destination, new: Destination) -> int:
        if old == new:
            return 0
        async with self._db.transaction() as tx:
            match = f"SELECT id FROM destinations WHERE {_DESTINATION_MATCH}"
            old_rows = await tx.fetch(match, destination_params(old))
            if not old_rows:
                return 0
            old_id = int(old_rows[0][0])
            new_rows = await tx.fetch(match, destination_params(new))
            if not new_rows:
                # The common case: rename the destination, keeping its settings and state.
                await tx.execute(
                    "UPDATE destinations SET chat_id = ?, thread_id = ? WHERE id = ?",
                    (new.chat_id, new.thread_id or "", old_id),
                )
                counted = await tx.fetch(
                    "SELECT count(*) FROM subscriptions WHERE destination_id = ?", (old_id,)
                )
                return int(counted[0][0])
            new_id = int(new_rows[0][0])
            changed = await tx.execute(
                """
                INSERT INTO subscriptions (destination_id, identity, show, show_title, service,
                                           region, category, event_types, details,
                                           created_at)
                SELECT ?, identity, show, show_title, service, region, category, event_types,
                       details, created_at
                FROM subscriptions WHERE destination_id = ? ORDER BY id
                ON CONFLICT (destination_id, identity) DO NOTHING
                """,
                (new_id, old_id),
            )
            moved = changed
            # Live messages follow too (their message ids are then stale: re-posted at once).
            await tx.execute(_COPY_LIVE, (new_id, old_id))
            await tx.execute("DELETE FROM destinations WHERE id = ?", (old_id,))
            return moved
