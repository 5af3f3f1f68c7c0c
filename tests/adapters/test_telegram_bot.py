"""The Telegram adapter, with the real python-telegram-bot against the fake Bot API server."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest

from bot.commands import COMMANDS, CommandService
from bot.delivery.lifecycle import DestinationLifecycle
from bot.events import Event, EventType
from bot.models import ChartKey
from bot.poll import operator_sink
from bot.ports import Batch, DeliveryUncertain, DestinationGone, MessageRejected, TransientFailure
from bot.subscriptions import Destination, SubscriptionSpec
from handlers.telegram.adapter import TelegramAdapter, TelegramSettings, telegram_settings
from storage.memory import MemoryBackend
from storage.memory.outbox import MemoryOutbox
from tests.adapters.sender_rig import deliver
from tests.adapters.telegram_rig import running_telegram
from tests.chat_fixtures import chat_service
from tests.fakes import FakeTelegram
from tests.hostile_text import HOSTILE_ARGUMENTS

GROUP_ID = -4_000_000_001
SUPERGROUP_ID = -1_001_234_567_890
ADMIN_ID = 4242
MEMBER_ID = 4343
USER_ID = 4444

KR_TV = ChartKey("netflix", "netflix", "KR", "TV", "weekly")


def alert(title: str = "Locke & Key", chart: ChartKey = KR_TV) -> Event:
    return Event(
        EventType.NEW_NUMBER_ONE, chart, date(2021, 11, 28), title.lower(), title, None, rank=1
    )


@pytest.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegram]:
    """The real flood-control ceilings with windows 20 times shorter, so tests stay quick."""
    async with FakeTelegram(time_scale=0.05) as fake:
        yield fake


@pytest.fixture
async def service() -> CommandService:
    return await chat_service()


@pytest.fixture
def outbox(service: CommandService) -> MemoryOutbox:
    """The backend's outbox: live events stored queue their deliveries."""
    assert isinstance(service.storage, MemoryBackend)
    return service.storage.outbox


@pytest.fixture
def lifecycle(service: CommandService, outbox: MemoryOutbox) -> DestinationLifecycle:
    return DestinationLifecycle(service.subscriptions, outbox)


async def alert_now(adapter: TelegramAdapter, outbox: MemoryOutbox, *events: Event) -> Any:
    """Store the events (deliveries queued) and send what is due through the adapter's notifier."""
    service = adapter._service
    return await deliver(service.storage, outbox, service.subscriptions, adapter.notifier, events)


@pytest.fixture
async def adapter(
    fake_telegram: FakeTelegram, service: CommandService, lifecycle: DestinationLifecycle
) -> AsyncIterator[TelegramAdapter]:
    fake_telegram.set_admins(GROUP_ID, [ADMIN_ID], owner_id=ADMIN_ID)
    async with running_telegram(fake_telegram, service, lifecycle) as telegram:
        yield telegram


async def command(
    fake: FakeTelegram, chat_id: int, text: str, user: int, **kwargs: Any
) -> list[Any]:
    """Inject a command and wait for the bot's answer; returns every message sent so far."""
    before = len(fake.sent)
    fake.inject_message(chat_id, text, from_user=user, **kwargs)
    return await fake.wait_for_sent(before + 1)


async def test_top10_kr_end_to_end_in_a_group(
    fake_telegram: FakeTelegram, adapter: TelegramAdapter
) -> None:
    sent = await command(fake_telegram, GROUP_ID, "/top10@top10_test_bot KR", MEMBER_ID)
    answer = sent[-1]
    assert answer.chat_id == GROUP_ID and answer.parse_mode == "HTML"
    assert answer.text.startswith("<b>🇰🇷 Top 10 — Netflix · South Korea · TV</b>\n")
    lines = answer.plain_text.split("\n")
    assert lines[1] == "1. Hellbound: Season 1 🆕 · 1 wk"
    assert "2. The King's Affection: Season 1 ▼1 · 6 wk" in lines
    assert lines[-1].startswith(
        "Netflix Top 10 (official) · week ending 2021-11-21 · also: Films · "
    )


async def test_commands_are_registered_from_the_registry(
    fake_telegram: FakeTelegram, adapter: TelegramAdapter
) -> None:
    registered = fake_telegram.commands[('{"type": "default"}', "")]  # English, for any client
    assert [c["command"] for c in registered] == [c.name for c in COMMANDS]
    top10 = registered[0]
    assert top10["description"].endswith("[region] [category] [service] [date]")


