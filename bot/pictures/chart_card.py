"""What a chart card shows: pure, from a chart and the one before it."""

from __future__ import annotations

from collections.abc import Collection

from bot.chart_movement import entry_movements, movement_mark
from bot.i18n import Translator
from bot.models import Chart
from bot.pictures.model import CardRow, ChartCard
from bot.pictures.title_chart import picture_filename
from bot.render import (
    category_label,
    display_title,
    entry_metrics,
    period_label,
    region_label,
    service_name,
    source_name,
    top10_title,
)


def chart_card(
    chart: Chart, previous: Chart | None, tr: Translator, returning: Collection[str] = ()
) -> ChartCard:
    """Ranks, titles, movement against `previous` and what the source measures, in the reader's
    language. `returning`: title ids absent from `previous` that were in this chart before
    (re-entries, marked apart from debuts)."""
    key = chart.key
    rows = [
        CardRow(
            entry.rank,
            display_title(entry.title, entry.season),
            movement,
            movement_mark(movement, places, new=tr._("NEW"), back=tr._("BACK")),
            places,
            entry_metrics(entry, tr),
        )
        for entry, movement, places in entry_movements(chart, previous, returning)
    ]
    source = source_name(key.source, tr)
    if key.source != key.service:
        source += f" · {service_name(key.service)}"
    return ChartCard(
        heading=f"{region_label(key.region, tr)} · {category_label(key.category, tr)}",
        subtitle=f"{source} · {period_label(key.granularity, chart.period, tr)}",
        rows=tuple(rows),
    )


def card_filename(chart: Chart) -> str:
    key = chart.key
    return picture_filename("top10", f"{key.region}-{key.category}-{chart.period.isoformat()}")


def card_description(chart: Chart, tr: Translator) -> str:
    """Alt text: the heading /top10 and a live message give the chart, and its period."""
    return f"{top10_title(chart.key, tr)}, {period_label(chart.key.granularity, chart.period, tr)}"
