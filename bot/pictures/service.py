"""PictureService: what /title and the burst cards attach, read from storage, drawn by the
renderer port, and kept in a bounded LRU cache.

A title's chart is cached under the show and the latest period of its history (a new week makes
a new picture); a chart card under its chart and period; each in the reader's language. A
fan-out of one chart's card to thousands of chats draws it once: requests for a picture being
drawn wait for that drawing.
Pictures are an extra: any failure is logged and the message goes out without one.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from datetime import date

from bot.chart_history import chart_neighbours
from bot.i18n import Translator
from bot.pictures.chart_card import card_description, card_filename, chart_card
from bot.pictures.model import ChartRef, Picture, PictureRenderer, PictureUnavailable
from bot.pictures.title_chart import (
    Appearance,
    Span,
    describe,
    picture_filename,
    span_of_tallies,
    title_rank_chart,
)
from bot.ports import RankTally, Storage

log = logging.getLogger(__name__)

# Pictures kept in memory (a PNG is 50–150 KB): every chart of a burst and the titles asked for.
DEFAULT_CACHE_SIZE = 64


class PictureService:
    """The pictures of replies and alerts, drawn once per title and period."""

    def __init__(
        self,
        storage: Storage,
        renderer: PictureRenderer,
        *,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        if cache_size < 1:
            raise ValueError("cache_size must be at least 1")
        self._storage = storage
        self._renderer = renderer
        self._cache_size = cache_size
        self._cache: OrderedDict[Hashable, Picture] = OrderedDict()
        self._drawing: dict[Hashable, asyncio.Future[Picture | None]] = {}
        self.renders = 0  # drawings started: cache misses (each key once while it is cached)

    async def title_picture(
        self, show_name: str, show_norm: str, appearances: Sequence[Appearance], tr: Translator
    ) -> Picture | None:
        """A show's rank week by week (or day by day) worldwide and where it charted most."""
        periods = [p.period for _, p in appearances if p.key.granularity != "alltime"]
        if not periods:
            return None
        key = _title_key(show_norm, max(periods), len(appearances), tr)
        return await self._cached(key, lambda: self._draw_title(show_name, appearances, tr))

    async def show_picture(
        self, show_name: str, show_norm: str, tallies: Sequence[RankTally], tr: Translator
    ) -> Picture | None:
        """`title_picture` of a show known by its rank tallies (/title): its appearances — tens
        of thousands of rows for a hit — are read only when the picture is not cached."""
        periods = [t.last for t in tallies if t.key.granularity != "alltime"]
        if not periods:
            return None
        key = _title_key(show_norm, max(periods), sum(t.periods for t in tallies), tr)

        async def draw() -> Picture | None:
            span = span_of_tallies(tallies)
            if span is None:
                return None
            # Only the span's appearances: a hit's whole history is tens of thousands of rows,
            # and decoding them held the event loop for up to ~100 ms.
            appearances = [
                (title_id, point)
                for title_id in dict.fromkeys(t.title_id for t in tallies)
                for point in await self._storage.title_history(title_id, since=span.first)
            ]
            return await self._draw_title(show_name, appearances, tr, span)

        return await self._cached(key, draw)

    async def _draw_title(
        self,
        show_name: str,
        appearances: Sequence[Appearance],
        tr: Translator,
        span: Span | None = None,
    ) -> Picture | None:
        chart = title_rank_chart(show_name, appearances, tr, span)
        if chart is None:
            return None
        data = await self._renderer.title_chart(chart)
        return Picture(data, picture_filename("rank", show_name), describe(chart))

    async def chart_picture(self, ref: ChartRef, tr: Translator) -> Picture | None:
        """The card of one chart period (ranks, titles, movement, the source's numbers)."""

        async def draw() -> Picture | None:
            chart = await self._storage.latest_chart(ref.key, on_or_before=ref.period)
            if chart is None or chart.period != ref.period:
                return None
            previous, returning = await chart_neighbours(self._storage, chart)
            data = await self._renderer.chart_card(chart_card(chart, previous, tr, returning))
            return Picture(data, card_filename(chart), card_description(chart, tr))

        return await self._cached(("chart", ref, tr.language), draw)

    async def _cached(
        self, key: Hashable, draw: Callable[[], Awaitable[Picture | None]]
    ) -> Picture | None:
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        drawing = self._drawing.get(key)
        if drawing is not None:
            return await asyncio.shield(drawing)
        future: asyncio.Future[Picture | None] = asyncio.get_running_loop().create_future()
        self._drawing[key] = future
        picture: Picture | None = None
        try:
            self.renders += 1
            picture = await draw()
        except PictureUnavailable as exc:
            log.warning("pictures: %s left without a picture: %s", key, exc)
        except Exception:
            log.exception("pictures: drawing %s failed; sent without a picture", key)
        finally:
            # Whatever happened (even a cancellation), nobody waits forever on this drawing.
            del self._drawing[key]
            future.set_result(picture)
        if picture is not None:
            self._cache[key] = picture
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return picture


def _title_key(show_norm: str, latest: date, appearances: int, tr: Translator) -> Hashable:
    """A show's picture in the cache: seasons and countries of one period arrive separately, so
    the count of appearances is in the key beside the latest period."""
    return ("title", show_norm, latest, appearances, tr.language)
