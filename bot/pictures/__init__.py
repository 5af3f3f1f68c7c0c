"""Pictures: a title's rank chart for /title, a chart card for the burst of a followed chart.

- `model`: what a picture shows, as plain data; `Picture` (PNG bytes); the `PictureRenderer`
  port (handlers.pictures draws with matplotlib, off the event loop).
- `title_chart`, `chart_card`: pure, which lines and rows a picture shows.
- `service`: `PictureService`, reading storage, drawing through the port, caching.

The core never imports a drawing library (an import-linter contract). This package's root only
re-exports the model: bot.ports imports it, and must not pull storage reads in with it.
"""

from bot.pictures.model import (
    CardRow,
    ChartCard,
    ChartRef,
    Picture,
    PictureRenderer,
    PictureUnavailable,
    RankSeries,
    TitleRankChart,
)

__all__ = [
    "CardRow",
    "ChartCard",
    "ChartRef",
    "Picture",
    "PictureRenderer",
    "PictureUnavailable",
    "RankSeries",
    "TitleRankChart",
]
