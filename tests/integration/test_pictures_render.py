"""Pictures drawn by the real matplotlib renderer from real Netflix weeks: decoded and looked at
(size, colours, not blank), every text legible at phone width, Korean titles drawn, each picture
drawn once and off the event loop."""

from __future__ import annotations

import asyncio
import logging
import threading
import warnings
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

from bot.chart_history import previous_chart
from bot.commands.lookup import TitleLookup
from bot.i18n import ENGLISH, Translator, translator
from bot.models import WORLD, Chart, ChartKey
from bot.pictures.chart_card import chart_card
from bot.pictures.model import ChartCard, ChartRef, PictureUnavailable, TitleRankChart
from bot.pictures.service import PictureService
from bot.pictures.title_chart import Appearance, title_rank_chart
from bot.ports import RankPoint
from bot.sources import netflix
from handlers.pictures import renderer as renderer_module
from handlers.pictures.card_figure import card_figure
from handlers.pictures.fonts import FontChain, font_chain
from handlers.pictures.renderer import MatplotlibRenderer, picture_style
from handlers.pictures.style import MIN_TEXT_FRACTION, WIDTH_PX
from handlers.pictures.title_figure import title_figure
from storage.memory import MemoryBackend
from tests.chat_fixtures import load_chat_history
from tests.picture_checks import assert_real_png

NETFLIX = Path(__file__).resolve().parents[1] / "fixtures" / "netflix"
WORLD_TV_NON_ENGLISH = ChartKey("netflix", "netflix", WORLD, "TV (Non-English)", "weekly")
KR_FILMS = ChartKey("netflix", "netflix", "KR", "Films", "weekly")


@pytest.fixture
async def storage() -> MemoryBackend:
    """Ten real weeks of Netflix's Top 10 (Squid Game's first run), through the real pipeline."""
    backend = MemoryBackend()
    await load_chat_history(backend)
    return backend


@pytest.fixture
def renderer() -> Iterator[MatplotlibRenderer]:
    drawing = MatplotlibRenderer()
    yield drawing
    drawing.close()


async def squid_game(storage: MemoryBackend) -> tuple[str, str, list[Appearance]]:
    show = await TitleLookup(storage, lambda: 0.0).resolve_show("Squid Game", ENGLISH)
    appearances = [(t, p) for t in show.title_ids for p in await storage.title_history(t)]
    return show.name, show.norm, appearances


async def squid_game_chart(storage: MemoryBackend, tr: Translator = ENGLISH) -> TitleRankChart:
    name, _, appearances = await squid_game(storage)
    chart = title_rank_chart(name, appearances, tr)
    assert chart is not None
    return chart


async def world_card(
    storage: MemoryBackend, period: date = date(2021, 10, 10), tr: Translator = ENGLISH
) -> ChartCard:
    chart = await storage.latest_chart(WORLD_TV_NON_ENGLISH, on_or_before=period)
    assert chart is not None and chart.period == period
    return chart_card(chart, await previous_chart(storage, chart), tr)


def korean_films_charts() -> tuple[Chart, Chart]:
    """South Korea's films of 2022-02-20 (with 레드슈즈 at #10) and the week before."""
    with (NETFLIX / "all-weeks-countries.tsv").open(encoding="utf-8") as rows:
        charts = {(c.key, c.period): c for c in netflix.parse_countries(rows)}
    return charts[(KR_FILMS, date(2022, 2, 20))], charts[(KR_FILMS, date(2022, 2, 13))]


# -- the pictures themselves -------------------------------------------------------------------


async def test_the_title_chart_is_a_real_picture(
    storage: MemoryBackend, renderer: MatplotlibRenderer
) -> None:
    chart = await squid_game_chart(storage)
    assert [s.label for s in chart.series][:1] == ["Worldwide"] and len(chart.series) == 5
    width, height = assert_real_png(await renderer.title_chart(chart))
    assert (width, height) == (WIDTH_PX, 1000)


async def test_the_chart_card_is_a_real_picture(
    storage: MemoryBackend, renderer: MatplotlibRenderer
) -> None:
    card = await world_card(storage)
    assert card.rows[0].title == "Squid Game: Season 1" and len(card.rows) == 10
    width, height = assert_real_png(await renderer.chart_card(card))
    assert width == WIDTH_PX and height > width  # a portrait card, ten rows


