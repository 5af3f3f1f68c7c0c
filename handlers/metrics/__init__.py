"""Prometheus metrics and /healthz (`[metrics] listen`): bot.metrics.Metrics implemented with
prometheus-client, served over HTTP from a thread of its own."""

from handlers.metrics.prometheus import PrometheusMetrics
from handlers.metrics.server import MetricsServer

__all__ = ["MetricsServer", "PrometheusMetrics"]
