"""The poller's side of a source: charts read lazily that break half-way go back to the source.

A source yields `Charts` whose iterator the pipeline reads; a SourceError raised while reading
must reach the source at that `yield` (through `relay`, for a source made of one generator per
file), so that it refuses what the body should have given and never runs the code after the
`yield` (where a real source commits the body's validators).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from itertools import groupby

from bot.diff import DiffConfig
from bot.models import Chart
from bot.pipeline import Pipeline
from bot.poll import SourceFeed
from bot.sources import netflix
from bot.sources.errors import SourceError
from bot.sources.feed import Charts, Fetched, Outcome, Refused, SourceItems, relay
from storage import MemoryBackend
from tests.fakes.source_server import FIXTURES

GLOBAL = (FIXTURES / "poll" / "all-weeks-global.tsv").read_text(encoding="utf-8")
BROKEN = "row 99: not a rank"


def two_periods() -> tuple[list[Chart], list[Chart]]:
    charts = netflix.sorted_by_period(netflix.parse_global(GLOBAL, what="global"))
    weeks = [list(group) for _, group in groupby(charts, lambda c: c.period)]
    return weeks[0], weeks[1]


class HalfBrokenFile:
    """One file whose second week turns out broken while the pipeline reads it."""

    def __init__(self, first: list[Chart], second: list[Chart]) -> None:
        self.first, self.second = first, second
        self.used = False  # where a source commits the body's validators

    def charts(self) -> Iterator[Chart]:
        yield from self.first
        yield self.second[0]
        raise SourceError(BROKEN, source="netflix", what="global")

    async def items(self) -> SourceItems:
        try:
            yield Charts(self.charts())
        except SourceError as exc:
            yield Refused(tuple(c.key for c in self.second), self.second[0].period, exc.reason)
            return
        self.used = True


async def next_file() -> SourceItems:
    yield Fetched("https://example.invalid/next.tsv")


async def test_a_chart_stream_broken_half_way_is_refused_by_its_source() -> None:
    storage = MemoryBackend()
    first, second = two_periods()
    broken = HalfBrokenFile(first, second)
    feed = SourceFeed("netflix", Pipeline(storage, DiffConfig(), queue_deliveries=True))

    await feed.drain(relay([broken.items(), next_file()]))

    assert not broken.used
    rejected = await storage.recent_rejections()
    assert {(r.key, r.period, r.reason) for r in rejected} == {
        (chart.key, chart.period, BROKEN) for chart in second
    }
    # The whole weeks read before the break are stored; the broken week is not.
    for chart in first:
        stored = await storage.latest_chart(chart.key)
        assert stored is not None and stored.period == first[0].period
    # The next file of the source still runs.
    assert feed.fetched == 1
    assert feed.report().failed


async def test_a_source_learns_at_its_yield_how_the_gate_judged_its_charts() -> None:
    first, second = two_periods()
    broken = replace(second[0], parse_error=BROKEN)
    outcomes: list[Outcome | None] = []

    async def judged_file() -> SourceItems:
        outcomes.append((yield Charts([*first, broken, *second[1:]])))
        outcomes.append((yield Fetched("https://example.invalid/after.tsv")))

    feed = SourceFeed("netflix", Pipeline(MemoryBackend(), DiffConfig(), queue_deliveries=True))
    await feed.drain(relay([judged_file(), next_file()]))

    partly = Outcome(len(first) + len(second) - 1, 1, BROKEN)
    assert outcomes == [partly, None]
    assert Outcome(0, 1, BROKEN).all_rejected and not partly.all_rejected
    assert feed.fetched == 2
