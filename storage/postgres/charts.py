"""Chart history in PostgreSQL: accepted charts, the title index, rejections, engine states, meta.

The statements of storage/sqlite/charts.py in PostgreSQL's spelling ($n parameters, strpos,
NULLS FIRST); the rows hold the same encodings (storage/codec.py).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date
from typing import Any

from bot.models import Chart, ChartKey, Rejection
from bot.ports import Family, RankPoint, RankTally, StateJson, StoredRejection, TitleHit
from storage import codec
from storage.key_list import ChartKeyList
from storage.postgres.connection import Database, Transaction
from storage.rows import (
    CHART_COLUMNS,
    KEY_ORDER,
    REJECTION_COLUMNS,
    TALLY_COLUMNS,
    chart_from_row,
    rank_point_from_row,
    rank_tally_from_row,
    rank_tally_rows,
    recount_tallies_sql,
    rejection_from_row,
    replaced_title_keys,
    title_identity,
    title_mentions,
)

log = logging.getLogger(__name__)

KEY_MATCH = "source = $1 AND service = $2 AND region = $3 AND category = $4 AND granularity = $5"
_FAMILY_MATCH = "source = $1 AND service = $2 AND category = $3 AND granularity = $4"
# SQLite sorts a NULL season first; PostgreSQL needs telling (codec.title_order).
_TITLE_ORDER = "title_norm, title, title_id, season NULLS FIRST"

_INSERT_CHART = """
INSERT INTO charts (source, service, region, category, granularity, period, rows, expected_size,
                    extra, entries, stored_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (source, service, region, category, granularity, period) DO NOTHING
RETURNING id
"""

# The key table /top10, /records and /status list keys from (migration 0010).
_ADD_CHART_KEY = f"""
INSERT INTO chart_keys ({KEY_ORDER}) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT ({KEY_ORDER}) DO NOTHING
"""

_TALLY_IDENTITY = f"title_id, {KEY_ORDER}, rank"

_ADD_RANK_TALLIES = f"""
INSERT INTO rank_tallies ({TALLY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT ({_TALLY_IDENTITY}) DO UPDATE SET
    periods = rank_tallies.periods + excluded.periods,
    first_period = LEAST(rank_tallies.first_period, excluded.first_period),
    last_period = GREATEST(rank_tallies.last_period, excluded.last_period)
"""

# A title's tallies in one chart, counted again from title_ranks (after a chart was replaced).
_TITLE_AND_KEY = (
    "title_id = $1 AND source = $2 AND service = $3 AND region = $4 AND category = $5"
    " AND granularity = $6"
)
_FORGET_TALLIES = f"DELETE FROM rank_tallies WHERE {_TITLE_AND_KEY}"
_RECOUNT_TALLIES = recount_tallies_sql(_TITLE_AND_KEY)

_REPLACE_CHART = """
UPDATE charts SET rows = $1, expected_size = $2, extra = $3, entries = $4, stored_at = $5
WHERE id = $6
"""

_ADD_TITLE_MENTIONS = """
INSERT INTO titles (title_id, title, season, title_norm, entries) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (title_id, title, (coalesce(season, '')), (season IS NULL))
DO UPDATE SET entries = titles.entries + excluded.entries
"""

_UPSERT_CHART_STATE = """
INSERT INTO chart_state (source, service, region, category, granularity, state, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (source, service, region, category, granularity)
DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at
"""

_UPSERT_FAMILY_STATE = """
INSERT INTO family_state (source, service, category, granularity, state, updated_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (source, service, category, granularity)
DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at
"""

# A row of titles by its identity, as its unique index spells it (NULL never equals NULL).
_TITLE_MATCH = (
    "title_id = $2 AND title = $3 AND coalesce(season, '') = $4 AND (season IS NULL) = $5"
)


async def write_charts(tx: Transaction, charts: Sequence[Chart], now: str) -> None:
    """Store accepted charts (one per key and period); a chart of a stored key and period
    replaces it, keeping its id."""
    stored: list[tuple[int, Chart]] = []
    replaced: list[Chart] = []
    renewed: list[Chart] = []  # the charts that replace them
    for chart in charts:
        entries = codec.encode_entries(chart.entries)
        extra = codec.encode_extra(chart.extra)
        key_and_period = (*codec.key_columns(chart.key), chart.period.isoformat())
        inserted = await tx.fetch(
            _INSERT_CHART,
            *key_and_period,
            chart.rows,
            chart.expected_size,
            extra,
            entries,
            now,
        )
        if inserted:
            stored.append((int(inserted[0][0]), chart))
            continue
        old = await tx.fetch(
            f"SELECT id, {CHART_COLUMNS} FROM charts WHERE {KEY_MATCH} AND period = $6",
            *key_and_period,
        )
        chart_id = int(old[0][0])
        replaced.append(chart_from_row(old[0][1:]))
        renewed.append(chart)
        await tx.execute(
            _REPLACE_CHART, chart.rows, chart.expected_size, extra, entries, now, chart_id
        )
        await tx.execute("DELETE FROM title_ranks WHERE chart_id = $1", chart_id)
        stored.append((chart_id, chart))
    await tx.executemany(_ADD_CHART_KEY, sorted({codec.key_columns(chart.key) for chart in charts}))
    await tx.executemany(
        "INSERT INTO title_ranks (chart_id, position, title_id, rank) VALUES ($1, $2, $3, $4)",
        [
            (chart_id, position, entry.title_id, entry.rank)
            for chart_id, chart in stored
            for position, entry in enumerate(chart.entries)
        ],
    )
    await tx.executemany(
        _ADD_TITLE_MENTIONS,
        [
            (*title, codec.folded_title(title[1]), count)
            for title, count in title_mentions(charts).items()
        ],
    )
    await tx.executemany(
        _ADD_RANK_TALLIES, rank_tally_rows([chart for chart in charts if chart not in renewed])
    )
    if replaced:
        for identity in replaced_title_keys(replaced, renewed):
            await tx.execute(_FORGET_TALLIES, *identity)
            await tx.execute(_RECOUNT_TALLIES, *identity)
        gone = title_mentions(replaced)
        await tx.executemany(
            f"UPDATE titles SET entries = entries - $1 WHERE {_TITLE_MATCH}",
            [(count, *title_identity(title)) for title, count in gone.items()],
        )
        # The replaced charts held the last mention of these.
        await tx.executemany(
            f"DELETE FROM titles WHERE {_TITLE_MATCH} AND entries <= $1",
            [(0, *title_identity(title)) for title in gone],
        )
        log.info("replaced %d stored charts with corrected ones", len(replaced))


async def write_rejections(tx: Transaction, rejections: Sequence[Rejection], now: str) -> None:
    await tx.executemany(
        "INSERT INTO rejections (source, service, region, category, granularity, period, reason,"
        " rows, rejected_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        [
            (
                *codec.key_columns(rejection.chart.key),
                rejection.chart.period.isoformat(),
                rejection.reason,
                rejection.chart.rows,
                now,
            )
            for rejection in rejections
        ],
    )


async def write_states(
    tx: Transaction,
    chart_states: dict[ChartKey, StateJson],
    family_states: dict[Family, StateJson],
    now: str,
) -> None:
    await tx.executemany(
        _UPSERT_CHART_STATE,
        [
            (*codec.key_columns(key), codec.encode_state(state), now)
            for key, state in chart_states.items()
        ],
    )
    await tx.executemany(
        _UPSERT_FAMILY_STATE,
        [(*family, codec.encode_state(state), now) for family, state in family_states.items()],
    )


class PostgresCharts:
    """The reads of the Storage port over the chart history tables."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._keys = ChartKeyList()

    async def get_meta(self, name: str) -> str | None:
        rows = await self._db.read("SELECT value FROM meta WHERE name = $1", name)
        return str(rows[0][0]) if rows else None

    async def set_meta(self, name: str, value: str) -> None:
        await self._db.execute(
            "INSERT INTO meta (name, value) VALUES ($1, $2)"
            " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            name,
            value,
        )

    async def load_chart_state(self, key: ChartKey) -> StateJson | None:
        rows = await self._db.read(
            f"SELECT state FROM chart_state WHERE {KEY_MATCH}", *codec.key_columns(key)
        )
        return codec.decode_state(rows[0][0]) if rows else None

    async def load_chart_states(self, keys: Sequence[ChartKey]) -> dict[ChartKey, StateJson]:
        columns = list(zip(*(codec.key_columns(key) for key in set(keys)), strict=True))
        if not columns:
            return {}
        rows = await self._db.read(
            f"SELECT {KEY_ORDER}, state FROM chart_state WHERE ({KEY_ORDER}) IN"
            " (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]))",
            *(list(column) for column in columns),
        )
        return {codec.key_from_columns(*row[:5]): codec.decode_state(row[5]) for row in rows}

    async def load_family_state(self, family: Family) -> StateJson | None:
        rows = await self._db.read(f"SELECT state FROM family_state WHERE {_FAMILY_MATCH}", *family)
        return codec.decode_state(rows[0][0]) if rows else None

    async def latest_chart(self, key: ChartKey, on_or_before: date | None = None) -> Chart | None:
        params: list[Any] = list(codec.key_columns(key))
        bound = ""
        if on_or_before is not None:
            bound = " AND period <= $6"
            params.append(on_or_before.isoformat())
        rows = await self._db.read(
            f"SELECT {CHART_COLUMNS} FROM charts WHERE {KEY_MATCH}{bound}"
            " ORDER BY period DESC LIMIT 1",
            *params,
        )
        return chart_from_row(rows[0]) if rows else None

    async def has_chart(self, key: ChartKey, period: date) -> bool:
        rows = await self._db.read(
            f"SELECT 1 FROM charts WHERE {KEY_MATCH} AND period = $6",
            *codec.key_columns(key),
            period.isoformat(),
        )
        return bool(rows)

    async def chart_keys(self, source: str | None = None) -> list[ChartKey]:
        # The key table (a few hundred rows), not the history: see migration 0010.
        return await self._keys.current(self._db.read, source)

    async def family_charts(self, family: Family, period: date) -> list[Chart]:
        rows = await self._db.read(
            f"SELECT {CHART_COLUMNS} FROM charts WHERE {_FAMILY_MATCH} AND period = $5"
            f" ORDER BY {KEY_ORDER}",
            *family,
            period.isoformat(),
        )
        return [chart_from_row(row) for row in rows]

    async def latest_period(self, family: Family) -> date | None:
        # ORDER BY … LIMIT 1 rather than max(): one step back along charts_by_family_period
        # whatever the planner's statistics say (without them, PostgreSQL aggregated the
        # family's every chart: 190 ms at 5M rows).
        rows = await self._db.read(
            f"SELECT period FROM charts WHERE {_FAMILY_MATCH} ORDER BY period DESC LIMIT 1",
            *family,
        )
        return date.fromisoformat(rows[0][0]) if rows else None

    async def recent_rejections(self, limit: int = 20) -> list[StoredRejection]:
        rows = await self._db.read(
            f"SELECT {REJECTION_COLUMNS} FROM rejections"
            " ORDER BY rejected_at DESC, id DESC LIMIT $1",
            codec.check_limit(limit),
        )
        return [rejection_from_row(row) for row in rows]

    async def search_titles(self, text: str, limit: int = 25) -> list[TitleHit]:
        needle = codec.folded_title(text)
        # A substring scan over the distinct titles (thousands), not over every entry.
        rows = await self._db.read(
            "SELECT title_id, title, season FROM titles WHERE strpos(title_norm, $1) > 0"
            f" ORDER BY strpos(title_norm, $1), {_TITLE_ORDER} LIMIT $2",
            needle,
            codec.check_limit(limit),
        )
        return [TitleHit(row[0], row[1], row[2]) for row in rows]

    async def titles_version(self) -> int:
        # Kept by triggers on titles (migration 0014).
        return int((await self._db.read("SELECT version FROM titles_version"))[0][0])

    async def all_titles(self) -> list[TitleHit]:
        rows = await self._db.read(
            f"SELECT title_id, title, season FROM titles ORDER BY {_TITLE_ORDER}"
        )
        return [TitleHit(row[0], row[1], row[2]) for row in rows]

    async def title_history(self, title_id: str, since: date | None = None) -> list[RankPoint]:
        rows = await self._db.read(
            "SELECT c.source, c.service, c.region, c.category, c.granularity, c.period, t.rank"
            " FROM title_ranks AS t JOIN charts AS c ON c.id = t.chart_id"
            " WHERE t.title_id = $1 AND c.period >= $2"
            " ORDER BY c.period, c.source, c.service, c.region, c.category, c.granularity,"
            " t.rank, t.position",
            title_id,
            (since or date.min).isoformat(),
        )
        return [rank_point_from_row(row) for row in rows]

    async def rank_tallies(
        self, title_ids: Sequence[str], key: ChartKey | None = None
    ) -> list[RankTally]:
        # With a key, each title is one short range of the primary key (a hit's tallies in
        # every country are thousands of rows).
        in_key = "" if key is None else f" AND ({KEY_ORDER}) = ($2, $3, $4, $5, $6)"
        key_params = () if key is None else codec.key_columns(key)
        rows = await self._db.read(
            f"SELECT {TALLY_COLUMNS} FROM rank_tallies WHERE title_id = ANY($1::text[]){in_key}"
            f" ORDER BY {_TALLY_IDENTITY}",
            sorted(set(title_ids)),
            *key_params,
        )
        return [rank_tally_from_row(row) for row in rows]
