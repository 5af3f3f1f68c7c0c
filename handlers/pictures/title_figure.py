"""A title's rank over time as a line chart: #1 at the top, one line per chart, dates below."""

from __future__ import annotations

import math
from datetime import date

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator

from bot.pictures.model import TitleRankChart
from handlers.pictures.fitting import fit, wrap_lines
from handlers.pictures.fonts import font_chain
from handlers.pictures.style import (
    CHART_BACKGROUND,
    CHART_INK,
    CHART_MUTED,
    DPI,
    GRID,
    HEADING_PT,
    NUMBER_ONE_BAND,
    SERIES_COLOURS,
    SERIES_MARKERS,
    SMALL_PT,
    WIDTH_PX,
)

HEIGHT_PX = 1000
# Characters of the show's name per line of the heading, and lines at most (then "…").
HEADING_WRAP = 34
HEADING_LINES = 2
# Date labels under the chart: more would collide at this text size.
MAX_DATE_TICKS = 5
# More periods than this get smaller markers (two months of days).
DENSE_PERIODS = 20
# Vertical distance between lines that share a rank, in ranks.
DODGE = 0.14
# Legend labels longer than this get a column of their own.
LEGEND_TWO_COLUMNS_MAX = 16


def title_figure(chart: TitleRankChart) -> Figure:
    fonts = font_chain()
    figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, facecolor=CHART_BACKGROUND)
    FigureCanvasAgg(figure)  # measures the heading, cut to fit
    top = 0.965
    for line in wrap_lines(fonts.drawable(chart.title), HEADING_WRAP, HEADING_LINES):
        drawn = figure.text(
            0.05, top, line, fontsize=HEADING_PT, fontweight="bold", color=CHART_INK, va="top"
        )
        fit(drawn, WIDTH_PX * 0.9)
        top -= 0.05
    figure.text(0.05, top - 0.005, chart.subtitle, fontsize=SMALL_PT, color=CHART_MUTED, va="top")

    labels = [fonts.drawable(series.label) for series in chart.series]
    columns = 2 if max(len(label) for label in labels) <= LEGEND_TWO_COLUMNS_MAX else 1
    legend_rows = math.ceil(len(labels) / columns)
    bottom = 0.12 + 0.06 * legend_rows
    axes = figure.add_axes((0.13, bottom, 0.79, top - 0.08 - bottom))
    axes.set_facecolor(CHART_BACKGROUND)
    axes.axhspan(0.5, 1.5, color=NUMBER_ONE_BAND, zorder=0)

    index = {period: position for position, period in enumerate(chart.periods)}
    for number, (series, label) in enumerate(zip(chart.series, labels, strict=True)):
        # Lines sharing a rank (five countries at #1) are drawn side by side within its band,
        # not on top of each other.
        offset = (number - (len(chart.series) - 1) / 2) * DODGE
        ranks: list[float] = [math.nan] * len(chart.periods)
        for period, rank in series.points:
            ranks[index[period]] = rank + offset
        axes.plot(
            [_days(chart.periods, p) for p in chart.periods],
            ranks,
            label=label,
            color=SERIES_COLOURS[number % len(SERIES_COLOURS)],
            marker=SERIES_MARKERS[number % len(SERIES_MARKERS)],
            markersize=11 if len(chart.periods) <= DENSE_PERIODS else 7,
            linewidth=4 if number == 0 else 3,
            zorder=10 - number,
            clip_on=False,
        )

    axes.set_ylim(10.5, 0.5)  # #1 at the top
    axes.yaxis.set_major_locator(FixedLocator(list(range(1, 11))))
    axes.set_yticklabels([f"#{rank}" for rank in range(1, 11)])
    _date_axis(axes, chart)
    axes.tick_params(labelsize=SMALL_PT, colors=CHART_INK, length=6, width=1.5)
    axes.grid(axis="y", color=GRID, linewidth=1)
    axes.grid(axis="x", color=GRID, linewidth=1, alpha=0.6)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        axes.spines[side].set_color(CHART_MUTED)
    figure.legend(
        loc="lower center",
        bbox_to_anchor=(0.5, 0.01),
        ncols=columns,
        fontsize=SMALL_PT,
        frameon=False,
        handlelength=2.2,
        columnspacing=1.6,
        labelcolor=CHART_INK,
    )
    return figure


def _date_axis(axes: Axes, chart: TitleRankChart) -> None:
    """Dates below, at a few of the chart's own periods ("Sep 19"), the year(s) under them."""
    periods = chart.periods
    positions = [_days(periods, p) for p in periods]
    pad = max((positions[-1] - positions[0]) * 0.03, 0.5)
    axes.set_xlim(positions[0] - pad, positions[-1] + pad)
    step = max(1, -(-(len(periods) - 1) // (MAX_DATE_TICKS - 1)))
    picks = sorted(range(len(periods) - 1, -1, -step))  # evenly spaced, the latest labelled
    axes.xaxis.set_major_locator(FixedLocator([positions[i] for i in picks]))
    axes.set_xticklabels([chart.period_labels[i] for i in picks])
    axes.set_xlabel(chart.axis_label, fontsize=SMALL_PT, color=CHART_MUTED, labelpad=10)


def _days(periods: tuple[date, ...], period: date) -> int:
    """A period's place on the x axis: days since the first period."""
    return (period - periods[0]).days
