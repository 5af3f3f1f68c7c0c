"""The metrics port: what the core reports as it works, for an operator's dashboards.

The core calls a `Metrics` where things happen (a poll judged charts, events were stored, a
message was sent or died, a command ran); `handlers/metrics/` implements it with
prometheus-client and serves it over HTTP with `/healthz` (`[metrics] listen`). Without that
section every call goes to `NO_METRICS`, which does nothing. Counts that must hold across
processes (deliveries pending or dead) are not reported here: the server reads them from the store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from bot.config import ConfigError
from bot.events import Event


class Metrics(Protocol):
    def charts_judged(self, source: str, accepted: int, rejected: int) -> None:
        """A poll of `source` accepted and rejected that many charts."""
        ...

    def events_stored(self, events: Sequence[Event]) -> None:
        """New events were stored (counted by type)."""
        ...

    def send_finished(self, platform: str, seconds: float) -> None:
        """One message was handed to a platform and it answered (or failed) after `seconds`."""
        ...

    def deliveries_sent(self, platform: str, count: int) -> None: ...

    def deliveries_dead(self, platform: str, count: int) -> None: ...

    def rate_limited(self, platform: str) -> None:
        """The platform answered 429 (flood control). Counted by the platform's HTTP client,
        which also sees the 429s its library waits out and retries by itself."""
        ...

    def command_finished(self, command: str, seconds: float) -> None: ...


class NoMetrics:
    """Metrics nobody reads: every call does nothing."""

    def charts_judged(self, source: str, accepted: int, rejected: int) -> None:
        pass

    def events_stored(self, events: Sequence[Event]) -> None:
        pass

    def send_finished(self, platform: str, seconds: float) -> None:
        pass

    def deliveries_sent(self, platform: str, count: int) -> None:
        pass

    def deliveries_dead(self, platform: str, count: int) -> None:
        pass

    def rate_limited(self, platform: str) -> None:
        pass

    def command_finished(self, command: str, seconds: float) -> None:
        pass


NO_METRICS: Final[Metrics] = NoMetrics()

DEFAULT_HEALTH_TIMEOUT: Final = 5.0


@dataclass(frozen=True, slots=True)
class MetricsConfig:
    """`[metrics]`: off unless `listen` is set."""

    # "host:port" serving /metrics and /healthz; port 0 picks a free one (tests).
    listen: str | None = None
    # How long /healthz waits for the event loop and then for a trivial query of the store.
    health_timeout: float = DEFAULT_HEALTH_TIMEOUT

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> MetricsConfig:
        listen = table.get("listen")
        if listen is not None:
            if not isinstance(listen, str):
                raise ConfigError('[metrics] listen must be a string such as "127.0.0.1:9108"')
            split_listen(listen)
        timeout = table.get("health_timeout", DEFAULT_HEALTH_TIMEOUT)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise ConfigError("[metrics] health_timeout must be a number of seconds above 0")
        return cls(listen=listen, health_timeout=float(timeout))


def split_listen(listen: str) -> tuple[str, int]:
    """'127.0.0.1:9108' → ('127.0.0.1', 9108); '[::1]:9108' → ('::1', 9108)."""
    host, separator, port_text = listen.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not separator or not host or not port_text.isdigit() or int(port_text) > 65535:
        raise ConfigError(
            f'[metrics] listen must be "host:port" (e.g. "127.0.0.1:9108"), not {listen!r}'
        )
    return host, int(port_text)
