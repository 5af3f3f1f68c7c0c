-- Chart history, engine state, events and small facts.
-- Dates are ISO text (YYYY-MM-DD sorts correctly as text); timestamps are ISO 8601 in UTC.

-- One row per accepted chart period; a corrected chart of the same key and period replaces it.
-- The ranked rows are one JSON array per chart, in the order the source listed them, each
-- [rank, title_id, title, season, points, days_in_top10, weeks_in_top10, hours, views, runtime]
-- (storage/codec.py). A chart is always read whole, and one row per chart instead of one per
-- entry is what lets a full replay store 2-3x more rows per second (bench/storage_write.py).
CREATE TABLE charts (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    service TEXT NOT NULL,
    region TEXT NOT NULL,
    category TEXT NOT NULL,
    granularity TEXT NOT NULL CHECK (granularity IN ('daily', 'weekly', 'alltime')),
    period TEXT NOT NULL,
    rows INTEGER NOT NULL,
    expected_size INTEGER NOT NULL,
    extra TEXT,  -- JSON object of Chart.extra, NULL when empty
    entries TEXT NOT NULL,
    stored_at TEXT NOT NULL,
    -- Also answers "latest chart of a key" (scan backwards on period) and "every key".
    UNIQUE (source, service, region, category, granularity, period)
);

-- All regions of one family for one period ("#1 in 53 countries"), and a family's latest period.
CREATE INDEX charts_by_family_period ON charts (source, service, category, granularity, period);

-- A title's runs: which charts mention a title_id. Each chart is one document of title tokens
-- (a hash of each entry's title_id, storage/sqlite.py); rowid = charts.id. FTS5 is SQLite's
-- inverted index: it buffers a transaction's terms and writes them as one segment, where an
-- index on a per-entry table would cost one random B-tree insert per entry. Contentless, so
-- removing a replaced chart passes its tokens again ('delete' command).
CREATE VIRTUAL TABLE chart_titles USING fts5 (
    tokens,
    content = '',
    detail = none,
    tokenize = 'ascii'
);

-- Distinct titles of the stored charts with a folded display title, for /title search and
-- autocomplete (a substring scan over thousands of titles, not over every entry).
CREATE TABLE titles (
    title_id TEXT NOT NULL,
    title TEXT NOT NULL,
    season TEXT,
    title_norm TEXT NOT NULL,
    -- How many stored entries name this title; the row goes when a replaced chart held the last.
    entries INTEGER NOT NULL
);

-- NULL never equals NULL in a UNIQUE constraint, so a missing season is spelled out for identity.
CREATE UNIQUE INDEX titles_identity ON titles (title_id, title, coalesce(season, ''), season IS NULL);

-- Charts the gate refused, with the reason, for operators.
CREATE TABLE rejections (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    service TEXT NOT NULL,
    region TEXT NOT NULL,
    category TEXT NOT NULL,
    granularity TEXT NOT NULL,
    period TEXT NOT NULL,
    reason TEXT NOT NULL,
    rows INTEGER NOT NULL,
    rejected_at TEXT NOT NULL
);

CREATE INDEX rejections_by_time ON rejections (rejected_at);

-- Diff engine state per chart key and per family (opaque JSON written by bot.diff).
CREATE TABLE chart_state (
    source TEXT NOT NULL,
    service TEXT NOT NULL,
    region TEXT NOT NULL,
    category TEXT NOT NULL,
    granularity TEXT NOT NULL,
    state TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (source, service, region, category, granularity)
);

CREATE TABLE family_state (
    source TEXT NOT NULL,
    service TEXT NOT NULL,
    category TEXT NOT NULL,
    granularity TEXT NOT NULL,
    state TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (source, service, category, granularity)
);

-- Every event ever detected. The deterministic key makes replays and restarts idempotent.
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    source TEXT NOT NULL,
    service TEXT NOT NULL,
    region TEXT NOT NULL,
    category TEXT NOT NULL,
    granularity TEXT NOT NULL,
    period TEXT NOT NULL,
    title_id TEXT NOT NULL,
    json TEXT NOT NULL,  -- Event.to_json()
    created_at TEXT NOT NULL
);

CREATE INDEX events_by_title ON events (title_id);

-- Small key/value facts: HTTP validators per URL, last poll times.
CREATE TABLE meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
