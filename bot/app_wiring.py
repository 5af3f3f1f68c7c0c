"""The parts of the composition root that need no adapter: the command service (with its
pictures and live messages), the sender as every process builds it (the all-in-one bot,
`run --role sender`, `deliveries send`) and the all-in-one bot's poll output.

bot/app.py opens the notifiers and the picture renderer and hands them in, so this module imports
no adapter (the import-linter contracts allow that in bot/app.py alone).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.config import Config, section
from bot.metrics import NO_METRICS, Metrics, MetricsConfig
from bot.pictures.config import PicturesConfig
from bot.ports import Backend, Notifier, SendBudget

if TYPE_CHECKING:
    from bot.commands import CommandService
    from bot.delivery.config import DeliveryConfig
    from bot.delivery.sender import Sender
    from bot.pictures.service import PictureService
    from bot.poll import PollOutput
    from bot.poll_config import PollConfig
    from bot.poll_report import SourceReport

# Part of the composition root: its log lines go out under its name, as operators know them.
log = logging.getLogger("bot.app")


def command_service(
    config: Config, storage: Backend, pictures: PictureService | None, metrics: Metrics
) -> CommandService:
    """The commands every chat adapter runs, with their rate limit, title aliases, pictures
    (/title's chart) and live messages (/live)."""
    from bot.commands import CommandService
    from bot.commands.aliases import load_aliases
    from bot.commands.ratelimit import CommandRateLimiter

    limits = section(config, "commands")
    return CommandService(
        storage,
        storage.subscriptions,
        rate_limiter=CommandRateLimiter(
            burst=int(limits.get("rate_burst", 5)),
            per_seconds=float(limits.get("rate_seconds", 10.0)),
        ),
        aliases=load_aliases(config),  # a bad alias file stops the start, named
        pictures=pictures,
        live=storage.live,
        metrics=metrics,
    )


@dataclass(frozen=True, slots=True)
class RunSettings:
    """The sections a process that polls or sends reads before anything runs, so that a typo in
    any of them fails at once, named."""

    poll: PollConfig
    delivery: DeliveryConfig
    pictures: PicturesConfig
    metrics: MetricsConfig

    @classmethod
    def load(cls, config: Config) -> RunSettings:
        """Raises ConfigError."""
        from bot.delivery.config import DeliveryConfig
        from bot.poll_config import load_poll_config

        return cls(
            load_poll_config(config),
            DeliveryConfig.from_table(section(config, "delivery")),
            PicturesConfig.from_table(section(config, "pictures")),
            MetricsConfig.from_table(section(config, "metrics")),
        )

    def sender(
        self,
        pictures: PictureService | None,
        metrics: Metrics = NO_METRICS,
        budget: SendBudget | None = None,
    ) -> SenderSettings:
        return SenderSettings(self.delivery, self.poll.catchup_max_age, pictures, metrics, budget)


@dataclass(frozen=True, slots=True)
class SenderSettings:
    """What a sender is built with besides its store and notifiers."""

    delivery: DeliveryConfig
    # The poller's [alerts] catchup_max_age: older events fold into one summary per chat.
    catchup_max_age: timedelta | None
    pictures: PictureService | None = None  # the bursts' cards (None: text only)
    metrics: Metrics = NO_METRICS
    # The pacing shared with other sender processes ([delivery] shared_budget; None: alone).
    budget: SendBudget | None = None


def backend_sender(
    storage: Backend, notifiers: Sequence[Notifier], settings: SenderSettings
) -> Sender:
    """The delivery engine over one backend: its outbox's rows and its live messages, sent
    through `notifiers`."""
    from bot.delivery.sender import Sender

    return Sender(
        storage.outbox,
        notifiers,
        storage.subscriptions,
        settings.delivery,
        catchup_max_age=settings.catchup_max_age,
        pictures=settings.pictures,
        live=storage.live,
        charts=storage,
        metrics=settings.metrics,
        budget=settings.budget,
    )


def bot_poll_output(
    notifiers: Sequence[Notifier], admin_chat: str | None, sender: Sender
) -> PollOutput:
    """The poll's news in the all-in-one bot: the deliveries of new events are queued as they
    are stored (one unit of work); the sinks only wake the sender. Old events (a catch-up) fold
    into one summary per chat when the sender builds its digest."""
    from bot.catchup import CatchupSummary
    from bot.poll import PollOutput, operator_sink

    async def catchup(summary: CatchupSummary) -> None:
        sender.wake()

    return PollOutput(
        events=sender.on_new_events,
        catchup=catchup,
        operator=operator_sink(admin_chat, notifiers),
    )


async def report_failed_sources(report: SourceReport) -> None:
    """The poll's report in the bot's log: one short line when a source failed."""
    problem = report.problem_line()
    if problem is not None:  # the details are logged at -v
        log.warning("%s", problem)
