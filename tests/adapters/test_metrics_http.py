"""/metrics over real HTTP after a real poll (a local FlixPatrol), a fan-out through the real
python-telegram-bot against the fake Bot API (flood control and a blocked chat included; 429s
counted by the client the adapter builds) and a few commands: every sample agrees with what the
fakes, the store and the poll report counted."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from telegram import Bot

from bot.commands import CommandService
from bot.commands.registry import Caller
from bot.delivery.sender import Sender
from bot.events import Event
from bot.poll import Poller, PollOutput
from bot.poll_config import load_poll_config
from bot.subscriptions import Destination, SubscriptionSpec
from handlers.http import open_http_client
from handlers.metrics import MetricsServer, PrometheusMetrics
from handlers.telegram.notifier import counted_request
from tests.adapters.sender_rig import fast_config, open_rig, running, telegram_sender
from tests.adapters.test_sender_errors import TELEGRAM_FAST
from tests.fakes import FakeTelegram
from tests.fakes.source_server import SourceServer
from tests.integration.test_fetch_flixpatrol import NOW, TITLES, built_page, make_config
from tests.metrics_scrape import get, parse, sample

BLOCKED_CHAT = 999


def publish_pages(source: SourceServer) -> None:
    """Four days of a country's Movies list; the 8th is missing, so its page is rejected."""
    for offset, day in enumerate(date(2026, 3, d) for d in (7, 8, 9, 10)):
        if day != date(2026, 3, 8):
            source.put(
                f"/top10/netflix/netherlands/{day.isoformat()}/",
                built_page(day, TITLES[offset : offset + 10]),
                content_type="text/html",
            )


async def test_metrics_count_a_poll_its_fan_out_and_commands(
    tmp_path: Path, make_fake_telegram: Any
) -> None:
    # The fake allows 30 messages per 0.5 s; the sender believes in twenty times more.
    fake: FakeTelegram = await make_fake_telegram(time_scale=0.5, per_chat_per_s=None)
    fake.block_chat(BLOCKED_CHAT)
    chats = [*range(1, 121), BLOCKED_CHAT]
    metrics = PrometheusMetrics()
    new_events: list[Event] = []

    async def collect(events: list[Event]) -> None:
        new_events.extend(events)

    async with (
        SourceServer() as source,
        open_http_client() as http,
        open_rig(tmp_path) as rig,
        Bot(
            fake.token,
            base_url=fake.base_url,
            base_file_url=fake.base_file_url,
            request=counted_request(metrics, read_timeout=5.0),
        ) as bot,
    ):
        server = MetricsServer("127.0.0.1:0", metrics, rig.storage, rig.outbox, health_timeout=5)
        await server.start()
        try:
            spec = SubscriptionSpec(service="netflix", region="NL", details=True)
            await rig.subscribe("telegram", chats, spec)
            publish_pages(source)
            config = make_config(tmp_path, source, world=False, backfill_days=4, lists=["Movies"])
            poller = Poller(
                rig.storage,
                load_poll_config(config),
                config.diff,
                http=http,
                output=PollOutput(events=collect),
                clock=lambda: NOW,
                metrics=metrics,
            )
            report = await poller.poll("flixpatrol")

            sender_config = fast_config(**{**TELEGRAM_FAST, "telegram_per_second": 600.0})
            sender = Sender(
                rig.outbox,
                [telegram_sender(bot)],
                rig.subscriptions,
                sender_config,
                catchup_max_age=None,
                metrics=metrics,
            )
            async with running(sender):
                counts = await rig.settled(60)

            service = CommandService(rig.storage, rig.subscriptions, metrics=metrics)
            caller = Caller("telegram", "7", Destination("telegram", "1"), private=True)
            for text in ("NL movies", "NL", "nowhere-land"):
                await service.execute_text("top10", text, caller)
            await service.execute_text("help", "", caller)

            status, body = await asyncio.to_thread(get, server.port, "/metrics")
        finally:
            await server.stop()

    assert status == 200
    samples = parse(body)
    assert (report.accepted, report.rejected) == (3, 1)
    charts = {
        outcome: sample(samples, "top10bot_charts_total", source="flixpatrol", outcome=outcome)
        for outcome in ("accepted", "rejected")
    }
    assert charts == {"accepted": 3, "rejected": 1}
    by_type = Counter(event.type.value for event in new_events)
    assert len(by_type) > 1 and report.events == len(new_events)
    assert {
        event_type: sample(samples, "top10bot_events_total", type=event_type)
        for event_type in by_type
    } == by_type

    # The fan-out: every delivery sent but the blocked chat's, some flood control on the way.
    assert counts.dead > 0 and counts.sent > len(chats) and counts.pending == counts.failed == 0
    assert fake.rate_limited > 0
    assert sample(samples, "top10bot_rate_limited_total", platform="telegram") == fake.rate_limited
    assert sample(samples, "top10bot_deliveries_sent_total", platform="telegram") == counts.sent
    assert sample(samples, "top10bot_deliveries_dead_total", platform="telegram") == counts.dead
    attempts = sum(1 for request in fake.requests if request.method == "sendMessage")
    assert sample(samples, "top10bot_send_seconds_count", platform="telegram") == attempts
    assert attempts == len(fake.sent) + fake.rate_limited + 1  # + the blocked chat's refusal
    # The backlog, read from the store at scrape time: what every process sees. Sent rows are
    # the sender's counter above (a gauge of them would scan the whole history at each scrape).
    for status_name in ("pending", "failed", "dead"):
        stored = getattr(counts, status_name)
        assert sample(samples, "top10bot_deliveries", status=status_name) == stored
    assert sample(samples, "top10bot_deliveries", status="sent") is None
    assert sample(samples, "top10bot_store_up") == 1

    assert sample(samples, "top10bot_command_seconds_count", command="top10") == 3
    assert sample(samples, "top10bot_command_seconds_count", command="help") == 1
    assert sample(samples, "top10bot_command_seconds_count", command="title") is None
    lag_ticks = sample(samples, "top10bot_event_loop_lag_seconds_count")
    assert lag_ticks is not None and lag_ticks > 0
