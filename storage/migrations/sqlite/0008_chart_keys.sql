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
