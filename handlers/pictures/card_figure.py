"""A chart card: the Top 10 of one chart period as a picture — rank, title, what the source
measures, and movement in colour and in words (▲3, ▼2, NEW, BACK, =)."""

from __future__ import annotations

from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from bot.pictures.model import ChartCard
from handlers.pictures.fitting import fit
from handlers.pictures.fonts import font_chain
from handlers.pictures.style import (
    BODY_PT,
    CARD_BACKGROUND,
    CARD_INK,
    CARD_MUTED,
    CARD_NUMBER_ONE,
    CARD_STRIPE,
    DPI,
    HEADING_PT,
    MOVEMENT_COLOURS,
    SMALL_PT,
    WIDTH_PX,
)

HEADER_PX = 210
ROW_PX = 112
FOOTER_PX = 30
MARGIN_PX = 40
RANK_WIDTH_PX = 90  # the rank numbers' column
MOVEMENT_WIDTH_PX = 150  # the movement column, right-aligned at the margin


def card_figure(card: ChartCard) -> Figure:
    fonts = font_chain()
    height = HEADER_PX + ROW_PX * max(len(card.rows), 1) + FOOTER_PX
    figure = Figure(figsize=(WIDTH_PX / DPI, height / DPI), dpi=DPI, facecolor=CARD_BACKGROUND)
    FigureCanvasAgg(figure)  # measures the texts that must be cut to fit
    text_width = WIDTH_PX - 2 * MARGIN_PX

    def text(
        x_px: float, y_px: float, value: str, width_px: float | None = None, **style: Any
    ) -> None:
        """A text at pixels from the top left, cut with "…" to `width_px` when given."""
        drawn = figure.text(x_px / WIDTH_PX, 1 - y_px / height, fonts.drawable(value), **style)
        if width_px is not None:
            fit(drawn, width_px)

    text(
        MARGIN_PX,
        40,
        card.heading,
        text_width,
        fontsize=HEADING_PT,
        fontweight="bold",
        color=CARD_INK,
        va="top",
    )
    text(MARGIN_PX, 118, card.subtitle, text_width, fontsize=SMALL_PT, color=CARD_MUTED, va="top")

    title_x = MARGIN_PX + RANK_WIDTH_PX + 20
    title_width = WIDTH_PX - MARGIN_PX - MOVEMENT_WIDTH_PX - title_x
    for index, row in enumerate(card.rows):
        top = HEADER_PX + index * ROW_PX
        if index % 2 == 0:
            figure.add_artist(
                Rectangle(
                    (0, 1 - (top + ROW_PX) / height),
                    1,
                    ROW_PX / height,
                    transform=figure.transFigure,
                    facecolor=CARD_STRIPE,
                    edgecolor="none",
                    zorder=0,
                )
            )
        middle = top + ROW_PX / 2
        text(
            MARGIN_PX + RANK_WIDTH_PX,
            middle,
            str(row.rank),
            fontsize=HEADING_PT,
            fontweight="bold",
            ha="right",
            va="center",
            color=CARD_NUMBER_ONE if row.rank == 1 else CARD_INK,
        )
        text(
            title_x,
            middle - 18 if row.detail else middle,
            row.title,
            title_width,
            fontsize=BODY_PT,
            fontweight="bold",
            color=CARD_INK,
            va="center",
        )
        if row.detail:
            text(
                title_x,
                middle + 24,
                row.detail,
                title_width,
                fontsize=SMALL_PT,
                color=CARD_MUTED,
                va="center",
            )
        text(
            WIDTH_PX - MARGIN_PX,
            middle,
            row.mark,
            fontsize=BODY_PT,
            fontweight="bold",
            ha="right",
            va="center",
            color=MOVEMENT_COLOURS[row.movement.value],
        )
    return figure
