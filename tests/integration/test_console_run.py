"""`top10bot run` on the console (real SQLite), and how adapters are chosen and kept running."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import AsyncIterator, Iterable
from datetime import date
from pathlib import Path

import pytest

from bot.app import build_chat_layer, build_sender, run_bot
from bot.commands import CommandService
from bot.config import Config, ConfigError, ConsoleConfig, StorageConfig
from bot.delivery.config import DeliveryConfig
from bot.delivery.lifecycle import DestinationLifecycle
from bot.events import Event, EventType
from bot.models import ChartKey
from bot.ports import Batch
from handlers.console import ConsoleAdapter
from handlers.discord.adapter import DiscordAdapter
from handlers.runner import build_adapters, run_adapters, supervise
from handlers.telegram.adapter import TelegramAdapter
from storage import open_backend
from storage.memory import MemoryBackend
from storage.memory.outbox import MemoryOutbox
from storage.memory.subscriptions import MemorySubscriptionStore
from tests.chat_fixtures import load_chat_history
from tests.integration.postgres_server import fresh_postgres_url


async def typed(lines: Iterable[str]) -> AsyncIterator[str]:
    for line in lines:
        yield line + "\n"


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    sqlite_url = f"sqlite:///{tmp_path / 'top10bot.db'}"
    url = sqlite_url if request.param == "sqlite" else await fresh_postgres_url()
    storage = await open_backend(url)
    try:
        await load_chat_history(storage)
    finally:
        await storage.close()
    return url


async def test_run_answers_commands_on_the_console(database: str) -> None:
    out = io.StringIO()
    config = Config(storage=StorageConfig(url=database))
    commands = ["/top10 KR", "/subscribe KR TV", "/subscriptions", "", "/nonsense"]
    code = await run_bot(config, lines=typed(commands), out=out, environ={})
    assert code == 0
    text = out.getvalue().split("\n")
    assert text[0] == "top10bot console — type /help, or /top10 KR"
    assert text[1] == "🇰🇷 Top 10 — Netflix · South Korea · TV"
    assert text[2] == "1. Hellbound: Season 1 🆕 · 1 wk"
    assert "Subscribed #1 — alerts go to the console" in text
    assert "#1 South Korea · TV — headlines" in text
    assert "⚠ Unknown command /nonsense" in text


async def test_subscriptions_persist_and_alerts_print(database: str) -> None:
    out = io.StringIO()
    config = Config(storage=StorageConfig(url=database))
    await run_bot(config, lines=typed(["/subscribe Squid Game"]), out=out, environ={})

    storage = await open_backend(database)
    try:
        printed = io.StringIO()
        chat = await build_chat_layer(config, storage, environ={}, lines=typed([]), out=printed)
        (console,) = chat.adapters
        assert isinstance(console, ConsoleAdapter)
        squid = Event(
            EventType.NEW_NUMBER_ONE,
            ChartKey("netflix", "netflix", "DE", "TV", "weekly"),
            date(2021, 11, 28),
            "squid game|squid game season 1",
            "Squid Game",
            "Squid Game: Season 1",
            rank=1,
            previous_rank=3,
        )
        other = Event(
            EventType.ENTERED,
            ChartKey("netflix", "netflix", "DE", "TV", "weekly"),
            date(2021, 11, 28),
            "arcane|arcane season 1",
            "Arcane",
            "Arcane: Season 1",
            rank=4,
        )
        # Stored as a live poll stores them: the deliveries they owe are queued with them.
        await storage.save_batch(Batch(events=[other, squid]), queue_deliveries=True)
        sender = build_sender(chat, DeliveryConfig(), catchup_max_age=None)
        await sender.run(until_idle=True)
    finally:
        await storage.close()
    assert sender.stats.deliveries_sent == 1
    assert printed.getvalue() == (
        "[week ending 2021-11-28] Netflix · Germany · TV: "
        "Squid Game: Season 1 is the new #1 (up from #3)\n"
    )


def test_missing_tokens_disable_platforms_with_one_line_each(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    service = build_chat_layer_service()
    adapters = build_adapters(
        service, {}, lifecycle=lifecycle_of(service), environ={}, console_enabled=None
    )
    assert [type(a) for a in adapters] == [ConsoleAdapter]
    disabled = [r.getMessage() for r in caplog.records if "disabled" in r.getMessage()]
    assert disabled == [
        "discord: disabled (no DISCORD_TOKEN and no [discord] token)",
        "telegram: disabled (no TELEGRAM_TOKEN and no [telegram] token)",
    ]


def test_tokens_enable_platforms_and_the_console_steps_aside() -> None:
    service = build_chat_layer_service()
    environ = {"DISCORD_TOKEN": "discord-token-xxxxxxxx", "TELEGRAM_TOKEN": "1:telegram-xxxxxxxx"}
    adapters = build_adapters(
        service, {}, lifecycle=lifecycle_of(service), environ=environ, console_enabled=None
    )
    assert [type(a) for a in adapters] == [DiscordAdapter, TelegramAdapter]
    forced = build_adapters(
        service, {}, lifecycle=lifecycle_of(service), environ=environ, console_enabled=True
    )
    assert [type(a) for a in forced][-1] is ConsoleAdapter
    from_config = build_adapters(
        service,
        {"telegram": {"token": "1:config-xxxxxxxx", "base_url": "http://127.0.0.1:9/bot"}},
        lifecycle=lifecycle_of(service),
        environ={},
        console_enabled=False,
    )
    assert [type(a) for a in from_config] == [TelegramAdapter]


def test_no_adapter_at_all_is_an_error(tmp_path: Path) -> None:
    config = Config(
        storage=StorageConfig(url=f"sqlite:///{tmp_path / 'x.db'}"),
        console=ConsoleConfig(enabled=False),
    )
    assert asyncio.run(run_bot(config, environ={})) == 2


class FlakyAdapter:
    platform = "flaky"
    fatal_errors: tuple[type[BaseException], ...] = (PermissionError,)

    def __init__(self, outcomes: list[BaseException | None]) -> None:
        self.outcomes = outcomes
        self.runs = 0

    async def run(self) -> None:
        self.runs += 1
        outcome = self.outcomes.pop(0)
        if outcome is not None:
            raise outcome


async def test_supervisor_restarts_a_failing_adapter_with_growing_delays() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    adapter = FlakyAdapter([OSError("gateway closed"), OSError("again"), None])
    await supervise(adapter, delays=(1.0, 5.0), sleep=sleep)
    assert adapter.runs == 3 and waits == [1.0, 5.0]


async def test_supervisor_gives_up_on_a_rejected_token(caplog: pytest.LogCaptureFixture) -> None:
    adapter = FlakyAdapter([PermissionError("401 Unauthorized"), None])
    await supervise(adapter, delays=(0.0,))
    assert adapter.runs == 1
    assert "flaky: disabled, the platform refused the token" in caplog.text


class SteadyAdapter(FlakyAdapter):
    platform = "steady"

    def __init__(self) -> None:
        super().__init__([])
        self.release = asyncio.Event()
        self.finished = False

    async def run(self) -> None:
        self.runs += 1
        await self.release.wait()
        self.finished = True


async def test_one_failing_adapter_does_not_stop_the_others() -> None:
    steady = SteadyAdapter()
    broken = FlakyAdapter([PermissionError("bad token")])
    running = asyncio.create_task(run_adapters([broken, steady]))
    for _ in range(10):  # let both supervised tasks take a few turns
        await asyncio.sleep(0)
    assert broken.runs == 1 and steady.runs == 1
    assert not running.done()  # the broken one is off, the steady one still serves
    steady.release.set()
    await running
    assert steady.finished


def build_chat_layer_service() -> CommandService:
    return CommandService(MemoryBackend(), MemorySubscriptionStore())


def lifecycle_of(service: CommandService) -> DestinationLifecycle:
    assert isinstance(service.subscriptions, MemorySubscriptionStore)
    return DestinationLifecycle(service.subscriptions, MemoryOutbox(service.subscriptions))


async def test_a_button_under_title_is_a_command_the_console_can_type(database: str) -> None:
    storage = await open_backend(database)
    try:
        service = CommandService(storage, MemorySubscriptionStore())
        console = ConsoleAdapter(service, out=io.StringIO())
        card = await console.handle_line("/title squid game")
        assert card is not None
        (button_line,) = [line for line in card.split("\n") if line.startswith("[1] 🔔 Subscribe")]
        typed_command = button_line.removeprefix("[1] 🔔 Subscribe — ")
        answer = await console.handle_line(typed_command)
        await console.handle_line("/title squid game")
        pressed = await console.handle_line("1")  # the number presses the same button
    finally:
        await storage.close()
    assert answer is not None
    assert answer.split("\n")[:2] == [
        "Subscribed #1 — alerts go to the console",
        "Squid Game — headlines",
    ]
    assert pressed is not None and pressed.startswith("Already subscribed (#1)")


def test_bad_platform_settings_fail_with_their_key_name() -> None:
    service = build_chat_layer_service()
    with pytest.raises(ConfigError, match="guild_ids"):
        build_adapters(
            service,
            {"discord": {"token": "discord-token-xxxxxxxx", "guild_ids": ["my server"]}},
            lifecycle=lifecycle_of(service),
            environ={},
            console_enabled=False,
        )
    with pytest.raises(ConfigError, match="read_timeout"):
        build_adapters(
            service,
            {"telegram": {"token": "1:telegram-xxxxxxxx", "read_timeout": "soon"}},
            lifecycle=lifecycle_of(service),
            environ={},
            console_enabled=False,
        )


async def test_the_console_numbers_title_choices_and_a_number_picks_one() -> None:
    storage = MemoryBackend()
    await load_chat_history(storage)
    service = CommandService(storage, MemorySubscriptionStore())
    console = ConsoleAdapter(service, out=io.StringIO())
    question = await console.handle_line("/subscribe love")
    assert question is not None
    lines = question.split("\n")
    assert lines[:2] == [
        "⚠ Which title is 'love'?",
        "Nothing subscribed yet: pick the title you mean.",
    ]
    choices = [line for line in lines if line[:1] == "[" and line[1:2].isdigit()]
    assert 2 <= len(choices) <= 5
    assert choices[0].startswith("[1] ") and " — /subscribe title=~" in choices[0]
    assert "Type a number to choose, or the command after it." in lines
    (love_hard,) = [line for line in choices if line.split(" — ")[0].endswith("] Love Hard")]
    number = love_hard[1 : love_hard.index("]")]
    picked = await console.handle_line(number)
    assert picked is not None
    assert picked.split("\n")[:2] == [
        "Subscribed #1 — alerts go to the console",
        "Love Hard — headlines",
    ]
    # After an answer without buttons, a number is no choice.
    missing = await console.handle_line("7")
    assert missing == "⚠ No choice 7\nThe last answer offered no numbers; type a /command instead."
    for odd in ("²", "99999999999999999999", "٣"):
        answer = await console.handle_line(odd)
        assert answer is not None and not answer.startswith("⚠ Something went wrong"), odd