def visible_texts(figure: Figure) -> list[Text]:
    return [t for t in figure.findobj(Text) if t.get_visible() and t.get_text().strip()]


@pytest.mark.parametrize("language", ["en", "ko"])
async def test_every_text_is_legible_at_phone_width_and_inside_the_picture(
    storage: MemoryBackend, language: str
) -> None:
    """Shown 400 points wide on a phone, no text is under 12 points; none is cut off."""
    title_chart = await squid_game_chart(storage, translator(language))
    card = await world_card(storage, tr=translator(language))
    with picture_style():
        for figure in (title_figure(title_chart), card_figure(card)):
            FigureCanvasAgg(figure).draw()  # lays out the texts (tick labels, legend)
            width, height = figure.bbox.width, figure.bbox.height
            texts = visible_texts(figure)
            assert len(texts) >= 12
            for text in texts:
                size_px = text.get_fontsize() * figure.dpi / 72
                assert size_px >= MIN_TEXT_FRACTION * width, (text.get_text(), size_px)
                box = text.get_window_extent()
                inside = box.x0 >= 0 and box.y0 >= 0 and box.x1 <= width and box.y1 <= height
                assert inside, (text.get_text(), box)


async def test_a_long_title_is_cut_with_an_ellipsis_to_fit_its_row() -> None:
    chart, previous = korean_films_charts()
    card = chart_card(chart, previous, ENGLISH)
    with picture_style():
        figure = card_figure(card)
        texts = [t.get_text() for t in visible_texts(figure)]
    assert "13 Hours: The Secret Soldiers of Benghazi" not in texts
    assert any(t.startswith("13 Hours: The Secret") and t.endswith("…") for t in texts)


async def test_korean_titles_are_drawn_with_a_font_that_has_them(
    renderer: MatplotlibRenderer,
) -> None:
    chart, previous = korean_films_charts()
    card = chart_card(chart, previous, ENGLISH)
    assert card.rows[-1].title == "레드슈즈"
    assert font_chain().drawable("레드슈즈") == "레드슈즈"
    with warnings.catch_warnings():
        # matplotlib warns "Glyph … missing from font(s)" for every box it draws instead.
        warnings.simplefilter("error")
        assert_real_png(await renderer.chart_card(card))


async def test_a_korean_chats_pictures_are_drawn_in_korean(
    storage: MemoryBackend, renderer: MatplotlibRenderer
) -> None:
    chart = await squid_game_chart(storage, translator("ko"))
    assert chart.subtitle.endswith("주간 순위") and chart.series[0].label == "전 세계"
    card = await world_card(storage, tr=translator("ko"))
    assert card.heading == "전 세계 · TV (비영어)" and card.rows[1].mark == "신규"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "Glyph … missing" anywhere
        assert_real_png(await renderer.title_chart(chart))
        assert_real_png(await renderer.chart_card(card))


def test_without_a_korean_font_the_picture_is_refused_not_drawn_as_boxes() -> None:
    latin_only = FontChain(("DejaVu Sans",), frozenset(range(0x20, 0x250)))
    with pytest.raises(PictureUnavailable, match="레"):
        latin_only.drawable("레드슈즈")
    # An emoji no font has is left out; the title stays readable.
    assert latin_only.drawable("Squid Game 🦑") == "Squid Game"


# -- cached, drawn once, off the event loop ------------------------------------------------------


class CountingRenderer:
    """The real renderer, counting what reaches it."""

    def __init__(self, real: MatplotlibRenderer) -> None:
        self.real = real
        self.drawn: list[str] = []

    async def title_chart(self, chart: TitleRankChart) -> bytes:
        self.drawn.append(chart.title)
        return await self.real.title_chart(chart)

    async def chart_card(self, card: ChartCard) -> bytes:
        self.drawn.append(card.heading)
        return await self.real.chart_card(card)