async def test_subscribe_needs_a_group_admin(
    fake_telegram: FakeTelegram, adapter: TelegramAdapter, service: CommandService
) -> None:
    group = Destination("telegram", str(GROUP_ID))
    refused = await command(fake_telegram, GROUP_ID, "/subscribe KR TV", MEMBER_ID)
    assert refused[-1].plain_text.startswith("⚠️ Not allowed\nOnly administrators")
    assert await service.subscriptions.subscriptions_of(group) == []
    accepted = await command(fake_telegram, GROUP_ID, "/subscribe KR TV", ADMIN_ID)
    assert accepted[-1].plain_text.startswith("Subscribed #1 — alerts go to this group")
    assert [s.spec for s in await service.subscriptions.subscriptions_of(group)] == [
        SubscriptionSpec(region="KR", category="TV")
    ]
    assert fake_telegram.calls["getChatMember"] == 2


async def test_private_chats_subscribe_without_an_admin_check(
    fake_telegram: FakeTelegram, adapter: TelegramAdapter, service: CommandService
) -> None:
    sent = await command(fake_telegram, USER_ID, "/subscribe Squid Game", USER_ID)
    assert sent[-1].plain_text.startswith("Subscribed #1 — alerts go to this private chat")
    assert fake_telegram.calls["getChatMember"] == 0
    (subscription,) = await service.subscriptions.subscriptions_of(
        Destination("telegram", str(USER_ID))
    )
    assert subscription.spec.show == "squid game"


async def test_an_alert_reaches_a_forum_topic(
    fake_telegram: FakeTelegram,
    adapter: TelegramAdapter,
    service: CommandService,
    outbox: MemoryOutbox,
) -> None:
    fake_telegram.set_admins(SUPERGROUP_ID, [ADMIN_ID])
    sent = await command(
        fake_telegram,
        SUPERGROUP_ID,
        "/subscribe KR",
        ADMIN_ID,
        chat_type="supergroup",
        thread_id=77,
    )
    assert sent[-1].thread_id == 77 and "this topic" in sent[-1].plain_text
    topic = Destination("telegram", str(SUPERGROUP_ID), "77")
    assert len(await service.subscriptions.subscriptions_of(topic)) == 1

    stats = await alert_now(adapter, outbox, alert())

    assert stats.messages_sent == 1
    delivered = fake_telegram.sent[-1]
    assert (delivered.chat_id, delivered.thread_id) == (SUPERGROUP_ID, 77)
    # Plain text, no parse mode: nothing to escape.
    assert delivered.parse_mode is None
    assert delivered.text == (
        "[week ending 2021-11-28] Netflix · South Korea · TV: Locke & Key debuts at #1"
    )


async def test_a_blocked_user_is_paused_and_resumes_on_unblock(
    fake_telegram: FakeTelegram,
    adapter: TelegramAdapter,
    service: CommandService,
    outbox: MemoryOutbox,
) -> None:
    await command(fake_telegram, USER_ID, "/subscribe KR", USER_ID)
    private = Destination("telegram", str(USER_ID))
    fake_telegram.block_chat(USER_ID)

    stats = await alert_now(adapter, outbox, alert())

    assert stats.deactivated == 1 and stats.dead == 1
    state = await service.subscriptions.destination_state(private)
    assert state is not None and not state.active and "blocked" in state.reason
    assert len(await service.subscriptions.subscriptions_of(private)) == 1
    # Unblocking shows up as a my_chat_member update: the chat is active again.
    fake_telegram.unblock_chat(USER_ID)
    fake_telegram.inject_update(my_chat_member(USER_ID, "private", old="kicked", new="member"))
    await fake_telegram.wait_until(lambda: fake_telegram.pending_updates == 0)
    await command(fake_telegram, USER_ID, "/help", USER_ID)  # processed after the update
    state = await service.subscriptions.destination_state(private)
    assert state is not None and state.active


