"""Composition root: builds storage, adapters and the pipeline, and runs them in one event loop.

The only modules of the core allowed to import concrete adapters (storage/, handlers/): this one
and bot.app_cli (its one-shot commands).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, TextIO

from bot.app_wiring import (
    RunSettings,
    SenderSettings,
    backend_sender,
    bot_poll_output,
    command_service,
    report_failed_sources,
)
from bot.config import Config, ConfigError, section
from bot.metrics import NO_METRICS, Metrics, MetricsConfig
from bot.pictures.config import PicturesConfig
from bot.ports import Backend, Notifier, Outbox, Storage
from bot.roles import Role
from storage import (
    copy_database,
    open_backend,
    open_send_budget,
    poller_lock,
    shared_between_processes,
)

if TYPE_CHECKING:
    from bot.commands import CommandService
    from bot.delivery.config import DeliveryConfig
    from bot.delivery.lifecycle import DestinationLifecycle
    from bot.delivery.sender import Sender
    from bot.pictures.service import PictureService
    from bot.poll import PollOutput
    from bot.ports import SendBudget, SubscriptionStore
    from handlers.metrics import MetricsServer
    from handlers.runner import ChatAdapter

# The chat platforms, HTTP and the scheduler are imported by the functions that run them: the
# CLI's replay, import, status and deliveries commands only open the store, and should not pay
# for loading discord.py, python-telegram-bot and aiohttp at every start.

log = logging.getLogger(__name__)


async def open_storage_url(url: str) -> Backend:
    """Open (and migrate) the backend a URL names: sqlite:///path.db, postgresql://…, memory://."""
    return await open_backend(url)


async def copy_storage(source_url: str, target_url: str) -> dict[str, int]:
    """Copy one deployment's database into another, empty one (`top10bot db copy`)."""
    return await copy_database(source_url, target_url)


@dataclass(frozen=True, slots=True)
class ChatLayer:
    """Commands, subscriptions, the outbox and the chat adapters, built from the config."""

    service: CommandService
    subscriptions: SubscriptionStore
    outbox: Outbox
    # What the adapters call when a chat is gone or moved (the sender calls the same).
    lifecycle: DestinationLifecycle
    adapters: list[ChatAdapter]
    # The backend itself: its live messages and the charts they show.
    storage: Backend
    pictures: PictureService | None = None  # /title's chart and the bursts' cards


async def build_chat_layer(
    config: Config,
    storage: Backend,
    *,
    environ: Mapping[str, str],
    lines: AsyncIterator[str] | None = None,
    out: TextIO | None = None,
    metrics: Metrics = NO_METRICS,
) -> ChatLayer:
    from bot.delivery.lifecycle import DestinationLifecycle
    from handlers.runner import build_adapters

    subscriptions = storage.subscriptions
    outbox = storage.outbox
    lifecycle = DestinationLifecycle(subscriptions, outbox)
    pictures_config = PicturesConfig.from_table(section(config, "pictures"))
    pictures = build_pictures(storage, pictures_config)
    service = command_service(config, storage, pictures, metrics)
    adapters = build_adapters(
        service,
        config.sections,
        lifecycle,
        environ=environ,
        console_enabled=config.console.enabled,
        lines=lines,
        out=out,
        picture_dir=pictures_config.console_directory(),
        metrics=metrics,
    )
    return ChatLayer(service, subscriptions, outbox, lifecycle, adapters, storage, pictures)


def build_pictures(storage: Storage, config: PicturesConfig) -> PictureService | None:
    """The pictures of /title and of the bursts, drawn by matplotlib (None when turned off)."""
    if not config.enabled:
        return None
    from bot.pictures.service import PictureService
    from handlers.pictures.renderer import MatplotlibRenderer

    return PictureService(storage, MatplotlibRenderer(), cache_size=config.cache_size)