async def test_each_picture_is_drawn_once_per_title_and_latest_period(
    storage: MemoryBackend, renderer: MatplotlibRenderer
) -> None:
    counting = CountingRenderer(renderer)
    pictures = PictureService(storage, counting, cache_size=4)
    name, norm, appearances = await squid_game(storage)
    first = await pictures.title_picture(name, norm, appearances, ENGLISH)
    assert first is not None and first.filename == "rank-squid-game.png"
    assert await pictures.title_picture(name, norm, appearances, ENGLISH) is first
    # A week less: another latest period, another picture.
    last_week = max(p.period for _, p in appearances)
    earlier = [(t, p) for t, p in appearances if p.period < last_week]
    second = await pictures.title_picture(name, norm, earlier, ENGLISH)
    assert second is not None and second.digest != first.digest
    # Many chats asking for one chart's card at once: drawn once.
    ref = ChartRef(WORLD_TV_NON_ENGLISH, date(2021, 10, 10))
    cards = await asyncio.gather(*(pictures.chart_picture(ref, ENGLISH) for _ in range(20)))
    assert len({card.digest for card in cards if card is not None}) == 1
    assert counting.drawn == ["Squid Game", "Squid Game", "Worldwide · TV (Non-English)"]
    assert pictures.renders == 3


async def test_the_cache_is_bounded(storage: MemoryBackend, renderer: MatplotlibRenderer) -> None:
    counting = CountingRenderer(renderer)
    pictures = PictureService(storage, counting, cache_size=1)
    week_one = ChartRef(WORLD_TV_NON_ENGLISH, date(2021, 10, 3))
    week_two = ChartRef(WORLD_TV_NON_ENGLISH, date(2021, 10, 10))
    for ref in (week_one, week_two, week_one):
        assert await pictures.chart_picture(ref, ENGLISH) is not None
    assert len(counting.drawn) == 3


async def test_a_chart_not_stored_or_a_failing_drawing_gives_no_picture(
    storage: MemoryBackend, renderer: MatplotlibRenderer, caplog: pytest.LogCaptureFixture
) -> None:
    pictures = PictureService(storage, renderer)
    # No chart of that day (the week ends on the 10th), none of that key.
    assert await pictures.chart_picture(ChartRef(KR_FILMS, date(2021, 10, 11)), ENGLISH) is None
    kids = ChartKey("netflix", "netflix", "KR", "Kids TV", "weekly")
    assert await pictures.chart_picture(ChartRef(kids, date(2021, 10, 10)), ENGLISH) is None

    class Broken(CountingRenderer):
        async def chart_card(self, card: ChartCard) -> bytes:
            raise PictureUnavailable("no font for this")

    broken = PictureService(storage, Broken(renderer))
    with caplog.at_level(logging.WARNING, logger="bot.pictures.service"):
        ref = ChartRef(WORLD_TV_NON_ENGLISH, date(2021, 10, 10))
        assert await broken.chart_picture(ref, ENGLISH) is None
    assert "no font for this" in caplog.text


async def test_drawing_runs_in_the_renderers_own_thread(
    storage: MemoryBackend, renderer: MatplotlibRenderer, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []
    draw = renderer_module.render_chart_card

    def watched(card: ChartCard) -> bytes:
        threads.append(threading.current_thread().name)
        return draw(card)

    monkeypatch.setattr(renderer_module, "render_chart_card", watched)
    await renderer.chart_card(await world_card(storage))
    assert threads and threads[0].startswith("pictures")
    assert threads[0] != threading.main_thread().name


class CountingHistory(MemoryBackend):
    """Ten real weeks, counting the reads of a title's every appearance."""

    def __init__(self) -> None:
        super().__init__()
        self.history_reads = 0

    async def title_history(self, title_id: str, since: date | None = None) -> list[RankPoint]:
        self.history_reads += 1
        return await super().title_history(title_id, since)


async def test_a_show_known_by_its_tallies_reads_its_appearances_only_to_draw(
    renderer: MatplotlibRenderer,
) -> None:
    storage = CountingHistory()
    await load_chat_history(storage)
    name, norm, appearances = await squid_game(storage)
    title_ids = list(dict.fromkeys(title_id for title_id, _ in appearances))
    tallies = await storage.rank_tallies(title_ids)
    pictures = PictureService(storage, CountingRenderer(renderer), cache_size=4)
    storage.history_reads = 0

    drawn = await pictures.show_picture(name, norm, tallies, ENGLISH)
    assert drawn is not None and storage.history_reads == len(title_ids)
    # The same picture as from the appearances themselves, from the cache, read no more.
    assert await pictures.title_picture(name, norm, appearances, ENGLISH) is drawn
    assert await pictures.show_picture(name, norm, tallies, ENGLISH) is drawn
    assert storage.history_reads == len(title_ids) and pictures.renders == 1
