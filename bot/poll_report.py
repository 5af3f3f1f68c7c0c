"""What one poll of one source did, and what the store remembers of it between runs.

- `SourceReport`: counts, rejections and fetch failures of one poll, as one summary line (and
  one short line saying what went wrong, for a log or a terminal).
- `LastPoll`: the last poll of each source, kept in the store for `top10bot status`.
- `failure_alert`: the operator's message when a source failed several polls in a row.
"""

from __future__ import annotations

import json
from collections.abc import Sized
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

# How bot.sources.feed.Refused.fetch_failed words the charts a failed fetch should have given:
# the fetch failure already says it once, so these rejections are not listed one by one.
FETCH_FAILED_REASON: Final = "fetch failed: "


@dataclass(slots=True)
class SourceReport:
    """What one poll of one source did."""

    source: str
    accepted: int = 0
    rejected: int = 0
    skipped: int = 0
    events: int = 0
    queued: int = 0  # deliveries queued for the new events
    fetched: int = 0
    unchanged: int = 0
    rejections: list[tuple[str, str]] = field(default_factory=list)  # (chart label, reason)
    fetch_failures: list[str] = field(default_factory=list)  # "url: reason"
    error: str | None = None  # an unexpected exception (a bug), logged with its traceback

    @property
    def failed(self) -> bool:
        return bool(self.fetch_failures or self.rejected or self.error)

    def reasons(self) -> list[str]:
        """Every failure, fetches first: "url: reason", "chart label: reason"."""
        return [*self.fetch_failures, *(f"{label}: {why}" for label, why in self.gate_rejections())]

    @property
    def nothing_fetched(self) -> bool:
        """Every fetch failed: the source gave nothing to read, not even a 304."""
        return bool(self.fetch_failures) and not (self.fetched or self.unchanged or self.accepted)

    def gate_rejections(self) -> list[tuple[str, str]]:
        """The charts refused for what they held, not because their fetch failed."""
        return [
            (label, why)
            for label, why in self.rejections
            if not why.startswith(FETCH_FAILED_REASON)
        ]

    def summary_line(self) -> str:
        """'netflix: 3 charts accepted, 0 rejected, 42 events, 120 deliveries queued' (+ what
        else is worth knowing)."""
        line = (
            f"{self.source}: {self.accepted} {'chart' if self.accepted == 1 else 'charts'}"
            f" accepted, {self.rejected} rejected, {self.events}"
            f" {'event' if self.events == 1 else 'events'}"
        )
        if self.queued:  # none without subscribers
            line += f", {self.queued} {'delivery' if self.queued == 1 else 'deliveries'} queued"
        notes: list[str] = []
        if self.fetch_failures:
            n = len(self.fetch_failures)
            notes.append(f"{n} {'fetch' if n == 1 else 'fetches'} failed")
        if self.unchanged:
            notes.append(f"{self.unchanged} unchanged")
        if self.error:
            notes.append(f"error: {self.error}")
        return f"{line} ({'; '.join(notes)})" if notes else line

    def problem_line(self) -> str | None:
        """What went wrong, in one short line ('netflix: fetch failed: connection refused
        (https://…/all-weeks-global.tsv and 2 more)'); None when nothing did."""
        if self.error:
            return f"{self.source}: poll failed: {self.error}"
        if self.fetch_failures:
            url, _, reason = self.fetch_failures[0].partition(": ")
            return f"{self.source}: fetch failed: {reason} ({url}{_more(self.fetch_failures)})"
        rejections = self.gate_rejections()
        if rejections:
            label, reason = rejections[0]
            n = len(rejections)
            charts = "chart" if n == 1 else "charts"
            return f"{self.source}: {n} {charts} rejected: {reason} ({label}{_more(rejections)})"
        return None


def _more(items: Sized) -> str:
    return f" and {len(items) - 1} more" if len(items) > 1 else ""


def failure_alert(report: SourceReport, failures: int) -> str:
    lines = [
        f"⚠ top10bot: {report.source} failed {failures} polls in a row; no alerts come from it"
        " until it recovers.",
        f"Last poll: {report.summary_line()}",
    ]
    reasons = report.reasons()
    lines.extend(f"• {reason}" for reason in reasons[:5])
    if len(reasons) > 5:
        lines.append(f"• … and {len(reasons) - 5} more (see `top10bot status`)")
    return "\n".join(lines)


def failures_key(name: str) -> str:
    return f"poll:{name}:failures"


def last_poll_key(name: str) -> str:
    return f"poll:{name}:last"


@dataclass(frozen=True, slots=True)
class LastPoll:
    at: datetime
    ok: bool
    summary: str
    failures_in_a_row: int

    def to_json(self) -> str:
        return json.dumps(
            {
                "at": self.at.isoformat(),
                "ok": self.ok,
                "summary": self.summary,
                "failures_in_a_row": self.failures_in_a_row,
            }
        )

    @classmethod
    def from_json(cls, text: str | None) -> LastPoll | None:
        if not text:
            return None
        try:
            data = json.loads(text)
            return cls(
                at=datetime.fromisoformat(data["at"]),
                ok=bool(data["ok"]),
                summary=str(data["summary"]),
                failures_in_a_row=int(data["failures_in_a_row"]),
            )
        except (ValueError, KeyError, TypeError):
            return None
