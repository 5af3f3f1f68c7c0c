"""What a picture shows, as plain data, and the port that draws it.

The core decides what to draw (which charts, which ranks, which words); an adapter
(handlers/pictures, matplotlib) decides how. Nothing here imports a drawing library.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from bot.chart_movement import Movement
from bot.models import ChartKey, Granularity


@dataclass(frozen=True, slots=True)
class Picture:
    """An image attached to a reply or an alert: PNG bytes, the file name platforms show, and
    a short description (alt text where the platform has one)."""

    data: bytes
    filename: str
    description: str = ""
    # The bytes' digest: the same picture has the same digest (Telegram re-sends it by file id).
    digest: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        digest = hashlib.blake2b(self.data, digest_size=12).hexdigest()
        object.__setattr__(self, "digest", digest)


@dataclass(frozen=True, slots=True)
class RankSeries:
    """One line of a title's rank chart: its ranks in one chart, period by period."""

    label: str  # "Worldwide", "South Korea"
    points: tuple[tuple[date, int], ...]  # (period, rank), oldest first, one per period


@dataclass(frozen=True, slots=True)
class TitleRankChart:
    """A title's rank over time in the worldwide chart and the countries it charted most."""

    title: str  # the show's name, as the source gives it
    subtitle: str  # "Netflix Top 10 (official) · weekly rank"
    granularity: Granularity  # weekly or daily: one point per week or per day
    series: tuple[RankSeries, ...]  # worldwide first; at most MAX_SERIES
    periods: tuple[date, ...]  # every period of the chosen charts in the shown span, sorted
    period_labels: tuple[str, ...]  # each period as the axis says it: "Sep 19", "9월 19일"
    axis_label: str  # under the dates: "week ending · 2021"


@dataclass(frozen=True, slots=True)
class CardRow:
    """One line of a chart card."""

    rank: int
    title: str
    movement: Movement
    mark: str  # the movement in words or signs, in the chat's language: "▲3", "NEW", "="
    places: int = 0  # how many places up or down
    detail: str = ""  # what the source measures, as /top10 says it: "4 wk · 412.9M h"


@dataclass(frozen=True, slots=True)
class ChartCard:
    """A Top 10 chart as an image: heading, ranks 1–10 with movement and the source's metric."""

    heading: str  # "South Korea · TV"
    subtitle: str  # "Netflix Top 10 (official) · week ending 2021-10-03"
    rows: tuple[CardRow, ...]


@dataclass(frozen=True, slots=True, order=True)
class ChartRef:
    """One period of one chart: what a burst's card image shows (kept in a digest part, so a
    message sent again after a crash carries the same picture)."""

    key: ChartKey
    period: date


class PictureUnavailable(Exception):
    """The renderer cannot draw this faithfully (e.g. no installed font has a title's
    characters): the message goes out without its picture rather than with broken text."""


class PictureRenderer(Protocol):
    """Draws pictures off the event loop (handlers.pictures implements it with matplotlib).

    Each method returns PNG bytes, or raises PictureUnavailable."""

    async def title_chart(self, chart: TitleRankChart) -> bytes: ...

    async def chart_card(self, card: ChartCard) -> bytes: ...
