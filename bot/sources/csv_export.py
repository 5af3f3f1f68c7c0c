"""Writing the canonical CSV: charts out as the lines bot.sources.csv_import reads back in.

Separate from the reader because exporting is its own job (choosing the columns a set of charts
needs, formatting numbers so they read back the same): it shares only the column names and the
granularities with the reader, and nothing that reads a file needs the writer.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence

from bot.models import Chart, Entry, make_title_id
from bot.sources.csv_import import CSV_GRANULARITIES, OPTIONAL_COLUMNS, REQUIRED_COLUMNS


def _format_number(value: float | None) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return repr(value)  # "2.0" stays a float on the way back in
    return str(value)


def _entry_values(entry: Entry) -> dict[str, str]:
    return {
        "season": entry.season or "",
        "title_id": entry.title_id,
        "points": _format_number(entry.points),
        "days_in_top10": _format_number(entry.days_in_top10),
        "weeks_in_top10": _format_number(entry.weeks_in_top10),
        "hours": _format_number(entry.hours),
        "views": _format_number(entry.views),
        "runtime": _format_number(entry.runtime),
    }


def _needed_columns(charts: Sequence[Chart]) -> list[str]:
    """Required columns plus the optional ones that carry a value somewhere (compact exports)."""
    needed = list(REQUIRED_COLUMNS)
    for column in OPTIONAL_COLUMNS:
        if column == "granularity":
            used = any(chart.key.granularity != "daily" for chart in charts)
        elif column == "title_id":
            used = any(
                entry.title_id != make_title_id(entry.title, entry.season)
                for chart in charts
                for entry in chart.entries
            )
        else:
            used = any(_entry_values(entry)[column] for chart in charts for entry in chart.entries)
        if used:
            needed.append(column)
    return needed


def canonical_csv_lines(charts: Sequence[Chart]) -> Iterator[str]:
    """Write charts as canonical CSV lines (each ending in a newline), header first.

    The source of each chart is not written: on the way back in every chart has source "csv".
    Optional columns appear only when some entry has a value for them. All-time lists have no
    canonical form (they are dated snapshots, not periods) and raise ValueError.
    """
    columns = _needed_columns(charts)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(columns)
    yield flush()
    for chart in charts:
        if chart.key.granularity not in CSV_GRANULARITIES:
            raise ValueError(f"{chart.label()}: only daily and weekly charts have a CSV form")
        for entry in chart.entries:
            values = {
                "date": chart.period.isoformat(),
                "service": chart.key.service,
                "region": chart.key.region,
                "category": chart.key.category,
                "rank": str(entry.rank),
                "title": entry.title,
                "granularity": chart.key.granularity,
                **_entry_values(entry),
            }
            writer.writerow([values[column] for column in columns])
            yield flush()
