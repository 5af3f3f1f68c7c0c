"""Real chart history for the chat-layer tests: 10 weeks of Netflix's official Top 10 (global and
five countries, Squid Game's first run), run through the real gate, store and diff engine."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.commands import CommandRateLimiter, CommandService
from bot.diff import DiffConfig
from bot.events import Event
from bot.models import Chart
from bot.pictures.model import PictureRenderer
from bot.pictures.service import PictureService
from bot.pipeline import Pipeline
from bot.ports import Storage
from bot.sources import netflix
from storage.memory import MemoryBackend

FIXTURES = Path(__file__).parent / "fixtures" / "chat"
COUNTRIES_FILE = FIXTURES / "netflix-countries-2021-09-19_11-21.tsv"
GLOBAL_FILE = FIXTURES / "netflix-global-2021-09-19_11-21.tsv"


def chat_charts() -> list[Chart]:
    """Every chart of both files, oldest period first."""
    with (
        COUNTRIES_FILE.open(encoding="utf-8") as countries,
        GLOBAL_FILE.open(encoding="utf-8") as world,
    ):
        charts = [*netflix.parse_countries(countries), *netflix.parse_global(world)]
    return netflix.sorted_by_period(charts)


async def load_chat_history(storage: Storage, charts: list[Chart] | None = None) -> list[Event]:
    """Feed the charts through the pipeline; return the events it produced."""
    events: list[Event] = []

    async def collect(new: list[Event]) -> None:
        events.extend(new)

    pipeline = Pipeline(storage, DiffConfig(), queue_deliveries=False, sink=collect)
    stats = await pipeline.process(chat_charts() if charts is None else charts)
    assert stats.rejected == 0, stats.rejections
    return events


async def chat_service(renderer: PictureRenderer | None = None) -> CommandService:
    """The command service the adapter tests drive: a memory backend holding the history, its
    clock in the week after the last chart, a rate limit no test reaches; with a renderer,
    /title attaches its picture."""
    storage = MemoryBackend()
    await load_chat_history(storage)
    return CommandService(
        storage,
        storage.subscriptions,
        clock=lambda: datetime(2021, 11, 24, tzinfo=UTC),
        rate_limiter=CommandRateLimiter(burst=100, per_seconds=1),
        pictures=PictureService(storage, renderer) if renderer is not None else None,
    )
