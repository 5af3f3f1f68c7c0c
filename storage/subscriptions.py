"""Subscription stores implementing bot.ports.SubscriptionStore: in memory and in SQLite.

The SQLite store shares the connection (and its lock) of SqliteStorage: SQLite has one writer, and
two connections to one file would only wait on each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import time
from typing import Any

import aiosqlite

from bot.events import EventType
from bot.ports import Storage, SubscriptionStore
from bot.subscriptions import (
    ChatSettings,
    Destination,
    DestinationState,
    Route,
    Subscription,
    SubscriptionSpec,
)
from storage import codec
from storage.sqlite import SqliteStorage


def encode_types(types: Iterable[EventType]) -> str:
    return ",".join(sorted(t.value for t in types))


def decode_types(text: str) -> frozenset[EventType]:
    return frozenset(EventType(word) for word in text.split(",") if word)


def encode_clock_time(moment: time | None) -> str | None:
    return moment.strftime("%H:%M") if moment is not None else None


def decode_clock_time(text: str | None) -> time | None:
    return time.fromisoformat(text) if text else None


# -- in memory ----------------------------------------------------------------------------------


@dataclass(slots=True)
class _MemoryDestination:
    state: DestinationState
    settings: ChatSettings


class MemorySubscriptionStore:
    """Subscriptions in dictionaries; nothing survives the process (the memory:// storage)."""

    def __init__(self, *, clock: codec.Clock = codec.utc_now) -> None:
        self._clock = clock
        self._destinations: dict[Destination, _MemoryDestination] = {}
        self._subscriptions: dict[int, Subscription] = {}  # insertion order is id order
        self._next_id = 1

    def _ensure(self, destination: Destination) -> _MemoryDestination:
        known = self._destinations.get(destination)
        if known is None:
            known = _MemoryDestination(DestinationState(True, "", self._clock()), ChatSettings())
            self._destinations[destination] = known
        return known

    async def add_subscription(
        self, destination: Destination, spec: SubscriptionSpec
    ) -> tuple[Subscription, bool]:
        known = self._ensure(destination)
        if not known.state.active:
            known.state = DestinationState(True, "", self._clock())
        identity = spec.identity()
        for existing in self._subscriptions.values():
            if existing.destination == destination and existing.spec.identity() == identity:
                return existing, False
        subscription = Subscription(self._next_id, destination, spec)
        self._subscriptions[subscription.id] = subscription
        self._next_id += 1
        return subscription, True

    async def remove_subscription(self, destination: Destination, subscription_id: int) -> bool:
        found = self._subscriptions.get(subscription_id)
        if found is None or found.destination != destination:
            return False
        del self._subscriptions[subscription_id]
        return True

    async def remove_all_subscriptions(self, destination: Destination) -> int:
        doomed = [s.id for s in self._subscriptions.values() if s.destination == destination]
        for subscription_id in doomed:
            del self._subscriptions[subscription_id]
        return len(doomed)

    async def subscriptions_of(self, destination: Destination) -> list[Subscription]:
        return [s for s in self._subscriptions.values() if s.destination == destination]

    async def active_routes(self) -> list[Route]:
        grouped: dict[Destination, list[Subscription]] = {}
        for subscription in self._subscriptions.values():
            grouped.setdefault(subscription.destination, []).append(subscription)
        routes = []
        for destination, subscriptions in grouped.items():
            known = self._destinations[destination]
            if known.state.active:
                routes.append(Route(destination, known.settings, tuple(subscriptions)))
        return routes

    async def destination_state(self, destination: Destination) -> DestinationState | None:
        known = self._destinations.get(destination)
        return known.state if known is not None else None

    async def set_active(self, platform: str, chat_id: str, active: bool, reason: str = "") -> int:
        changed = 0
        for destination, known in self._destinations.items():
            if destination.platform != platform or destination.chat_id != chat_id:
                continue
            if known.state.active != active:
                known.state = DestinationState(active, "" if active else reason, self._clock())
                changed += 1
        return changed

    async def get_settings(self, destination: Destination) -> ChatSettings:
        known = self._destinations.get(destination)
        return known.settings if known is not None else ChatSettings()

    async def save_settings(self, destination: Destination, settings: ChatSettings) -> None:
        self._ensure(destination).settings = settings

    async def move_destination(self, old: Destination, new: Destination) -> int:
        if old == new or old not in self._destinations:
            return 0
        moving = [s for s in self._subscriptions.values() if s.destination == old]
        old_record = self._destinations.pop(old)
        if new not in self._destinations:
            self._destinations[new] = old_record
        kept = {s.spec.identity() for s in self._subscriptions.values() if s.destination == new}
        moved = 0
        for subscription in moving:
            del self._subscriptions[subscription.id]
            if subscription.spec.identity() in kept:
                continue
            kept.add(subscription.spec.identity())
            moved_subscription = Subscription(self._next_id, new, subscription.spec)
            self._subscriptions[moved_subscription.id] = moved_subscription
            self._next_id += 1
            moved += 1
        return moved


# -- SQLite ---------------------------------------------------------------------------------------

_DESTINATION_MATCH = "platform = ? AND chat_id = ? AND thread_id = ?"

_ENSURE_DESTINATION = """
INSERT INTO destinations (platform, chat_id, thread_id, changed_at) VALUES (?, ?, ?, ?)
ON CONFLICT (platform, chat_id, thread_id) DO NOTHING
"""

_SUBSCRIPTION_COLUMNS = """
s.id, d.platform, d.chat_id, d.thread_id,
s.show, s.show_title, s.service, s.region, s.category, s.event_types
"""


def _destination_params(destination: Destination) -> tuple[str, str, str]:
    return (destination.platform, destination.chat_id, destination.thread_id or "")


def _destination_from(platform: str, chat_id: str, thread_id: str) -> Destination:
    return Destination(platform, chat_id, thread_id or None)


def _subscription_from(row: Any) -> Subscription:
    return Subscription(
        id=int(row[0]),
        destination=_destination_from(row[1], row[2], row[3]),
        spec=SubscriptionSpec(
            show=row[4],
            show_title=row[5],
            service=row[6],
            region=row[7],
            category=row[8],
            event_types=decode_types(row[9]),
        ),
    )


def _settings_from(row: Any) -> ChatSettings:
    return ChatSettings(
        timezone=row[0],
        event_types=decode_types(row[1]),
        quiet_start=decode_clock_time(row[2]),
        quiet_end=decode_clock_time(row[3]),
    )


class SqliteSubscriptionStore:
    """Subscriptions in the SQLite file of SqliteStorage, through its connection and lock."""

    def __init__(
        self,
        db: aiosqlite.Connection,
        lock: asyncio.Lock,
        *,
        clock: codec.Clock = codec.utc_now,
    ) -> None:
        self._db = db
        self._lock = lock
        self._clock = clock

    def _now(self) -> str:
        return codec.encode_time(self._clock())

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[None]:
        async with self._lock:
            try:
                await self._db.execute("BEGIN IMMEDIATE")
                yield
                await self._db.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.OperationalError):
                    await self._db.execute("ROLLBACK")
                raise

    async def _read(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        async with self._lock:
            return list(await self._db.execute_fetchall(sql, params))

    async def _fetch(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        """Inside a transaction (the lock is held)."""
        return list(await self._db.execute_fetchall(sql, params))

    async def _ensure(self, destination: Destination) -> int:
        """The destination's row id, creating the row; call inside a transaction."""
        params = _destination_params(destination)
        await self._db.execute(_ENSURE_DESTINATION, (*params, self._now()))
        rows = await self._fetch(f"SELECT id FROM destinations WHERE {_DESTINATION_MATCH}", params)
        return int(rows[0][0])

    async def add_subscription(
        self, destination: Destination, spec: SubscriptionSpec
    ) -> tuple[Subscription, bool]:
        identity = spec.identity()
        async with self._transaction():
            destination_id = await self._ensure(destination)
            await self._db.execute(
                "UPDATE destinations SET active = 1, inactive_reason = '', changed_at = ?"
                " WHERE id = ? AND active = 0",
                (self._now(), destination_id),
            )
            cursor = await self._db.execute(
                """
                INSERT INTO subscriptions (destination_id, identity, show, show_title, service,
                                           region, category, event_types, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
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
                    encode_types(spec.event_types),
                    self._now(),
                ),
            )
            added = cursor.rowcount > 0
            rows = await self._fetch(
                f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions AS s"
                " JOIN destinations AS d ON d.id = s.destination_id"
                " WHERE s.destination_id = ? AND s.identity = ?",
                (destination_id, identity),
            )
        return _subscription_from(rows[0]), added

    async def remove_subscription(self, destination: Destination, subscription_id: int) -> bool:
        async with self._transaction():
            cursor = await self._db.execute(
                "DELETE FROM subscriptions WHERE id = ? AND destination_id ="
                f" (SELECT id FROM destinations WHERE {_DESTINATION_MATCH})",
                (subscription_id, *_destination_params(destination)),
            )
            return cursor.rowcount > 0

    async def remove_all_subscriptions(self, destination: Destination) -> int:
        async with self._transaction():
            cursor = await self._db.execute(
                "DELETE FROM subscriptions WHERE destination_id ="
                f" (SELECT id FROM destinations WHERE {_DESTINATION_MATCH})",
                _destination_params(destination),
            )
            return max(cursor.rowcount, 0)

    async def subscriptions_of(self, destination: Destination) -> list[Subscription]:
        rows = await self._read(
            f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions AS s"
            " JOIN destinations AS d ON d.id = s.destination_id"
            " WHERE d.platform = ? AND d.chat_id = ? AND d.thread_id = ? ORDER BY s.id",
            _destination_params(destination),
        )
        return [_subscription_from(row) for row in rows]

    async def active_routes(self) -> list[Route]:
        rows = await self._read(
            f"SELECT {_SUBSCRIPTION_COLUMNS},"
            " d.timezone, d.event_types, d.quiet_start, d.quiet_end"
            " FROM subscriptions AS s JOIN destinations AS d ON d.id = s.destination_id"
            " WHERE d.active = 1 ORDER BY d.id, s.id"
        )
        grouped: dict[Destination, tuple[ChatSettings, list[Subscription]]] = {}
        for row in rows:
            subscription = _subscription_from(row)
            entry = grouped.setdefault(subscription.destination, (_settings_from(row[10:]), []))
            entry[1].append(subscription)
        return [
            Route(destination, settings, tuple(subscriptions))
            for destination, (settings, subscriptions) in grouped.items()
        ]

    async def destination_state(self, destination: Destination) -> DestinationState | None:
        rows = await self._read(
            "SELECT active, inactive_reason, changed_at FROM destinations"
            f" WHERE {_DESTINATION_MATCH}",
            _destination_params(destination),
        )
        if not rows:
            return None
        return DestinationState(bool(rows[0][0]), rows[0][1], codec.decode_time(rows[0][2]))

    async def set_active(self, platform: str, chat_id: str, active: bool, reason: str = "") -> int:
        flag, why = int(active), "" if active else reason
        async with self._transaction():
            cursor = await self._db.execute(
                "UPDATE destinations SET active = ?, inactive_reason = ?, changed_at = ?"
                " WHERE platform = ? AND chat_id = ? AND active != ?",
                (flag, why, self._now(), platform, chat_id, flag),
            )
            return max(cursor.rowcount, 0)

    async def get_settings(self, destination: Destination) -> ChatSettings:
        rows = await self._read(
            "SELECT timezone, event_types, quiet_start, quiet_end FROM destinations"
            f" WHERE {_DESTINATION_MATCH}",
            _destination_params(destination),
        )
        return _settings_from(rows[0]) if rows else ChatSettings()

    async def save_settings(self, destination: Destination, settings: ChatSettings) -> None:
        async with self._transaction():
            destination_id = await self._ensure(destination)
            await self._db.execute(
                "UPDATE destinations SET timezone = ?, event_types = ?, quiet_start = ?,"
                " quiet_end = ? WHERE id = ?",
                (
                    settings.timezone,
                    encode_types(settings.event_types),
                    encode_clock_time(settings.quiet_start),
                    encode_clock_time(settings.quiet_end),
                    destination_id,
                ),
            )

    async def move_destination(self, old: Destination, new: Destination) -> int:
        if old == new:
            return 0
        async with self._transaction():
            match = f"SELECT id FROM destinations WHERE {_DESTINATION_MATCH}"
            old_rows = await self._fetch(match, _destination_params(old))
            if not old_rows:
                return 0
            old_id = int(old_rows[0][0])
            new_rows = await self._fetch(match, _destination_params(new))
            if not new_rows:
                # The common case: rename the destination, keeping its settings and state.
                await self._db.execute(
                    "UPDATE destinations SET chat_id = ?, thread_id = ? WHERE id = ?",
                    (new.chat_id, new.thread_id or "", old_id),
                )
                counted = await self._fetch(
                    "SELECT count(*) FROM subscriptions WHERE destination_id = ?", (old_id,)
                )
                return int(counted[0][0])
            new_id = int(new_rows[0][0])
            cursor = await self._db.execute(
                """
                INSERT INTO subscriptions (destination_id, identity, show, show_title, service,
                                           region, category, event_types, created_at)
                SELECT ?, identity, show, show_title, service, region, category, event_types,
                       created_at
                FROM subscriptions WHERE destination_id = ? ORDER BY id
                ON CONFLICT (destination_id, identity) DO NOTHING
                """,
                (new_id, old_id),
            )
            moved = max(cursor.rowcount, 0)
            await self._db.execute("DELETE FROM destinations WHERE id = ?", (old_id,))
            return moved


def open_subscription_store(storage: Storage) -> SubscriptionStore:
    """The subscription store that lives beside a chart store: same SQLite file, or memory."""
    if isinstance(storage, SqliteStorage):
        return SqliteSubscriptionStore(storage.connection, storage.lock)
    return MemorySubscriptionStore()


__all__ = [
    "MemorySubscriptionStore",
    "SqliteSubscriptionStore",
    "decode_clock_time",
    "decode_types",
    "encode_clock_time",
    "encode_types",
    "open_subscription_store",
]
