"""`top10bot status`: per source and chart, the last accepted and the last rejected period (with
its reason), the last poll and the next scheduled one.

It reads the store and the config only, so it answers the same whether the bot is running or not;
a running bot can pass its scheduler's next run times instead of the ones computed from the cron
(by the scheduler's own cron reading, handed in as `next_fire`: the core does not parse crontabs).
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Final, TextIO

from bot.config import Config
from bot.models import ChartKey
from bot.poll import utc_now
from bot.poll_config import SOURCE_NAMES, PollConfig, load_poll_config
from bot.poll_report import LastPoll, last_poll_key
from bot.poll_window import PollTiming
from bot.ports import Storage, StoredRejection

# Rejections are read newest first up to this many; older ones are not worth a status line.
REJECTION_SCAN: Final = 5000

# When a source's schedule and publication windows fire next after a moment; None for never.
NextFire = Callable[[PollTiming, datetime], datetime | None]


@dataclass(frozen=True, slots=True)
class ChartStatus:
    key: ChartKey
    last_accepted: date | None
    last_rejected: date | None = None
    rejected_reason: str | None = None
    rejected_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SourceStatus:
    name: str
    enabled: bool
    schedule: tuple[str, ...]
    next_run: datetime | None
    last_poll: LastPoll | None
    charts: tuple[ChartStatus, ...]
    windows: str = ""  # the publication windows and their pace, "" when there are none


def _newest_rejections(rejections: list[StoredRejection]) -> dict[ChartKey, StoredRejection]:
    newest: dict[ChartKey, StoredRejection] = {}
    for rejection in rejections:  # newest first
        newest.setdefault(rejection.key, rejection)
    return newest


async def collect_status(
    storage: Storage,
    poll_config: PollConfig,
    *,
    now: datetime,
    next_fire: NextFire,
    next_runs: Mapping[str, datetime | None] | None = None,
) -> list[SourceStatus]:
    rejected = _newest_rejections(await storage.recent_rejections(REJECTION_SCAN))
    statuses: list[SourceStatus] = []
    for name in SOURCE_NAMES:
        enabled, timing, _ = poll_config.settings(name)
        keys = set(await storage.chart_keys(name))
        keys.update(key for key in rejected if key.source == name)
        charts: list[ChartStatus] = []
        for key in sorted(keys):
            latest = await storage.latest_chart(key)
            rejection = rejected.get(key)
            charts.append(
                ChartStatus(
                    key=key,
                    last_accepted=latest.period if latest else None,
                    last_rejected=rejection.period if rejection else None,
                    rejected_reason=rejection.reason if rejection else None,
                    rejected_at=rejection.rejected_at if rejection else None,
                )
            )
        if next_runs is not None:
            next_run = next_runs.get(name)
        else:
            next_run = next_fire(timing, now) if enabled else None
        statuses.append(
            SourceStatus(
                name=name,
                enabled=enabled,
                schedule=timing.schedule,
                windows=timing.describe_windows(),
                next_run=next_run,
                last_poll=LastPoll.from_json(await storage.get_meta(last_poll_key(name))),
                charts=tuple(charts),
            )
        )
    return statuses


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _chart_state(chart: ChartStatus) -> str:
    parts = [
        f"accepted {chart.last_accepted.isoformat()}" if chart.last_accepted else "never accepted"
    ]
    if chart.last_rejected is not None:
        rejected = f"rejected {chart.last_rejected.isoformat()}: {chart.rejected_reason}"
        if chart.rejected_at is not None:
            rejected += f" (at {_when(chart.rejected_at)})"
        parts.append(rejected)
    return "; ".join(parts)


def _chart_lines(charts: tuple[ChartStatus, ...]) -> list[str]:
    """One line per chart; country charts in the same state fold into one line ("94 regions")
    so that the per-country Netflix file does not print 188 identical lines."""
    lines: list[str] = []
    groups: dict[tuple[object, ...], list[ChartStatus]] = defaultdict(list)
    for chart in charts:
        k = chart.key
        if chart.last_rejected is None:
            groups[(k.service, k.category, k.granularity, chart.last_accepted)].append(chart)
        else:
            lines.append(
                f"  {k.service}/{k.region}/{k.category}/{k.granularity}: {_chart_state(chart)}"
            )
    for (service, category, granularity, _), same in groups.items():
        k = same[0].key
        where = k.region if len(same) == 1 else f"{len(same)} regions"
        lines.append(f"  {service}/{where}/{category}/{granularity}: {_chart_state(same[0])}")
    return sorted(lines)


def format_status(statuses: list[SourceStatus]) -> list[str]:
    lines: list[str] = []
    for status in statuses:
        state = "enabled" if status.enabled else "disabled"
        schedule = ", ".join(status.schedule) or "none"
        lines.append(f"{status.name} ({state}; schedule {schedule} UTC)")
        if status.windows:
            lines.append(f"  publication window: {status.windows}")
        if status.next_run is not None:
            lines.append(f"  next poll: {_when(status.next_run)}")
        else:
            lines.append("  next poll: not scheduled")
        if status.last_poll is not None:
            last = status.last_poll
            verdict = "ok" if last.ok else f"FAILED ({last.failures_in_a_row} in a row)"
            lines.append(f"  last poll: {_when(last.at)} {verdict} — {last.summary}")
        else:
            lines.append("  last poll: never")
        if status.charts:
            lines.extend(_chart_lines(status.charts))
        else:
            lines.append("  no charts yet")
    return lines


async def status_command(
    config: Config,
    storage: Storage,
    *,
    next_fire: NextFire,
    out: TextIO | None = None,
    now: datetime | None = None,
) -> int:
    """`top10bot status`: prints the report; 0 (the report is the answer, not a health check)."""
    stream = out or sys.stdout
    statuses = await collect_status(
        storage, load_poll_config(config), now=now or utc_now(), next_fire=next_fire
    )
    for line in format_status(statuses):
        stream.write(line + "\n")
    stream.flush()
    return 0
