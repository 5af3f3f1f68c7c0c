-- Every chart key with at least one accepted chart, written with the charts (issue 19).
--
-- /top10, /records and /status start from the list of keys; `SELECT DISTINCT … FROM charts` read
-- the whole history for it (80 ms at 4 years of daily charts, growing every day), where this
-- table holds a few hundred rows. chart_state is not that list: a chart can be stored without an
-- engine state (a store that only keeps history), so the keys have their own table, filled in
-- the transaction that stores a chart (INSERT … ON CONFLICT DO NOTHING). Charts are replaced,
-- never deleted, so a key once listed stays true.
CREATE TABLE chart_keys (
    source TEXT NOT NULL,
    service TEXT NOT NULL,
    region TEXT NOT NULL,
    category TEXT NOT NULL,
    granularity TEXT NOT NULL,
    PRIMARY KEY (source, service, region, category, granularity)
);

INSERT INTO chart_keys (source, service, region, category, granularity)
SELECT DISTINCT source, service, region, category, granularity FROM charts;

-- How many periods each title held each rank in each chart, first and last (issue 19).
--
-- /title summarises a show's whole history: weeks at #1, best rank and when, where it charted
-- last. Read from title_ranks, a hit is tens of thousands of rows (Squid Game: 25,940 charts in
-- four years), each joined to its chart: ~0.4 s. Here it is a few hundred rows of one index
-- range. Written with the charts: an upsert per entry of a new chart; a replaced chart's titles
-- are tallied again from title_ranks for that chart's key.
CREATE TABLE rank_tallies (
    title_id TEXT NOT NULL,
    source TEXT NOT NULL,
    service TEXT NOT NULL,
    region TEXT NOT NULL,
    category TEXT NOT NULL,
    granularity TEXT NOT NULL,
    rank INTEGER NOT NULL,
    periods INTEGER NOT NULL CHECK (periods > 0),
    first_period TEXT NOT NULL,
    last_period TEXT NOT NULL,
    PRIMARY KEY (title_id, source, service, region, category, granularity, rank),
    FOREIGN KEY (source, service, region, category, granularity) REFERENCES chart_keys
) WITHOUT ROWID;

INSERT INTO rank_tallies (title_id, source, service, region, category, granularity, rank,
                          periods, first_period, last_period)
SELECT t.title_id, c.source, c.service, c.region, c.category, c.granularity, t.rank,
       count(*), min(c.period), max(c.period)
FROM title_ranks AS t JOIN charts AS c ON c.id = t.chart_id
GROUP BY t.title_id, c.source, c.service, c.region, c.category, c.granularity, t.rank;
