"""How rows of the SQL backends' tables become the port's values, and back: SQLite and
PostgreSQL store the same columns with the same encodings (storage/codec.py), so they read them
the same way and differ only in how they spell their statements."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from typing import Any

from bot.models import Chart
from bot.ports import RankPoint, RankTally, StoredRejection
from bot.subscriptions import ChatSettings, Destination, Subscription, SubscriptionSpec
from storage import codec

# -- chart history ------------------------------------------------------------------------------

KEY_ORDER = "source, service, region, category, granularity"
CHART_COLUMNS = f"{KEY_ORDER}, period, expected_size, extra, entries"
REJECTION_COLUMNS = f"{KEY_ORDER}, period, reason, rows, rejected_at"

# One (title_id, title, season) as the titles table identifies it.
TitleIdentity = tuple[str, str, str | None]


def title_identity(title: TitleIdentity) -> tuple[str, str, str, bool]:
    """The values of a title's unique index: (title_id, title, coalesce(season, ''), season IS
    NULL), since NULL never equals NULL."""
    title_id, name, season = title
    return (title_id, name, season or "", season is None)


def title_mentions(charts: Sequence[Chart]) -> dict[TitleIdentity, int]:
    """How many entries of `charts` name each title."""
    counts: dict[TitleIdentity, int] = {}
    for chart in charts:
        for entry in chart.entries:
            identity = (entry.title_id, entry.title, entry.season)
            counts[identity] = counts.get(identity, 0) + 1
    return counts


def chart_from_row(row: Sequence[Any]) -> Chart:
    """A Chart from a row of CHART_COLUMNS."""
    return Chart(
        key=codec.key_from_columns(*row[0:5]),
        period=date.fromisoformat(row[5]),
        entries=codec.decode_entries(row[8]),
        expected_size=row[6],
        extra=codec.decode_extra(row[7]),
    )


def rejection_from_row(row: Sequence[Any]) -> StoredRejection:
    """A StoredRejection from a row of REJECTION_COLUMNS."""
    return StoredRejection(
        key=codec.key_from_columns(*row[0:5]),
        period=date.fromisoformat(row[5]),
        reason=row[6],
        rows=row[7],
        rejected_at=codec.decode_time(row[8]),
    )


def rank_point_from_row(row: Sequence[Any]) -> RankPoint:
    """A RankPoint from a row of a chart's key columns, its period and a rank."""
    return RankPoint(codec.key_from_columns(*row[0:5]), date.fromisoformat(row[5]), row[6])


TALLY_COLUMNS = f"title_id, {KEY_ORDER}, rank, periods, first_period, last_period"


def recount_tallies_sql(title_and_key: str) -> str:
    """INSERT … SELECT of one title's tallies in one chart (`title_and_key`: its WHERE, with the
    dialect's parameters), counted again from title_ranks after a chart was replaced. Column names
    are unique across the two tables: title_id is title_ranks', the key is charts'."""
    return f"""
INSERT INTO rank_tallies ({TALLY_COLUMNS})
SELECT t.title_id, c.source, c.service, c.region, c.category, c.granularity, t.rank,
       count(*), min(c.period), max(c.period)
FROM charts AS c JOIN title_ranks AS t ON t.chart_id = c.id
WHERE {title_and_key}
GROUP BY t.title_id, c.source, c.service, c.region, c.category, c.granularity, t.rank
"""


def rank_tally_rows(charts: Sequence[Chart]) -> list[tuple[Any, ...]]:
    """The rank tallies `charts` add, as rows of TALLY_COLUMNS in key order (so that two
    transactions never take the same rows' locks in opposite orders)."""
    tallies: dict[tuple[Any, ...], tuple[int, str, str]] = {}
    for chart in charts:
        period = chart.period.isoformat()
        for entry in chart.entries:
            identity = (entry.title_id, *codec.key_columns(chart.key), entry.rank)
            before = tallies.get(identity)
            tallies[identity] = (
                (1, period, period)
                if before is None
                else (before[0] + 1, min(before[1], period), max(before[2], period))
            )
    return [(*identity, *tally) for identity, tally in sorted(tallies.items())]


# A show's tallies repeat a few hundred keys and days over thousands of rows, and every /top10
# lists every key: each key and day is made once.
key_of = lru_cache(maxsize=4096)(codec.key_from_columns)
_day_of = lru_cache(maxsize=8192)(date.fromisoformat)


def rank_tally_from_row(row: Sequence[Any]) -> RankTally:
    """A RankTally from a row of TALLY_COLUMNS."""
    return RankTally(
        title_id=row[0],
        key=key_of(*row[1:6]),
        rank=row[6],
        periods=row[7],
        first=_day_of(row[8]),
        last=_day_of(row[9]),
    )


def replaced_title_keys(old: Sequence[Chart], new: Sequence[Chart]) -> list[tuple[str, ...]]:
    """(title_id, key columns…) of every title of replaced charts and of their replacements:
    their tallies are counted again from title_ranks."""
    return sorted(
        {
            (entry.title_id, *codec.key_columns(chart.key))
            for chart in (*old, *new)
            for entry in chart.entries
        }
    )


# -- subscriptions ------------------------------------------------------------------------------

SUBSCRIPTION_COLUMNS = """
s.id, d.platform, d.chat_id, d.thread_id,
s.show, s.show_title, s.service, s.region, s.category, s.event_types, s.details
"""


def destination_params(destination: Destination) -> tuple[str, str, str]:
    """The destination's (platform, chat_id, thread_id) columns; '' for no topic."""
    return (destination.platform, destination.chat_id, destination.thread_id or "")


def subscription_from_row(row: Sequence[Any]) -> Subscription:
    """A Subscription from a row of SUBSCRIPTION_COLUMNS."""
    return Subscription(
        id=int(row[0]),
        destination=Destination(row[1], row[2], row[3] or None),
        spec=SubscriptionSpec(
            show=row[4],
            show_title=row[5],
            service=row[6],
            region=row[7],
            category=row[8],
            event_types=codec.decode_types(row[9]),
            details=bool(row[10]),
        ),
    )


# A destination's settings, as `settings_from_row` reads them and `settings_row` writes them.
SETTINGS_COLUMNS = (
    "timezone",
    "event_types",
    "quiet_start",
    "quiet_end",
    "language",
    "digest_at",
)


def settings_from_row(row: Sequence[Any]) -> ChatSettings:
    """ChatSettings from a row of SETTINGS_COLUMNS."""
    return ChatSettings(
        timezone=row[0],
        event_types=codec.decode_types(row[1]),
        quiet_start=codec.decode_clock_time(row[2]),
        quiet_end=codec.decode_clock_time(row[3]),
        language=row[4],
        digest_at=codec.decode_clock_time(row[5]),
    )


def settings_row(settings: ChatSettings) -> tuple[Any, ...]:
    """The values of SETTINGS_COLUMNS for ChatSettings."""
    return (
        settings.timezone,
        codec.encode_types(settings.event_types),
        codec.encode_clock_time(settings.quiet_start),
        codec.encode_clock_time(settings.quiet_end),
        settings.language,
        codec.encode_clock_time(settings.digest_at),
    )
