"""Polling on a schedule: APScheduler 3 runs the core's `Poller` inside the bot's one event loop.

- One job per enabled source, on its cron expressions (UTC, crontab syntax; several expressions
  are OR-ed), plus an immediate run at start: that run is the catch-up after downtime.
- `max_instances=1`: a poll still running when its next time comes is not started twice.
  `coalesce`: several missed run times (the loop was blocked, the laptop slept) run once.
  A generous misfire grace: a run a few hours late is still worth doing, and polls are idempotent.
- The scheduler reads the wall clock (`datetime.now`) itself; tests move it with time-machine and
  call `wake()` instead of waiting. The `clock` given here dates the start-up catch-up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Final

# APScheduler 3 ships no type information (pyproject's mypy overrides do not list it).
from apscheduler.job import Job
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger

from bot.config import Config, ConfigError
from bot.poll import Clock, Poller, PollOutput, utc_now
from bot.poll_config import load_poll_config, resolve_source_names
from bot.poll_report import SourceReport
from bot.ports import Storage
from handlers.http import AiohttpClient, create_session

log = logging.getLogger(__name__)

# Seconds a run may start late and still run: Netflix polls are six hours apart, so a run up to
# three hours late (a long catch-up, a suspended host) is still the right run, never a double one.
MISFIRE_GRACE_SECONDS: Final = 3 * 3600

ReportHook = Callable[[SourceReport], Awaitable[None]]


def cron_trigger(expressions: Sequence[str], *, source: str = "") -> BaseTrigger | None:
    """Crontab expressions (UTC) → one trigger; None for an empty schedule (start-up run only)."""
    triggers: list[BaseTrigger] = []
    for expression in expressions:
        try:
            triggers.append(CronTrigger.from_crontab(expression, timezone=UTC))
        except ValueError as exc:
            where = f"[sources.{source}] schedule" if source else "schedule"
            raise ConfigError(
                f"{where}: {expression!r} is not a crontab expression "
                f'("minute hour day month weekday", e.g. "0 14 * * *"): {exc}'
            ) from None
    if not triggers:
        return None
    return triggers[0] if len(triggers) == 1 else OrTrigger(triggers)


def next_fire_time(expressions: Sequence[str], now: datetime) -> datetime | None:
    """When a schedule fires next after `now` (for `status`, which runs outside the bot)."""
    trigger = cron_trigger(expressions)
    if trigger is None:
        return None
    fire: datetime | None = trigger.get_next_fire_time(None, now)
    return fire


class PollScheduler:
    """Runs `Poller.poll(name)` for each source on its schedule, in the running event loop."""

    def __init__(
        self,
        poller: Poller,
        schedules: Mapping[str, Sequence[str]],
        *,
        catch_up_on_start: bool = True,
        clock: Clock = utc_now,
        misfire_grace_seconds: int = MISFIRE_GRACE_SECONDS,
        on_report: ReportHook | None = None,
    ) -> None:
        self._poller = poller
        self._triggers = {
            name: cron_trigger(expressions, source=name) for name, expressions in schedules.items()
        }
        self._catch_up = catch_up_on_start
        self._clock = clock
        self._on_report = on_report
        self._scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": misfire_grace_seconds,
            },
        )
        self._running: set[asyncio.Task[object]] = set()
        self._finished = 0
        self._changed = asyncio.Condition()

    @property
    def finished_runs(self) -> int:
        return self._finished

    def start(self) -> None:
        """Add the jobs and start (must be called with the event loop running)."""
        now = self._clock()
        for name, trigger in self._triggers.items():
            job_id = f"poll:{name}"
            if trigger is None:
                if self._catch_up:
                    self._scheduler.add_job(
                        self._run, "date", run_date=now, args=[name], id=job_id, name=job_id
                    )
                else:
                    log.warning("%s has an empty schedule: it is polled only by `poll`", name)
                continue
            self._scheduler.add_job(
                self._run,
                trigger,
                args=[name],
                id=job_id,
                name=job_id,
                replace_existing=True,
                # The first run at start-up is the catch-up after downtime; then the schedule.
                next_run_time=now if self._catch_up else trigger.get_next_fire_time(None, now),
            )
        self._scheduler.start()
        for name, when in self.next_runs().items():
            log.info("%s: next poll %s", name, when.isoformat() if when else "never")

    def wake(self) -> None:
        """Look for due jobs now (the scheduler otherwise sleeps until the next run time)."""
        self._scheduler.wakeup()

    def next_runs(self) -> dict[str, datetime | None]:
        runs: dict[str, datetime | None] = {name: None for name in self._triggers}
        for job in self._jobs():
            name = job.id.removeprefix("poll:")
            runs[name] = job.next_run_time
        return runs

    def _jobs(self) -> list[Job]:
        jobs: list[Job] = self._scheduler.get_jobs()
        return jobs

    async def _run(self, name: str) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            report = await self._poller.poll(name)
            if self._on_report is not None:
                await self._on_report(report)
        finally:
            if task is not None:
                self._running.discard(task)
            async with self._changed:
                self._finished += 1
                self._changed.notify_all()

    async def wait_for_runs(self, count: int) -> None:
        """Until `count` runs have finished in total (tests and the CLI use it)."""
        async with self._changed:
            await self._changed.wait_for(lambda: self._finished >= count)

    async def stop(self, *, grace_seconds: float = 30.0) -> None:
        """Stop starting runs, let a running poll finish (up to `grace_seconds`), shut down."""
        if not self._scheduler.running:
            return
        self._scheduler.pause()
        if self._running:
            _, pending = await asyncio.wait(set(self._running), timeout=grace_seconds)
            for task in pending:
                task.cancel()
        self._scheduler.shutdown(wait=False)
        # AsyncIOScheduler.shutdown runs on the loop's next turn: let it.
        await asyncio.sleep(0)


class PollingService:
    """Polling as the bot runs it: one HTTP session, one poller, one scheduler."""

    def __init__(self, scheduler: PollScheduler, http: AiohttpClient) -> None:
        self.scheduler = scheduler
        self._http = http

    async def stop(self) -> None:
        await self.scheduler.stop()
        await self._http.close()


async def start_polling(
    config: Config,
    storage: Storage,
    *,
    output: PollOutput,
    source: str | None = None,
    on_report: ReportHook | None = None,
    clock: Clock = utc_now,
) -> PollingService | None:
    """Start polling the enabled sources (catch-up first, then on schedule) in the running loop.

    None when no source is enabled. Raises ConfigError for a bad `[sources.*]` table.
    """
    poll_config = load_poll_config(config)
    names = resolve_source_names(poll_config, source)
    if not names:
        log.info("no source is enabled: not polling")
        return None
    http = AiohttpClient(create_session())
    poller = Poller(storage, poll_config, config.diff, http=http, output=output, clock=clock)
    scheduler = PollScheduler(
        poller, poll_config.schedules(names), on_report=on_report, clock=clock
    )
    try:
        scheduler.start()
    except BaseException:
        await http.close()
        raise
    return PollingService(scheduler, http)


async def poll_on_schedule(
    config: Config,
    storage: Storage,
    *,
    source: str | None = None,
    output: PollOutput,
    on_report: ReportHook | None = None,
) -> int:
    """`top10bot poll` without `--once`: catch up, then poll on the schedule until interrupted."""
    polling = await start_polling(
        config, storage, output=output, source=source, on_report=on_report
    )
    if polling is None:
        log.error("no source is enabled: nothing to poll")
        return 2
    try:
        await asyncio.Event().wait()  # until cancelled (Ctrl-C)
    finally:
        await polling.stop()
    return 0
