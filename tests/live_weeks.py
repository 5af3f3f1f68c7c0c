"""Weeks of a made-up worldwide chart for the /live tests: each week a new #1 (Show A, then B,
C …), as the gate accepts them (weeks in the Top 10 grow by one a week)."""

from __future__ import annotations

from datetime import date, timedelta

from bot.diff import DiffConfig
from bot.models import WORLD, Chart, ChartKey, Entry, make_title_id
from bot.pipeline import EventSink, Pipeline
from bot.ports import Storage

WORLD_TV = ChartKey("netflix", "netflix", WORLD, "TV (English)", "weekly")
FIRST_WEEK = date(2026, 2, 22)
TITLES = [f"Show {letter}" for letter in "ABCDEFGHIJ"]
# The last line of every live message.
LIVE_FOOTER = "live: this message is updated every new week"


def week(number: int) -> Chart:
    """Week `number` after the first."""
    titles = TITLES[number:] + TITLES[:number]
    entries = tuple(
        Entry(
            rank=rank,
            title_id=make_title_id(title, None),
            title=title,
            weeks_in_top10=number + 1,
        )
        for rank, title in enumerate(titles, start=1)
    )
    return Chart(WORLD_TV, FIRST_WEEK + timedelta(weeks=number), entries)


def number_one(text: str) -> str:
    """The title at #1 in a Top 10 text ("Show A" of "1. Show A ▲2 · 1 wk")."""
    line = next(line for line in text.split("\n") if line.startswith("1. "))
    return " ".join(line.split()[1:3])


async def accept(storage: Storage, chart: Chart, *, sink: EventSink | None = None) -> None:
    """A new week stored as a live poll stores it (its deliveries queued with it)."""
    pipeline = Pipeline(storage, DiffConfig(), queue_deliveries=True, sink=sink)
    stats = await pipeline.process([chart])
    assert stats.accepted == 1, stats.rejections


async def store_history(storage: Storage, *charts: Chart) -> None:
    """Charts stored as history (import): no deliveries."""
    stats = await Pipeline(storage, DiffConfig(), queue_deliveries=False).process(list(charts))
    assert stats.accepted == len(charts), stats.rejections
