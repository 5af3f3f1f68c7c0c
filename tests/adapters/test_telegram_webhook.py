"""Telegram webhook mode, over real HTTP on 127.0.0.1: the real python-telegram-bot registers the
webhook with the fake Bot API, the fake POSTs updates to the adapter's server as Telegram does,
and the bot answers through the fake Bot API. The secret-token header is checked."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import replace
from typing import Any

import aiohttp
import pytest
from telegram.error import BadRequest

from bot.commands import CommandService
from bot.config import ConfigError
from bot.delivery.lifecycle import DestinationLifecycle
from bot.subscriptions import Destination
from handlers.telegram.adapter import ALLOWED_UPDATES, TelegramAdapter, TelegramSettings
from handlers.telegram.settings import telegram_settings
from handlers.telegram.webhook import SECRET_ENV, WebhookSettings, read_webhook
from storage.memory import MemoryBackend
from tests.chat_fixtures import chat_service
from tests.fakes import FakeTelegram
from tests.fakes.telegram_server import Webhook

GROUP_ID = -4_000_000_001
ADMIN_ID = 4242
MEMBER_ID = 4343
SECRET = "s3cret-token_of-the-webhook-0123456789"
PUBLIC_URL = "https://bot.example.test/telegram/updates"
TOP10_KR_TITLE = "🇰🇷 Top 10 — Netflix · South Korea · TV"


@pytest.fixture
async def service() -> CommandService:
    return await chat_service()


Start = Callable[..., Awaitable[TelegramAdapter]]


@pytest.fixture
async def start(fake_telegram: FakeTelegram, service: CommandService) -> AsyncIterator[Start]:
    """``await start(webhook=…)``: a started adapter against the fake (stopped after the test);
    by default in webhook mode on a free port of 127.0.0.1."""
    fake_telegram.set_admins(GROUP_ID, [ADMIN_ID], owner_id=ADMIN_ID)
    assert isinstance(service.storage, MemoryBackend)
    lifecycle = DestinationLifecycle(service.subscriptions, service.storage.outbox)
    default = WebhookSettings(url=PUBLIC_URL, host="127.0.0.1", port=0, secret=SECRET)
    async with AsyncExitStack() as stack:

        async def start_adapter(webhook: WebhookSettings | None = default) -> TelegramAdapter:
            settings = TelegramSettings(
                token=fake_telegram.token,
                base_url=fake_telegram.base_url,
                base_file_url=fake_telegram.base_file_url,
                poll_timeout=1,
                webhook=webhook,
            )
            adapter = TelegramAdapter(service, settings, lifecycle)
            await adapter.start()
            stack.push_async_callback(adapter.stop)
            return adapter

        yield start_adapter


def address(adapter: TelegramAdapter) -> str:
    """Where the proxy in front would forward PUBLIC_URL: the same path, the local port."""
    assert adapter.webhook is not None and adapter.webhook.port is not None
    return f"http://127.0.0.1:{adapter.webhook.port}/telegram/updates"


async def post(
    fake: FakeTelegram, adapter: TelegramAdapter, text: str, *, user: int, secret: str | None
) -> int:
    update = fake.inject_message(GROUP_ID, text, from_user=user)
    return await fake.post_update(address(adapter), update, secret=secret)


async def test_a_command_posted_with_the_secret_is_answered_and_one_without_is_refused(
    fake_telegram: FakeTelegram, start: Start, service: CommandService
) -> None:
    adapter = await start()
    assert fake_telegram.webhook == Webhook(PUBLIC_URL, SECRET, list(ALLOWED_UPDATES), 40)
    assert fake_telegram.calls["getUpdates"] == 0
    # Refused before anything is read: no answer, no subscription.
    for secret in ("not-the-secret-0123456789", None, SECRET[:-1], SECRET + "x"):
        status = await post(
            fake_telegram, adapter, "/subscribe KR TV", user=ADMIN_ID, secret=secret
        )
        assert status == 403
    assert await post(fake_telegram, adapter, "/top10 KR", user=MEMBER_ID, secret=SECRET) == 200
    # Updates are handled in order: an answer to a refused POST would come before this one.
    (answer,) = await fake_telegram.wait_for_sent(1)
    assert answer.chat_id == GROUP_ID
    assert answer.plain_text.split("\n")[0] == TOP10_KR_TITLE
    assert (
        await service.subscriptions.subscriptions_of(Destination("telegram", str(GROUP_ID))) == []
    )
    assert fake_telegram.pending_updates == 4  # refused: still Telegram's to retry


async def test_a_body_that_is_no_update_is_refused_with_400(
    fake_telegram: FakeTelegram, start: Start
) -> None:
    adapter = await start()
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with aiohttp.ClientSession() as session:
        for body in (b"[1, 2]", b"{not json", b'{"update_id": "x", "message": 5}'):
            async with session.post(address(adapter), data=body, headers=headers) as response:
                assert response.status == 400
        async with session.get(address(adapter), headers=headers) as response:
            assert response.status == 405
    assert await post(fake_telegram, adapter, "/help", user=MEMBER_ID, secret=SECRET) == 200
    (answer,) = await fake_telegram.wait_for_sent(1)
    assert answer.plain_text.startswith("top10bot commands\n")


async def test_shutdown_closes_the_server_and_leaves_the_webhook_set(
    fake_telegram: FakeTelegram, start: Start
) -> None:
    adapter = await start()
    local = address(adapter)
    await adapter.stop()
    update = fake_telegram.inject_message(GROUP_ID, "/help", from_user=MEMBER_ID)
    with pytest.raises(aiohttp.ClientConnectionError):
        await fake_telegram.post_update(local, update, secret=SECRET)
    assert fake_telegram.webhook is not None and fake_telegram.calls["deleteWebhook"] == 0


async def test_long_polling_deletes_a_webhook_left_from_webhook_mode(
    fake_telegram: FakeTelegram, start: Start
) -> None:
    await (await start()).stop()
    assert fake_telegram.webhook is not None
    await start(webhook=None)
    assert fake_telegram.webhook is None
    fake_telegram.inject_message(GROUP_ID, "/top10 KR", from_user=MEMBER_ID)
    (answer,) = await fake_telegram.wait_for_sent(1)
    assert answer.plain_text.split("\n")[0] == TOP10_KR_TITLE


async def test_a_webhook_telegram_refuses_fails_the_start_and_frees_the_port(
    fake_telegram: FakeTelegram, start: Start
) -> None:
    port = free_port()
    refused = WebhookSettings(
        url="https://bot.example.test:8080/hook", host="127.0.0.1", port=port, secret=SECRET
    )
    with pytest.raises(BadRequest, match="ports 80, 88, 443 or 8443"):
        await start(webhook=refused)
    assert fake_telegram.webhook is None
    with socket.create_server(("127.0.0.1", port)):  # the failed start let the port go
        pass


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return int(probe.getsockname()[1])


async def test_the_secret_never_reaches_the_logs(
    fake_telegram: FakeTelegram, start: Start, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    adapter = await start()
    assert await post(fake_telegram, adapter, "/help", user=MEMBER_ID, secret="wrong" * 4) == 403
    assert await post(fake_telegram, adapter, "/help", user=MEMBER_ID, secret=SECRET) == 200
    await fake_telegram.wait_for_sent(1)
    assert "setWebhook" in caplog.text  # PTB logged the call and its parameters…
    assert SECRET not in caplog.text  # …with the secret redacted


# -- settings ------------------------------------------------------------------------------------


def test_webhook_settings() -> None:
    table = {"webhook_url": PUBLIC_URL, "webhook_secret": SECRET}
    settings = read_webhook(table, {})
    assert settings == WebhookSettings(PUBLIC_URL, "0.0.0.0", 8443, SECRET)
    assert settings.path == "/telegram/updates" and SECRET not in repr(settings)
    from_env = read_webhook({**table, "webhook_listen": "[::1]:9000"}, {SECRET_ENV: "e" * 20})
    assert from_env == WebhookSettings(PUBLIC_URL, "::1", 9000, "e" * 20)
    assert read_webhook({}, {SECRET_ENV: SECRET}) is None  # no URL: long polling
    full = telegram_settings({**table, "token": "1:x"}, {})
    assert full is not None and full.webhook == settings
    assert replace(full, webhook=None) == telegram_settings({"token": "1:x"}, {})


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"webhook_url": "http://bot.example.test/x"}, "[telegram] webhook_url must be the public"),
        ({"webhook_url": "bot.example.test"}, "[telegram] webhook_url must be the public https"),
        ({"webhook_url": PUBLIC_URL}, "[telegram] webhook mode needs a secret"),
        ({"webhook_url": PUBLIC_URL, "webhook_secret": "short"}, "[telegram] webhook mode needs"),
        ({"webhook_url": PUBLIC_URL, "webhook_secret": "x" * 16 + ":"}, "[telegram] webhook mode"),
        (
            {"webhook_url": PUBLIC_URL, "webhook_secret": SECRET, "webhook_listen": "8443"},
            "host:port",
        ),
        (
            {"webhook_url": PUBLIC_URL, "webhook_secret": SECRET, "webhook_listen": "host:8443"},
            '[telegram] webhook_listen must be "host:port" with an IP address',
        ),
        (
            {"webhook_url": PUBLIC_URL, "webhook_secret": SECRET, "webhook_listen": "::1:99999"},
            "[telegram] webhook_listen must be",
        ),
        ({"webhook_listen": "0.0.0.0:8443"}, "[telegram] webhook_listen needs webhook_url"),
        ({"webhook_secret": SECRET}, "[telegram] webhook_secret needs webhook_url"),
    ],
)
def test_wrong_webhook_settings_are_a_clear_error_even_without_a_token(
    table: dict[str, Any], message: str
) -> None:
    for extra in ({}, {"token": "1:x"}):
        with pytest.raises(ConfigError) as caught:
            telegram_settings({**table, **extra}, {})
        assert message in str(caught.value)
        assert SECRET not in str(caught.value)
