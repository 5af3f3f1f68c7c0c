"""Polling on a schedule: APScheduler 3 runs the core's `Poller` inside the bot's one event loop.

- One job per enabled source, on its cron expressions (UTC, crontab syntax; several expressions
  are OR-ed), plus an immediate run at start: that run is the catch-up after downtime.
- Inside a source's publication windows (bot/poll_window.py) the job also fires every
  `window_interval`. After each poll inside a window the scheduler asks the source whether it is
  up to date (Netflix: the newest published week is stored); once it is, the window's fast polls
  stop until the window closes, and only the cron safety polls remain. The answer comes from
  the store, so a restart inside a window picks it up from its start-up poll.
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
from datetime import UTC, datetime, timedelta
from typing import Final

# APScheduler 3 ships no type information (pyproject's mypy overrides do not list it).
from apscheduler.job import Job
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger

from bot.config import Config, ConfigError
from bot.metrics import NO_METRICS, Metrics
from bot.poll import Clock, Poller, PollOutput, utc_now
from bot.poll_config import load_poll_config, resolve_source_names
from bot.poll_leader import PollerLock, poll_while_leading
from bot.poll_report import SourceReport
from bot.poll_window import PollTiming, current_window_close, next_window_poll
from bot.ports import Storage
from handlers.http import AiohttpClient, create_session

log = logging.getLogger(__name__)

# Seconds a run may start late and still run: Netflix polls are six hours apart, so a run up to
# three hours late (a long catch-up, a suspended host) is still the right run, never a double one.
MISFIRE_GRACE_SECONDS: Final = 3 * 3600

ReportHook = Callable[[SourceReport], Awaitable[None]]


class PollTrigger(BaseTrigger):  # type: ignore[misc]  # APScheduler 3 ships no type information
    """A source's cron safety polls OR-ed with the fast polls of its publication windows.

    `quiet_until` (set by the scheduler once the source is up to date inside a window) drops the
    fast polls before it; the cron polls always stay."""

    def __init__(self, timing: PollTiming, *, source: str = "") -> None:
        self.timing = timing
        self.cron = cron_trigger(timing.schedule, source=source)
        self.quiet_until: datetime | None = None

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        # After a run, the first fire time after it (APScheduler asks with runs due by `now`).
        earliest = now
        if previous_fire_time is not None:
            earliest = previous_fire_time + timedelta(microseconds=1)
        fires: list[datetime] = []
        if self.cron is not None:
            cron_fire: datetime | None = self.cron.get_next_fire_time(previous_fire_time, now)
            if cron_fire is not None:
                fires.append(cron_fire)
        window_fire = next_window_poll(
            self.timing.windows,
            self.timing.window_interval,
            earliest,
            quiet_until=self.quiet_until,
        )
        if window_fire is not None:
            fires.append(window_fire)
        return min(fires, default=None)

    def __str__(self) -> str:
        return f"poll[{', '.join(self.timing.schedule)}; {self.timing.describe_windows()}]"


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


def check_schedules(config: Config) -> None:
    """Raise ConfigError for a schedule of an enabled source that is no crontab expression, before
    a poller starts (a standby would only find out when it takes over)."""
    poll_config = load_poll_config(config)
    for name, timing in poll_config.timings().items():
        cron_trigger(timing.schedule, source=name)


def next_fire_time(timing: PollTiming, now: datetime) -> datetime | None:
    """When a source is polled next after `now` (for `status`, which runs outside the bot; it
    cannot know whether the current window is already satisfied, so it counts its fast polls)."""
    fire: datetime | None = PollTrigger(timing).get_next_fire_time(None, now)
    return fire


class PollScheduler:
    """Runs `Poller.poll(name)` for each source on its schedule, in the running event loop."""

    def __init__(
        self,
        poller: Poller,
        timings: Mapping[str, PollTiming],
        *,
        catch_up_on_start: bool = True,
        clock: Clock = utc_now,
        misfire_grace_seconds: int = MISFIRE_GRACE_SECONDS,
        on_report: ReportHook | None = None,
    ) -> None:
        self._poller = poller
        self._triggers = {
            name: PollTrigger(timing, source=name) for name, timing in timings.items()
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
            if trigger.get_next_fire_time(None, now) is None:
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
            await self._quiet_window_if_done(name)
            if self._on_report is not None:
                await self._on_report(report)
        finally:
            if task is not None:
                self._running.discard(task)
            async with self._changed:
                self._finished += 1
                self._changed.notify_all()

    async def _quiet_window_if_done(self, name: str) -> None:
        """Inside a publication window, stop the fast polls once the source is up to date."""
        trigger = self._triggers[name]
        now = self._clock()
        closes = current_window_close(trigger.timing.windows, now)
        if closes is None or (trigger.quiet_until is not None and trigger.quiet_until >= closes):
            return
        try:
            done = await self._poller.up_to_date(name)
        except Exception:  # the store failed: keep polling fast, the next poll asks again
            log.exception("%s: could not tell whether the window's data is in", name)
            return
        if not done:
            return
        trigger.quiet_until = closes
        log.info("%s is up to date: no fast polls until the window closes at %s", name, closes)
        job = self._scheduler.get_job(f"poll:{name}")
        if job is not None:
            next_run = trigger.get_next_fire_time(None, now)
            if next_run is None:
                job.remove()
            else:
                job.modify(next_run_time=next_run)

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
    metrics: Metrics = NO_METRICS,
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
    poller = Poller(
        storage, poll_config, config.diff, http=http, output=output, clock=clock, metrics=metrics
    )
    scheduler = PollScheduler(poller, poll_config.timings(names), on_report=on_report, clock=clock)
    try:
        scheduler.start()
    except BaseException:
        await http.close()
        raise
    return PollingService(scheduler, http)


async def poll_when_leading(
    config: Config,
    storage: Storage,
    lock: PollerLock,
    *,
    output: PollOutput,
    source: str | None = None,
    on_report: ReportHook | None = None,
    metrics: Metrics = NO_METRICS,
) -> None:
    """Poll (catch-up first, then on schedule) whenever this process holds the store's poller
    lock; stand by while another process holds it (bot/poll_leader.py). Until cancelled."""

    async def start() -> PollingService | None:
        return await start_polling(
            config, storage, output=output, source=source, on_report=on_report, metrics=metrics
        )

    await poll_while_leading(lock, start, retry_seconds=config.storage.poller_takeover_seconds)


async def poll_on_schedule(
    config: Config,
    storage: Storage,
    lock: PollerLock,
    *,
    source: str | None = None,
    output: PollOutput,
    on_report: ReportHook | None = None,
) -> int:
    """`top10bot poll` without `--once`: catch up, then poll on the schedule until interrupted
    (standing by while another process polls the store)."""
    if not resolve_source_names(load_poll_config(config), source):
        log.error("no source is enabled: nothing to poll")
        return 2
    await poll_when_leading(
        config, storage, lock, output=output, source=source, on_report=on_report
    )
    return 0
