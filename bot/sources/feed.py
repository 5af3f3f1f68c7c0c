"""What a live source hands the poller: charts to gate, charts it had to refuse, bodies unchanged.

A source is an async generator (`Source.poll`): it fetches and parses, and yields what it found;
the poller (bot/poll.py) feeds the charts into the pipeline and stores the refusals. A generator
waits at each `yield` until the poller has dealt with what it yielded, so code after a `yield
Charts(...)` runs once those charts are stored, and the `yield` returns how the gate judged them
(an `Outcome`): that is where a source commits the validators of the body they came from, only
when the gate took everything it handed over (a body is remembered as processed only after it
was used; one the gate rejected is refused or judged again, never "unchanged").

Charts are often read lazily (the 31 MB Netflix file, one block at a time), so a broken body can
show only while the pipeline reads it. The poller throws that `SourceError` back into the source at
the `yield` that handed the charts over: the source handles a broken body in one place, as if it
had read it itself. Async generators have no `yield from`, so a source made of one generator per
file chains them with `relay`, which passes such an error on to the part that yielded the charts.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable
from contextlib import aclosing
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Protocol

from bot.models import Chart, ChartKey
from bot.ports import Storage
from bot.sources.conditional import ConditionalFetcher
from bot.sources.errors import SourceError
from bot.sources.http import FetchError, FetchResult


@dataclass(frozen=True, slots=True)
class Charts:
    """Charts for the gate, period-ascending (per key); `expected_period` for daily pages."""

    charts: Iterable[Chart]
    expected_period: date | None = None


@dataclass(frozen=True, slots=True)
class Refused:
    """Charts a fetch or a body should have given and did not: stored as rejected snapshots with
    no entries, so `status` shows the reason and no event comes from them."""

    keys: tuple[ChartKey, ...]
    period: date
    reason: str
    fetch_failure: str | None = None  # "url: reason" when the fetch itself failed

    @classmethod
    def fetch_failed(cls, keys: Iterable[ChartKey], period: date, error: FetchError) -> Refused:
        return cls(tuple(keys), period, f"fetch failed: {error.reason}", fetch_failure=str(error))


@dataclass(frozen=True, slots=True)
class Fetched:
    """A body was downloaded and goes to a parser."""

    url: str


@dataclass(frozen=True, slots=True)
class Unchanged:
    """Nothing new at a URL since the last processed body (304, or the same SHA-256)."""

    result: FetchResult


SourceItem = Charts | Refused | Fetched | Unchanged


@dataclass(frozen=True, slots=True)
class Outcome:
    """How the gate judged the charts of one `Charts` item: what a source learns at its `yield`."""

    accepted: int = 0
    rejected: int = 0
    first_rejection: str | None = None  # its reason

    @property
    def all_rejected(self) -> bool:
        """Charts were judged and none was taken: the body gave nothing but rejections."""
        return self.rejected > 0 and self.accepted == 0


# What a source's generator yields, and what the poller sends back into it (None after an item
# that is not `Charts`).
SourceItems = AsyncGenerator[SourceItem, Outcome | None]


@dataclass(frozen=True, slots=True)
class PollContext:
    """What one poll of one source works with."""

    history: Storage  # read only: what is stored decides what is new
    fetcher: ConditionalFetcher
    now: datetime  # when the poll started, UTC

    @property
    def today(self) -> date:
        return self.now.astimezone(UTC).date()


class Source(Protocol):
    name: str

    def poll(self, context: PollContext) -> SourceItems:
        """One poll: everything found, in the order the pipeline must see it."""
        ...

    async def up_to_date(self, history: Storage, now: datetime) -> bool:
        """Whether the history holds everything the source should have published by `now`
        (fast polls inside a publication window stop then)."""
        ...


async def relay(parts: Iterable[SourceItems]) -> SourceItems:
    """The items of each part in turn; what is sent in (an `Outcome`) or thrown in (a
    SourceError) goes to the part that yielded."""
    for part in parts:
        async with aclosing(part):
            item = await anext(part, None)
            while item is not None:
                try:
                    outcome = yield item
                except SourceError as exc:
                    item = await throw_into(part, exc)
                else:
                    item = await send_into(part, outcome)


async def send_into(items: SourceItems, outcome: Outcome | None) -> SourceItem | None:
    """Resume the generator with `outcome`; what it yields next, or None at its end."""
    try:
        return await items.asend(outcome)
    except StopAsyncIteration:
        return None


async def throw_into(items: SourceItems, error: SourceError) -> SourceItem | None:
    """Raise `error` in the generator where it waits; what it yields next, or None at its end."""
    try:
        return await items.athrow(error)
    except StopAsyncIteration:
        return None