async def test_a_kicked_bot_pauses_the_group_and_sets_its_alerts_aside(
    fake_telegram: FakeTelegram,
    adapter: TelegramAdapter,
    service: CommandService,
    outbox: MemoryOutbox,
) -> None:
    await command(fake_telegram, GROUP_ID, "/subscribe KR", ADMIN_ID)
    # Queued, not sent yet (a run of `deliveries send` would send it).
    await service.storage.save_batch(Batch(events=[alert()]), queue_deliveries=True)
    fake_telegram.inject_update(my_chat_member(GROUP_ID, "group", old="member", new="kicked"))
    await fake_telegram.wait_until(lambda: fake_telegram.pending_updates == 0)
    await command(fake_telegram, USER_ID, "/help", USER_ID)
    state = await service.subscriptions.destination_state(Destination("telegram", str(GROUP_ID)))
    assert state is not None and not state.active and state.reason == "bot removed from chat"
    # The same use case as when a send fails: the open delivery is a dead letter at once.
    counts = await outbox.counts()
    assert (counts.pending, counts.dead) == (0, 1)
    [letter] = await outbox.dead_letters()
    assert letter.reason == "destination inactive: bot removed from chat"


async def test_a_migrated_group_keeps_its_subscriptions(
    fake_telegram: FakeTelegram,
    adapter: TelegramAdapter,
    service: CommandService,
    outbox: MemoryOutbox,
) -> None:
    await command(fake_telegram, GROUP_ID, "/subscribe KR TV", ADMIN_ID)
    fake_telegram.migrate_chat(GROUP_ID, SUPERGROUP_ID)

    stats = await alert_now(adapter, outbox, alert())

    assert stats.moved == 1 and stats.messages_sent == 1
    assert fake_telegram.sent[-1].chat_id == SUPERGROUP_ID
    moved = await service.subscriptions.subscriptions_of(
        Destination("telegram", str(SUPERGROUP_ID))
    )
    assert [s.spec for s in moved] == [SubscriptionSpec(region="KR", category="TV")]
    assert (
        await service.subscriptions.subscriptions_of(Destination("telegram", str(GROUP_ID))) == []
    )


async def test_the_migration_service_message_moves_subscriptions_and_pending_alerts(
    fake_telegram: FakeTelegram,
    adapter: TelegramAdapter,
    service: CommandService,
    outbox: MemoryOutbox,
) -> None:
    await command(fake_telegram, GROUP_ID, "/subscribe KR", ADMIN_ID)
    # Queued for the old group, not sent yet.
    await service.storage.save_batch(Batch(events=[alert()]), queue_deliveries=True)
    fake_telegram.inject_update(
        {
            "message": {
                "message_id": 900,
                "date": 1_637_000_000,
                "chat": {"id": GROUP_ID, "type": "group", "title": "fans"},
                "from": {"id": ADMIN_ID, "is_bot": False, "first_name": "Ada"},
                "migrate_to_chat_id": SUPERGROUP_ID,
            }
        }
    )
    await fake_telegram.wait_until(lambda: fake_telegram.pending_updates == 0)
    await command(fake_telegram, USER_ID, "/help", USER_ID)
    moved = await service.subscriptions.subscriptions_of(
        Destination("telegram", str(SUPERGROUP_ID))
    )
    assert len(moved) == 1
    # The pending alert followed the chat: sending now reaches the supergroup, no move needed.
    stats = await deliver(
        service.storage, outbox, service.subscriptions, adapter.notifier, [alert("Hellbound")]
    )
    assert stats.moved == 0 and stats.deliveries_sent == 2 and stats.messages_sent == 1
    assert fake_telegram.sent[-1].chat_id == SUPERGROUP_ID
    assert fake_telegram.sent[-1].text.startswith("2 chart updates\n")


async def test_subscribe_button_under_title(
    fake_telegram: FakeTelegram, adapter: TelegramAdapter, service: CommandService
) -> None:
    sent = await command(fake_telegram, GROUP_ID, "/title squid game", MEMBER_ID)
    card = sent[-1]
    assert card.plain_text.startswith("Squid Game\n")
    ((button,),) = card.reply_markup["inline_keyboard"]
    assert button["text"] == "🔔 Subscribe"

    fake_telegram.inject_callback_query(
        GROUP_ID, card.message_id, button["callback_data"], MEMBER_ID
    )
    await fake_telegram.wait_until(lambda: len(fake_telegram.callback_answers) == 1)
    refusal = fake_telegram.callback_answers[0]
    assert refusal.show_alert and refusal.text.startswith("Not allowed")

    fake_telegram.inject_callback_query(
        GROUP_ID, card.message_id, button["callback_data"], ADMIN_ID
    )
    confirmation = (await fake_telegram.wait_for_sent(len(sent) + 1))[-1]
    assert confirmation.plain_text.startswith("Subscribed #1 — alerts go to this group")
    (subscription,) = await service.subscriptions.subscriptions_of(
        Destination("telegram", str(GROUP_ID))
    )
    assert subscription.spec.show_title == "Squid Game"