async def run_bot(
    config: Config,
    *,
    role: Role = Role.ALL,
    lines: AsyncIterator[str] | None = None,
    out: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
    poll: bool | None = None,
) -> int:
    """`top10bot run`: what `role` asks for (bot/roles.py; `all`: every enabled adapter, the
    sender and the polling in one loop), until interrupted; the end of stdin ends the console,
    not the bot.

    With a source enabled, the sources are polled too (a catch-up at start, then on schedule).
    `poll` None = poll unless `lines` script the session: a scripted session without polling
    (tests and demos) ends when its lines do.
    """
    from handlers.runner import run_adapters
    from handlers.scheduler import check_schedules

    env = os.environ if environ is None else environ
    try:
        settings = RunSettings.load(config)  # a typo fails before anything runs
        if role.polls:
            check_schedules(config)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    problem = _role_problem(config, role, env)
    if problem is not None:
        print(f"error: --role {role}: {problem}", file=sys.stderr)
        return 2
    storage = await open_storage_url(config.storage.url)
    metrics_server: MetricsServer | None = None
    try:
        try:  # every role serves its own metrics
            metrics, metrics_server = await start_metrics(settings.metrics, storage)
        except OSError as exc:
            print(f"error: [metrics] listen {settings.metrics.listen}: {exc}", file=sys.stderr)
            return 2
        if role is Role.POLLER:
            await _run_poller(config, storage, settings.poll.admin_chat, env, metrics)
            return 0
        if role is Role.SENDER:
            pictures = build_pictures(storage, settings.pictures)
            budget = open_send_budget(storage, settings.delivery.shared_budget)
            return await _run_sender(
                config, storage, settings.sender(pictures, metrics, budget), env
            )
        try:  # a bad [discord] / [telegram] value fails here, with its key named
            chat = await build_chat_layer(
                config, storage, environ=env, lines=lines, out=out, metrics=metrics
            )
        except ConfigError as exc:
            print(f"config error: {exc}", file=sys.stderr)
            return 2
        if not chat.adapters:
            log.error("nothing to run: enable the console or configure a chat platform token")
            return 2
        # Adapters first, so they are connecting while the start-up catch-up fetches.
        adapters = asyncio.create_task(run_adapters(chat.adapters), name="adapters")
        background: list[asyncio.Task[None]] = []
        polls = False
        if role is Role.ALL:  # a gateway neither sends alerts nor polls
            sender = build_sender(
                chat,
                settings.delivery,
                settings.poll.catchup_max_age,
                metrics,
                open_send_budget(storage, settings.delivery.shared_budget),
            )
            background.append(asyncio.create_task(sender.run(), name="delivery"))
            polls = poll or (poll is None and lines is None)
            if polls:
                notifiers = [adapter.notifier for adapter in chat.adapters]
                output = bot_poll_output(notifiers, settings.poll.admin_chat, sender)
                polling = _poll_forever(config, storage, output, metrics)
                background.append(asyncio.create_task(polling))
        try:
            await adapters
            if polls or lines is None:
                # Only a scripted session ends with its adapters. The end of stdin (Docker,
                # systemd, `< /dev/null`) ends the console, not the bot: the sender still
                # delivers what `poll --once` from cron queues, and a service manager would
                # restart a bot that exits, in a loop.
                log.info("every chat adapter has ended; the bot runs on until interrupted")
                await asyncio.Event().wait()
        finally:
            for task in (adapters, *background):
                task.cancel()
            await asyncio.gather(adapters, *background, return_exceptions=True)
        return 0
    finally:
        if metrics_server is not None:
            await metrics_server.stop()
        await storage.close()


async def start_metrics(
    config: MetricsConfig, storage: Backend
) -> tuple[Metrics, MetricsServer | None]:
    """`[metrics] listen`: Prometheus metrics and /healthz on that address; else nothing.
    Raises OSError when the address cannot be bound."""
    if config.listen is None:
        return NO_METRICS, None
    from handlers.metrics import MetricsServer, PrometheusMetrics

    metrics = PrometheusMetrics()
    server = MetricsServer(
        config.listen, metrics, storage, storage.outbox, health_timeout=config.health_timeout
    )
    await server.start()
    return metrics, server


