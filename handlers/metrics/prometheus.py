"""bot.metrics.Metrics with prometheus-client, in a registry of its own (one per server)."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from bot.events import Event
from bot.ports import DeliveryBacklog

# A command answers in milliseconds (the goal for /top10 is 10 ms); a send in a fraction of a
# second; a stalled event loop is worth seeing from a millisecond up.
COMMAND_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
SEND_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# The gauge's statuses: the rows not sent, counted from small indexes (Outbox.backlog). Sent rows
# are the whole history, a scan of tens of millions of rows at every scrape: they are counted as
# they are sent, by each sender process (top10bot_deliveries_sent_total).
BACKLOG_STATUSES = ("pending", "failed", "dead")


class PrometheusMetrics:
    """The bot's metrics. Calls may come from any thread (prometheus-client locks)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self._charts = Counter(
            "top10bot_charts",
            "Charts judged by live polls, by source and outcome (accepted, rejected)",
            ["source", "outcome"],
            registry=registry,
        )
        self._events = Counter(
            "top10bot_events",
            "New events stored by live polls, by type",
            ["type"],
            registry=registry,
        )
        self._sent = Counter(
            "top10bot_deliveries_sent",
            "Deliveries sent by this process",
            ["platform"],
            registry=registry,
        )
        self._dead = Counter(
            "top10bot_deliveries_dead",
            "Deliveries this process gave up on (dead letters)",
            ["platform"],
            registry=registry,
        )
        self._send_seconds = Histogram(
            "top10bot_send_seconds",
            "Time from handing a message to a platform to its answer",
            ["platform"],
            buckets=SEND_BUCKETS,
            registry=registry,
        )
        self._rate_limited = Counter(
            "top10bot_rate_limited",
            "Flood-control answers (HTTP 429) from a platform",
            ["platform"],
            registry=registry,
        )
        self._command_seconds = Histogram(
            "top10bot_command_seconds",
            "Time to answer a command, by command",
            ["command"],
            buckets=COMMAND_BUCKETS,
            registry=registry,
        )
        self._loop_lag = Histogram(
            "top10bot_event_loop_lag_seconds",
            "How late the event loop ran a timer (sampled by a ticker task)",
            buckets=LAG_BUCKETS,
            registry=registry,
        )
        self._loop_lag_now = Gauge(
            "top10bot_event_loop_lag_current_seconds",
            "The event loop's lag now: the last tick's, or how long the loop has been stalled",
            registry=registry,
        )
        self._deliveries = Gauge(
            "top10bot_deliveries",
            "Deliveries in the store not sent yet (pending, failed) or given up (dead), all"
            " processes (read at scrape time)",
            ["status"],
            registry=registry,
        )
        self._store_up = Gauge(
            "top10bot_store_up",
            "1 when the store answered the last scrape's query, else 0",
            registry=registry,
        )

    # -- bot.metrics.Metrics -------------------------------------------------------------------

    def charts_judged(self, source: str, accepted: int, rejected: int) -> None:
        self._charts.labels(source, "accepted").inc(accepted)
        self._charts.labels(source, "rejected").inc(rejected)

    def events_stored(self, events: Sequence[Event]) -> None:
        for event_type, count in Tally(event.type.value for event in events).items():
            self._events.labels(event_type).inc(count)

    def send_finished(self, platform: str, seconds: float) -> None:
        self._send_seconds.labels(platform).observe(seconds)

    def deliveries_sent(self, platform: str, count: int) -> None:
        self._sent.labels(platform).inc(count)

    def deliveries_dead(self, platform: str, count: int) -> None:
        if count:
            self._dead.labels(platform).inc(count)

    def rate_limited(self, platform: str) -> None:
        self._rate_limited.labels(platform).inc()

    def command_finished(self, command: str, seconds: float) -> None:
        self._command_seconds.labels(command).observe(seconds)

    # -- what the server feeds in --------------------------------------------------------------

    def loop_lag(self, seconds: float) -> None:
        self._loop_lag.observe(seconds)

    def watch_loop_lag(self, current: Callable[[], float]) -> None:
        """Read the loop's lag when scraped (a stalled loop cannot report its own stall)."""
        self._loop_lag_now.set_function(current)

    def store_backlog(self, backlog: DeliveryBacklog | None) -> None:
        """The outbox's backlog, or None when the store did not answer."""
        self._store_up.set(0 if backlog is None else 1)
        if backlog is not None:
            for status in BACKLOG_STATUSES:
                self._deliveries.labels(status).set(getattr(backlog, status))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
