"""A database made by the storage code of schema version 5 (tests/fixtures/migration) is taken
forward by today's migrations without losing anything, and goes on working."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.diff import DiffConfig
from bot.events import EventType
from bot.models import WORLD, Chart, Entry
from bot.pipeline import Pipeline
from bot.subscriptions import Destination
from storage import SqliteBackend, codec, open_backend
from tests.integration.test_storage_contract import open_sqlite

LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "migration" / "legacy-v5.sqlite"
# The stored order of a version-5 entry array and event array (storage/codec.py back then).
V5_ENTRY = ("rank", "title_id", "title", "season", "points", "days_in_top10", "weeks_in_top10")
V5_ENTRY += ("hours", "views", "runtime")
UNCHANGED_TABLES = {
    "destinations": "id",
    "subscriptions": "id",
    "rejections": "id",
    "chart_state": "source, service, region, category, granularity",
    "family_state": "source, service, category, granularity",
    "meta": "name",
    "titles": "title_id, title, season",
}
DELIVERY_COLUMNS = (
    "id, destination_id, platform, status, due_at, claimed_until, group_id, attempts,"
    " uncertain, last_error, created_at, updated_at"
)


def v5_event_keys(db: sqlite3.Connection) -> dict[int, str]:
    """Each stored event's number and key, read from the version-5 event groups."""
    keys: dict[int, str] = {}
    groups = db.execute(
        "SELECT first_id, source, service, region, category, granularity, period, events"
        " FROM event_groups"
    )
    for first_id, *chart, events in groups:
        for offset, row in enumerate(json.loads(events)):
            row += [None] * (12 - len(row))
            middle = ":".join(chart)
            key = f"{row[0]}:{middle}:{row[1]}" + (f":{row[11]}" if row[11] else "")
            keys[first_id + offset] = key
    return keys


def v5_charts(db: sqlite3.Connection) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    charts: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    rows = db.execute(
        "SELECT source, service, region, category, granularity, period, entries FROM charts"
    )
    for *key, entries in rows:
        charts[tuple(key)] = [
            dict(zip(V5_ENTRY, entry, strict=True)) for entry in json.loads(entries)
        ]
    return charts


def snapshot(path: Path, *, version: int) -> dict[str, Any]:
    """Everything the migration must keep, read with plain sqlite3 from either schema."""
    with sqlite3.connect(path) as db:
        if version == 5:
            keys = v5_event_keys(db)
            charts = v5_charts(db)
        else:
            keys = dict(db.execute("SELECT id, key FROM events").fetchall())
            charts = {}
            for *key, entries in db.execute(
                "SELECT source, service, region, category, granularity, period, entries FROM charts"
            ):
                stored = [{**dict.fromkeys(V5_ENTRY), **entry} for entry in json.loads(entries)]
                charts[tuple(key)] = stored
        tables = {
            table: db.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()
            for table, order in UNCHANGED_TABLES.items()
        }
        deliveries = [
            (*row, keys[row[-1]])
            for row in db.execute(f"SELECT {DELIVERY_COLUMNS}, event_id FROM deliveries")
        ]
    return {"events": keys, "charts": charts, "tables": tables, "deliveries": sorted(deliveries)}


@pytest.fixture
async def migrated(tmp_path: Path) -> AsyncIterator[tuple[SqliteBackend, dict[str, Any]]]:
    path = tmp_path / "bot.db"
    shutil.copyfile(LEGACY, path)
    before = snapshot(path, version=5)
    backend = await open_sqlite(path)
    try:
        yield backend, before
    finally:
        await backend.close()


