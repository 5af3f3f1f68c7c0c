"""One contract for the subscription store of every backend (memory and SQLite).

A PostgreSQL backend joins through tests/integration/backends.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import time
from pathlib import Path

import pytest

from bot.events import EventType
from bot.ports import SubscriptionStore
from bot.subscriptions import ChatSettings, Destination, SubscriptionSpec
from storage import open_backend
from tests.integration.backends import BACKENDS, open_test_backend

GROUP = Destination("telegram", "-100")
TOPIC = Destination("telegram", "-100", "7")
CHANNEL = Destination("discord", "42")
KR_TV = SubscriptionSpec(region="KR", category="TV")
SQUID = SubscriptionSpec(show="squid game", show_title="Squid Game")
RECORDS = SubscriptionSpec(event_types=frozenset({EventType.RECORD_BROKEN}))


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SubscriptionStore]:
    backend = await open_test_backend(request.param, tmp_path)
    try:
        yield backend.subscriptions
    finally:
        await backend.close()


async def test_add_is_idempotent_per_identity(store: SubscriptionStore) -> None:
    first, added = await store.add_subscription(GROUP, KR_TV)
    assert added
    again, added_again = await store.add_subscription(
        GROUP, SubscriptionSpec(region="KR", category="tv shows")
    )
    assert not added_again and again.id == first.id
    other, added_other = await store.add_subscription(CHANNEL, KR_TV)
    assert added_other and other.id != first.id
    assert [s.spec for s in await store.subscriptions_of(GROUP)] == [KR_TV]


async def test_specs_round_trip(store: SubscriptionStore) -> None:
    await store.add_subscription(GROUP, SQUID)
    await store.add_subscription(GROUP, RECORDS)
    squid_details = SubscriptionSpec(show="squid game", show_title="Squid Game", details=True)
    await store.add_subscription(GROUP, squid_details)
    stored = await store.subscriptions_of(GROUP)
    assert [s.spec for s in stored] == [SQUID, RECORDS, squid_details]
    [route] = await store.active_routes()
    assert [s.spec.details for s in route.subscriptions] == [False, False, True]
    assert all(s.destination == GROUP for s in stored)


async def test_topics_are_their_own_destinations(store: SubscriptionStore) -> None:
    await store.add_subscription(GROUP, KR_TV)
    await store.add_subscription(TOPIC, SQUID)
    assert [s.spec for s in await store.subscriptions_of(TOPIC)] == [SQUID]
    routes = {r.destination: r for r in await store.active_routes()}
    assert set(routes) == {GROUP, TOPIC}


async def test_remove_one_and_all(store: SubscriptionStore) -> None:
    kept, _ = await store.add_subscription(GROUP, KR_TV)
    doomed, _ = await store.add_subscription(GROUP, SQUID)
    assert not await store.remove_subscription(CHANNEL, doomed.id)  # another chat's number
    assert await store.remove_subscription(GROUP, doomed.id)
    assert not await store.remove_subscription(GROUP, doomed.id)
    assert [s.id for s in await store.subscriptions_of(GROUP)] == [kept.id]
    await store.add_subscription(GROUP, RECORDS)
    assert await store.remove_all_subscriptions(GROUP) == 2
    assert await store.subscriptions_of(GROUP) == []


async def test_deactivation_keeps_subscriptions_and_resubscribing_resumes(
    store: SubscriptionStore,
) -> None:
    await store.add_subscription(GROUP, KR_TV)
    await store.add_subscription(TOPIC, SQUID)
    await store.add_subscription(CHANNEL, KR_TV)
    assert await store.set_active("telegram", "-100", False, "bot removed from chat") == 2
    assert await store.set_active("telegram", "-100", False, "again") == 0
    state = await store.destination_state(TOPIC)
    assert state is not None and not state.active and state.reason == "bot removed from chat"
    assert [r.destination for r in await store.active_routes()] == [CHANNEL]
    assert len(await store.subscriptions_of(GROUP)) == 1
    await store.add_subscription(GROUP, RECORDS)  # an admin subscribes again: back on
    assert {r.destination for r in await store.active_routes()} == {GROUP, CHANNEL}
    assert await store.set_active("telegram", "-100", True) == 1  # the topic
    state = await store.destination_state(TOPIC)
    assert state is not None and state.active and state.reason == ""


async def test_settings_default_and_round_trip(store: SubscriptionStore) -> None:
    assert await store.get_settings(GROUP) == ChatSettings()
    settings = ChatSettings(
        timezone="Asia/Seoul",
        event_types=frozenset({EventType.NEW_NUMBER_ONE, EventType.RECORD_BROKEN}),
        quiet_start=time(23, 0),
        quiet_end=time(7, 30),
    )
    await store.save_settings(GROUP, settings)
    assert await store.get_settings(GROUP) == settings
    await store.add_subscription(GROUP, KR_TV)
    (route,) = await store.active_routes()
    assert route.settings == settings


async def test_move_destination_renames_a_migrated_group(store: SubscriptionStore) -> None:
    old, new = Destination("telegram", "-5"), Destination("telegram", "-1005")
    await store.add_subscription(old, KR_TV)
    await store.add_subscription(old, SQUID)
    await store.save_settings(old, ChatSettings(timezone="Europe/Berlin"))
    assert await store.move_destination(old, new) == 2
    assert await store.subscriptions_of(old) == []
    assert [s.spec for s in await store.subscriptions_of(new)] == [KR_TV, SQUID]
    assert (await store.get_settings(new)).timezone == "Europe/Berlin"
    assert await store.destination_state(old) is None
    assert await store.move_destination(old, new) == 0  # the second notice changes nothing


async def test_move_destination_merges_into_an_existing_chat(store: SubscriptionStore) -> None:
    old, new = Destination("telegram", "-5"), Destination("telegram", "-1005")
    await store.add_subscription(old, KR_TV)
    await store.add_subscription(old, SQUID)
    await store.add_subscription(new, KR_TV)
    assert await store.move_destination(old, new) == 1
    assert sorted(s.spec.identity() for s in await store.subscriptions_of(new)) == sorted(
        [KR_TV.identity(), SQUID.identity()]
    )


async def test_sqlite_subscriptions_survive_a_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    storage = await open_backend(url)
    try:
        await storage.subscriptions.add_subscription(GROUP, SQUID)
    finally:
        await storage.close()
    storage = await open_backend(url)
    try:
        stored = await storage.subscriptions.subscriptions_of(GROUP)
    finally:
        await storage.close()
    assert [s.spec for s in stored] == [SQUID]