def _role_problem(config: Config, role: Role, environ: Mapping[str, str]) -> str | None:
    """Why this process cannot take `role` with this config, if it cannot."""
    from handlers.notifiers import platforms_with_token

    if role is Role.ALL:
        return None
    if not shared_between_processes(config.storage.url):
        return (
            f"the store {config.storage.url.partition('://')[0]}:// lives inside one process;"
            " processes sharing the work need a database they all reach ([storage] url ="
            ' "postgresql://…", or a SQLite file on one host)'
        )
    if role is Role.SENDER and not platforms_with_token(config.sections, environ):
        return (
            "no chat platform to send through: set TELEGRAM_TOKEN or DISCORD_TOKEN (or a token"
            " in [telegram] / [discord])"
        )
    return None


def build_sender(
    chat: ChatLayer,
    config: DeliveryConfig,
    catchup_max_age: timedelta | None,
    metrics: Metrics = NO_METRICS,
    budget: SendBudget | None = None,
) -> Sender:
    """The delivery engine: it sends the outbox's rows through the chat adapters' notifiers."""
    notifiers = [adapter.notifier for adapter in chat.adapters]
    settings = SenderSettings(config, catchup_max_age, chat.pictures, metrics, budget)
    sender = backend_sender(chat.storage, notifiers, settings)
    # A live message started (or asked for again) is posted now, not at the next look.
    chat.service.on_live_change = sender.wake
    return sender


async def open_delivery_outbox(storage: Backend) -> Outbox:
    """The outbox of a backend, for `top10bot status` and `top10bot deliveries` (sends
    nothing)."""
    return storage.outbox


async def _poll_forever(
    config: Config, storage: Storage, output: PollOutput, metrics: Metrics = NO_METRICS
) -> None:
    """Live sources → the pipeline → the outbox, whenever this process holds the store's poller
    lock (another process may be polling: this one stands by). Source failures go to the admin
    chat. Until cancelled."""
    from handlers.scheduler import poll_when_leading

    lock = poller_lock(config.storage.url)
    await poll_when_leading(
        config, storage, lock, output=output, on_report=report_failed_sources, metrics=metrics
    )


async def _run_poller(
    config: Config,
    storage: Storage,
    admin_chat: str | None,
    environ: Mapping[str, str],
    metrics: Metrics,
) -> None:
    """`run --role poller`: polling only. The senders learn of new deliveries from the outbox;
    operator alerts go to the admin chat through that platform's notifier alone."""
    from bot.poll import PollOutput, operator_sink
    from bot.poll_config import load_poll_config, resolve_source_names
    from handlers.notifiers import open_notifiers

    if not resolve_source_names(load_poll_config(config), None):
        log.warning("poller: no source is enabled; this process polls nothing")
        await asyncio.Event().wait()
    platform = (admin_chat or "console").partition(":")[0]
    async with contextlib.AsyncExitStack() as stack:
        notifiers: list[Notifier] = []
        if platform != "console":
            try:
                notifiers = await stack.enter_async_context(
                    open_notifiers(config.sections, environ, only={platform}, metrics=metrics)
                )
            except Exception as exc:  # polling goes on; alerts fall back to stderr
                log.error("poller: admin chat %s unreachable (%s); alerts to stderr", platform, exc)
        output = PollOutput(operator=operator_sink(admin_chat, notifiers))
        await _poll_forever(config, storage, output, metrics)


async def _run_sender(
    config: Config,
    storage: Backend,
    settings: SenderSettings,
    environ: Mapping[str, str],
) -> int:
    """`run --role sender`: the outbox's sender alone, through REST-only notifiers."""
    from handlers.notifiers import open_notifiers

    async with contextlib.AsyncExitStack() as stack:
        try:
            notifiers = await stack.enter_async_context(
                open_notifiers(config.sections, environ, metrics=settings.metrics)
            )
        except Exception as exc:  # a token refused, a platform unreachable: restart later
            log.debug("sender: opening the notifiers failed", exc_info=True)
            print(f"error: sender: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 2
        await backend_sender(storage, notifiers, settings).run()
    return 0