async def test_bad_input_gets_suggestions_in_escaped_html(
    fake_telegram: FakeTelegram, adapter: TelegramAdapter
) -> None:
    sent = await command(fake_telegram, USER_ID, "/top10 <b>korea</b>", USER_ID)
    answer = sent[-1]
    assert "&lt;b&gt;korea&lt;/b&gt;" in answer.text
    assert answer.plain_text.startswith("⚠️ Unknown region '<b>korea</b>'")
    assert "• South Korea (KR)" in answer.plain_text.split("\n")


async def test_the_token_never_reaches_the_logs(
    fake_telegram: FakeTelegram,
    service: CommandService,
    lifecycle: DestinationLifecycle,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = TelegramSettings(
        token=fake_telegram.token, base_url=fake_telegram.base_url, poll_timeout=1
    )
    telegram = TelegramAdapter(service, settings, lifecycle)
    await telegram.start()
    try:
        await command(fake_telegram, USER_ID, "/help", USER_ID)
    finally:
        await telegram.stop()
    assert "/bot<TELEGRAM_TOKEN>/getMe" in caplog.text  # httpx logged the URL, redacted
    assert fake_telegram.token not in caplog.text
    assert fake_telegram.token.split(":")[1] not in caplog.text


def test_settings_come_from_the_environment_or_the_config() -> None:
    table = {"token": "1:from-config-xxxxxxxx", "base_url": "http://127.0.0.1:8081/bot"}
    from_env = telegram_settings(table, {"TELEGRAM_TOKEN": "2:from-env-xxxxxxxx"})
    assert from_env is not None and from_env.token == "2:from-env-xxxxxxxx"
    assert from_env.base_url == "http://127.0.0.1:8081/bot"
    from_config = telegram_settings(table, {})
    assert from_config is not None and from_config.token == "1:from-config-xxxxxxxx"
    assert telegram_settings({}, {}) is None
    assert telegram_settings({"token": "  "}, {}) is None


def my_chat_member(chat_id: int, chat_type: str, *, old: str, new: str) -> dict[str, Any]:
    chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
    if chat_type == "private":
        chat["first_name"] = "Ada"
    else:
        chat["title"] = "fans"
    bot = {"id": 123456789, "is_bot": True, "first_name": "Top10 Test Bot"}
    actor = {
        "id": chat_id if chat_type == "private" else ADMIN_ID,
        "is_bot": False,
        "first_name": "A",
    }

    def member(status: str) -> dict[str, Any]:
        if status == "kicked":
            return {"status": "kicked", "user": bot, "until_date": 0}
        return {"status": status, "user": bot}

    return {
        "my_chat_member": {
            "chat": chat,
            "from": actor,
            "date": 1_637_000_000,
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }
    }


@pytest.mark.parametrize(
    ("status", "description", "raised"),
    [
        (502, "Bad Gateway", TransientFailure),
        (400, "Bad Request: message is too long", MessageRejected),
        (400, "Bad Request: chat not found", DestinationGone),
        (403, "Forbidden: bot was kicked from the group chat", DestinationGone),
    ],
)
async def test_send_failures_map_to_what_a_sender_must_do(
    fake_telegram: FakeTelegram,
    adapter: TelegramAdapter,
    status: int,
    description: str,
    raised: type[Exception],
) -> None:
    fake_telegram.fail_next("sendMessage", status=status, description=description)
    with pytest.raises(raised):
        await adapter.notifier.send(str(GROUP_ID), "hello")
    assert fake_telegram.sent == []


async def test_a_timeout_after_sending_is_uncertain(
    fake_telegram: FakeTelegram, service: CommandService, lifecycle: DestinationLifecycle
) -> None:
    settings = TelegramSettings(
        token=fake_telegram.token, base_url=fake_telegram.base_url, read_timeout=0.2
    )
    telegram = TelegramAdapter(service, settings, lifecycle)
    await telegram.start()
    try:
        fake_telegram.delay_next("sendMessage", seconds=1.0)
        with pytest.raises(DeliveryUncertain):
            await telegram.notifier.send(str(USER_ID), "maybe delivered")
    finally:
        await telegram.stop()
    assert [m.ambiguous for m in fake_telegram.sent] == [True]


async def test_long_operator_alerts_are_split_within_telegrams_limit(
    fake_telegram: FakeTelegram, adapter: TelegramAdapter
) -> None:
    text = "\n".join(f"🔥 line {n} & more" for n in range(500))  # ~9300 UTF-16 units
    notifier = adapter.notifier
    assert notifier.text_length(text) > 2 * notifier.text_limit
    await operator_sink(f"telegram:{USER_ID}", [notifier])(text)
    parts = fake_telegram.sent
    assert len(parts) == 3
    assert all(len(p.text.encode("utf-16-le")) // 2 <= 4096 for p in parts)
    assert "\n".join(p.text for p in parts) == text


async def test_an_unclear_subscribe_offers_title_buttons(
    fake_telegram: FakeTelegram, adapter: TelegramAdapter, service: CommandService
) -> None:
    group = Destination("telegram", str(GROUP_ID))
    sent = await command(fake_telegram, GROUP_ID, "/subscribe love", ADMIN_ID)
    question = sent[-1]
    assert question.plain_text.startswith("⚠️ Which title is 'love'?\n")
    assert await service.subscriptions.subscriptions_of(group) == []
    rows = question.reply_markup["inline_keyboard"]
    assert 2 <= len(rows) <= 5 and all(len(row) == 1 for row in rows)  # one title per row
    (chosen,) = [row[0] for row in rows if row[0]["text"] == "Love Hard"]

    fake_telegram.inject_callback_query(
        GROUP_ID, question.message_id, chosen["callback_data"], ADMIN_ID
    )
    confirmation = (await fake_telegram.wait_for_sent(len(sent) + 1))[-1]
    assert confirmation.plain_text.startswith("Subscribed #1 — alerts go to this group")
    (subscription,) = await service.subscriptions.subscriptions_of(group)
    assert subscription.spec.show_title == "Love Hard"


@pytest.mark.parametrize("command_name", [c.name for c in COMMANDS])
async def test_hostile_arguments_get_a_reply_that_telegram_accepts(
    fake_telegram: FakeTelegram, adapter: TelegramAdapter, command_name: str
) -> None:
    for number, argument in enumerate(HOSTILE_ARGUMENTS):
        user = USER_ID + 1 + number  # a private chat each: no flood wait between them
        sent = await command(fake_telegram, user, f"/{command_name} {argument}", user)
        answer = sent[-1]
        assert answer.chat_id == user
        assert not answer.plain_text.startswith("⚠️ Something went wrong")


async def test_a_command_name_ends_at_a_line_break(
    fake_telegram: FakeTelegram, adapter: TelegramAdapter
) -> None:
    sent = await command(fake_telegram, USER_ID, "/top10\nKR", USER_ID)
    assert sent[-1].plain_text.startswith("🇰🇷 Top 10 — Netflix · South Korea · TV\n")


async def test_forged_button_payloads_get_an_answer(
    fake_telegram: FakeTelegram, adapter: TelegramAdapter
) -> None:
    # callback_data comes from the client: a modified one must be answered like typed text.
    sent = await command(fake_telegram, USER_ID, "/help", USER_ID)
    forged = [
        "t10|unsubscribe|subscription=99999999999999999999999",
        "t10|top10|region=\x00",
        "t10|top10|date=9999-99-99",
        "t10|title|name=" + "x" * 50,
        "t10|settings|colour=red",
        "t10|nonsense|",
        "t10||",
    ]
    for number, payload in enumerate(forged, start=1):
        fake_telegram.inject_callback_query(USER_ID, sent[-1].message_id, payload, USER_ID)
        await fake_telegram.wait_until(lambda n=number: len(fake_telegram.callback_answers) == n)
    answers = [answer.text for answer in fake_telegram.callback_answers]
    assert answers[0].startswith("No subscription #99999999999999999999999 here")
    assert answers[1].startswith("Unreadable character in region")
    assert answers[2].startswith("Not a date: '9999-99-99'")
    assert not any(text.startswith("Something went wrong") for text in answers)
