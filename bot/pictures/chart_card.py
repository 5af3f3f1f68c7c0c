"""What a chart card shows: pure, from a chart and the one before it."""

from __future__ import annotations

from collections.abc import Collection

from bot.models import Chart
from bot.pictures.model import CardRow, ChartCard, entry_movements
from bot.pictures.title_chart import SOURCE_LABELS, picture_filename
from bot.render import (
    chart_label,
    display_title,
    entry_metrics,
    period_label,
    region_label,
    service_name,
)


def chart_card(chart: Chart, previous: Chart | None, returning: Collection[str] = ()) -> ChartCard:
    """Ranks, titles, movement against `previous` and what the source measures.

    `returning`: title ids absent from `previous` that were in this chart before (re-entries,
    marked apart from debuts)."""
    key = chart.key
    rows = [
        CardRow(
            entry.rank,
            display_title(entry.title, entry.season),
            movement,
            places,
            entry_metrics(entry),
        )
        for entry, movement, places in entry_movements(chart, previous, returning)
    ]
    source = SOURCE_LABELS.get(key.source, key.source)
    if key.source != key.service:
        source += f" · {service_name(key.service)}"
    return ChartCard(
        heading=f"{region_label(key.region)} · {key.category}",
        subtitle=f"{source} · {period_label(key.granularity, chart.period)}",
        rows=tuple(rows),
    )


def card_filename(chart: Chart) -> str:
    key = chart.key
    return picture_filename("top10", f"{key.region}-{key.category}-{chart.period.isoformat()}")


def card_description(chart: Chart) -> str:
    return f"Top 10 — {chart_label(chart.key)}, {period_label(chart.key.granularity, chart.period)}"
