"""bot.pictures.PictureRenderer with matplotlib (Agg, no display), off the event loop.

Drawing runs in one dedicated thread: matplotlib's shared state (the font cache, rcParams) is
not meant for concurrent use, a picture takes a fraction of a second, and the cache in
bot.pictures.service means each one is drawn once. Only the object-oriented API is used, on an
Agg canvas made for each figure (no pyplot, no backend selection, no display): nothing global is
left behind by a figure.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from bot.pictures.model import ChartCard, TitleRankChart
from handlers.pictures.card_figure import card_figure
from handlers.pictures.fonts import font_chain
from handlers.pictures.title_figure import title_figure

# Colours kept in a picture's palette (ink, a few line colours, their anti-aliased edges).
PALETTE_COLOURS = 96

Spec = TypeVar("Spec", TitleRankChart, ChartCard)


@contextmanager
def picture_style() -> Iterator[None]:
    """matplotlib settings of every picture, for the figures built and saved inside."""
    with matplotlib.rc_context(
        {"font.family": list(font_chain().families), "axes.unicode_minus": False}
    ):
        yield


def png_bytes(build: Callable[[], Figure]) -> bytes:
    """Build a figure with the picture fonts and return it as PNG bytes."""
    with picture_style():
        figure = build()
        FigureCanvasAgg(figure)
        drawn = io.BytesIO()
        # No "Software" stamp: the same picture is the same bytes, whatever the version.
        figure.savefig(drawn, format="png", metadata={"Software": None})
    return compact_png(drawn.getvalue())


def compact_png(data: bytes) -> bytes:
    """The same picture in a palette of PALETTE_COLOURS colours: a third of the bytes (each is
    uploaded once per chat), no visible change on flat colours and anti-aliased text."""
    with Image.open(io.BytesIO(data)) as image:
        quantized = image.convert("RGB").quantize(
            colors=PALETTE_COLOURS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
        )
    out = io.BytesIO()
    quantized.save(out, format="PNG", optimize=True)
    return out.getvalue()


def render_title_chart(chart: TitleRankChart) -> bytes:
    return png_bytes(lambda: title_figure(chart))


def render_chart_card(card: ChartCard) -> bytes:
    return png_bytes(lambda: card_figure(card))


class MatplotlibRenderer:
    """Draws in its own single worker thread; `close` stops it."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pictures")

    async def title_chart(self, chart: TitleRankChart) -> bytes:
        return await self._run(render_title_chart, chart)

    async def chart_card(self, card: ChartCard) -> bytes:
        return await self._run(render_chart_card, card)

    async def _run(self, draw: Callable[[Spec], bytes], spec: Spec) -> bytes:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, draw, spec)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