async def test_the_migration_keeps_every_chart_event_delivery_and_setting(
    migrated: tuple[SqliteBackend, dict[str, Any]], tmp_path: Path
) -> None:
    backend, before = migrated
    assert [version for version, _ in await backend.applied_migrations()][-1] >= 6
    after = snapshot(tmp_path / "bot.db", version=6)

    assert len(before["charts"]) == 140 and len(before["events"]) == 1942
    assert after["charts"] == before["charts"]
    # Same keys under the same ids: every delivery still points at its event.
    assert after["events"] == before["events"]
    assert after["deliveries"] == before["deliveries"]
    statuses = {row[3] for row in after["deliveries"]}
    assert statuses == {"pending", "failed", "sent", "dead"}
    assert any(row[6] is not None for row in after["deliveries"])  # claimed into a group
    # 0007 gives every subscription `details` = 0: those that named no types get the headlines.
    subscriptions = after["tables"]["subscriptions"]
    assert subscriptions and {row[-1] for row in subscriptions} == {0}
    after["tables"]["subscriptions"] = [row[:-1] for row in subscriptions]
    # 0008 gives every destination the language '' (not chosen): it reads English, as before;
    # 0009 no daily digest (NULL): details go out at once, as before.
    destinations = after["tables"]["destinations"]
    assert destinations and {row[-2:] for row in destinations} == {("", None)}
    after["tables"]["destinations"] = [row[:-2] for row in destinations]
    assert after["tables"] == before["tables"]

    # And the store reads them back.
    assert len(await backend.recent_events(limit=5000)) == 1942
    # 0010 lists every key of the stored charts in chart_keys.
    stored_keys = {codec.key_from_columns(*key[:5]) for key in before["charts"]}
    assert await backend.chart_keys() == sorted(stored_keys)
    squid = "squid game|squid game season 1"
    history = await backend.title_history(squid)
    stored_ranks = sorted(
        (key[5], entry["rank"])
        for key, entries in before["charts"].items()
        for entry in entries
        if entry["title_id"] == squid
    )
    assert sorted((point.period.isoformat(), point.rank) for point in history) == stored_ranks
    counts = await backend.outbox.counts()
    assert (counts.pending, counts.failed, counts.sent, counts.dead) == (86, 2, 5, 2)
    dead = await backend.outbox.dead_letters()
    dead_keys = {row[-1] for row in before["deliveries"] if row[3] == "dead"}
    assert {letter.event_key for letter in dead} == dead_keys
    routes = await backend.subscriptions.active_routes()
    assert {route.destination for route in routes} == {
        Destination("telegram", "100"),
        Destination("discord", "200", "7"),
        Destination("telegram", "300"),
    }
    settings = await backend.subscriptions.get_settings(Destination("discord", "200", "7"))
    assert settings.timezone == "Europe/Amsterdam"
    assert settings.event_types == frozenset({EventType.NEW_NUMBER_ONE})


async def test_a_migrated_database_stores_and_queues_the_next_week(
    migrated: tuple[SqliteBackend, dict[str, Any]],
) -> None:
    backend, before = migrated
    keys = await backend.chart_keys()
    world = next(key for key in keys if key.region == WORLD and key.category == "TV (English)")
    last = await backend.latest_chart(world)
    assert last is not None
    # The next week: the old #2 takes the top, a new title enters; those that stay gain a week.
    entries = [
        replace(entry, weeks_in_top10=(entry.weeks_in_top10 or 0) + 1) for entry in last.entries
    ]
    top, second = entries[0], entries[1]
    fresh = Entry(10, "brand new show", "Brand New Show", None, weeks_in_top10=1, hours=1_000_000)
    next_entries = [replace(second, rank=1), replace(top, rank=2), *entries[2:9], fresh]
    next_entries = [replace(entry, rank=rank) for rank, entry in enumerate(next_entries, start=1)]
    next_week = Chart(world, last.period + timedelta(days=7), tuple(next_entries))

    stats = await Pipeline(backend, DiffConfig(), queue_deliveries=True).process([next_week])

    assert stats.accepted == 1 and stats.events > 0
    new_events = await backend.recent_events(limit=stats.events)
    assert all(event.period == next_week.period for event in new_events)
    assert EventType.NEW_NUMBER_ONE in {event.type for event in new_events}
    # Chat 100 follows WORLD #1 changes: its delivery is queued with the events.
    assert stats.queued >= 1
    counts = await backend.outbox.counts()
    assert counts.pending == 86 + stats.queued
    rows = await backend.database.read(
        "SELECT min(id) FROM events WHERE period = ?", (next_week.period.isoformat(),)
    )
    assert rows[0][0] > max(before["events"])


async def test_opening_by_url_migrates_the_legacy_file(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    shutil.copyfile(LEGACY, path)
    backend = await open_backend(f"sqlite:///{path}")
    try:
        assert len(await backend.recent_events(limit=5000)) == 1942
    finally:
        await backend.close()
