"""One FlixPatrol list table → entries (pure): rank, title link, days or points, change badge.

A country row has four cells: rank "1.", a change badge (its `bg-*` class gives the direction),
the title link `/title/<slug>/`, days in the Top 10 ("181&nbsp;d", may be empty); a world row has
three: rank, title link, points. Only the table's own rows count: never the poster link to the #1
title before it, nor the rows of a table nested in a cell.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlparse

from selectolax.lexbor import LexborNode

from bot.models import Entry

# Badge class → how the change is written in Chart.extra.
_CHANGE_SAME = "bg-warning"
_CHANGE_UP = "bg-success"
_CHANGE_DOWN = "bg-danger"
_CHANGE_NEW = "bg-info"
_BADGE_CLASSES = frozenset({_CHANGE_SAME, _CHANGE_UP, _CHANGE_DOWN, _CHANGE_NEW})

_RANK = re.compile(r"^(?P<rank>\d{1,3})\.?$")
_DAYS = re.compile(r"^(?P<days>\d{1,5})\s*d$")
_POINTS = re.compile(r"^(?P<points>\d{1,3}(?:[,.\s]\d{3})*|\d+)$")


def node_text(node: LexborNode | None) -> str:
    """Visible text of a node, whitespace (including &nbsp;) collapsed to single spaces."""
    if node is None:
        return ""
    return " ".join(node.text(deep=True, separator=" ").split())


def classes(node: LexborNode) -> set[str]:
    return set((node.attributes.get("class") or "").split())


def has_class(node: LexborNode, name: str) -> bool:
    return name in classes(node)


def list_rows(table: LexborNode) -> tuple[list[Entry], dict[int, str], list[str]]:
    """Entries of one list table; only rows inside the table count (never the poster link)."""
    entries: list[Entry] = []
    changes: dict[int, str] = {}
    problems: list[str] = []
    for position, row in enumerate(_table_rows(table), start=1):
        cells = [cell for cell in row.iter(include_text=False) if cell.tag == "td"]
        if not cells:
            continue  # a header row
        entry, change, problem = _row(cells, position)
        if problem is not None:
            problems.append(problem)
        if entry is None:
            continue
        entries.append(entry)
        if change is not None:
            changes[entry.rank] = change
    return entries, changes, problems


def _table_rows(table: LexborNode) -> list[LexborNode]:
    """The table's own rows, not those of a table nested in a cell."""
    return [row for row in table.css("tr") if _nearest_table(row) == table]


def _nearest_table(node: LexborNode) -> LexborNode | None:
    parent = node.parent
    while parent is not None and parent.tag != "table":
        parent = parent.parent
    return parent


def _row(cells: list[LexborNode], position: int) -> tuple[Entry | None, str | None, str | None]:
    rank_match = _RANK.match(node_text(cells[0]))
    if rank_match is None:
        return None, None, f"row {position}: no rank in {node_text(cells[0])!r}"
    rank = int(rank_match["rank"])
    link_index, link = _title_link(cells)
    if link is None:
        return None, None, f"rank {rank}: no /title/ link"
    slug = _title_slug(link)
    title = node_text(link)
    if not slug or not title:
        return None, None, f"rank {rank}: empty title link"

    days: int | None = None
    points: int | None = None
    for cell in cells[link_index + 1 :]:
        value = node_text(cell)
        if days_match := _DAYS.match(value):
            days = int(days_match["days"])
        elif points_match := _POINTS.match(value):
            points = int(re.sub(r"\D", "", points_match["points"]))
    change = _change(cells[1:link_index])
    entry = Entry(
        rank=rank,
        title_id=f"fp:{slug}",
        title=title,
        points=points,
        days_in_top10=days,
    )
    return entry, change, None


def _title_link(cells: list[LexborNode]) -> tuple[int, LexborNode | None]:
    for index, cell in enumerate(cells):
        for link in cell.css("a[href]"):
            if _title_slug(link):
                return index, link
    return len(cells), None


def _title_slug(link: LexborNode) -> str:
    """'/title/sugar-2024/' (or the absolute URL) → 'sugar-2024'; '' for any other link."""
    path = urlparse(link.attributes.get("href") or "").path
    if not path.startswith("/title/"):
        return ""
    return path.removeprefix("/title/").strip("/")


def _change(cells: Iterable[LexborNode]) -> str | None:
    """The change badge between the rank and the title: '+3', '0', '-2', 'new', or None."""
    for cell in cells:
        for node in (cell, *cell.css("*")):
            badge = classes(node) & _BADGE_CLASSES
            if not badge:
                continue
            kind = next(iter(badge))
            digits = "".join(ch for ch in node_text(node) if ch.isdigit())
            if kind == _CHANGE_NEW:
                return "new"
            if kind == _CHANGE_SAME:
                return "0"
            if not digits:
                return None
            sign = "+" if kind == _CHANGE_UP else "-"
            return f"{sign}{int(digits)}"
    return None
