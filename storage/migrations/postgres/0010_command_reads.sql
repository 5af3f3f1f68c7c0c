-- Every chart key with at least one accepted chart, written with the charts (issue 19): see the
-- SQLite migration of the same number.
CREATE TABLE chart_keys (
    source TEXT COLLATE "C" NOT NULL,
    service TEXT COLLATE "C" NOT NULL,
    region TEXT COLLATE "C" NOT NULL,
    category TEXT COLLATE "C" NOT NULL,
    granularity TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (source, service, region, category, granularity)
);

INSERT INTO chart_keys (source, service, region, category, granularity)
SELECT DISTINCT source, service, region, category, granularity FROM charts;

-- How many periods each title held each rank in each chart, first and last (issue 19): see the
-- SQLite migration of the same number.
CREATE TABLE rank_tallies (
    title_id TEXT COLLATE "C" NOT NULL,
    source TEXT COLLATE "C" NOT NULL,
    service TEXT COLLATE "C" NOT NULL,
    region TEXT COLLATE "C" NOT NULL,
    category TEXT COLLATE "C" NOT NULL,
    granularity TEXT COLLATE "C" NOT NULL,
    rank INTEGER NOT NULL,
    periods INTEGER NOT NULL CHECK (periods > 0),
    first_period TEXT COLLATE "C" NOT NULL,
    last_period TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (title_id, source, service, region, category, granularity, rank),
    FOREIGN KEY (source, service, region, category, granularity) REFERENCES chart_keys
);

INSERT INTO rank_tallies (title_id, source, service, region, category, granularity, rank,
                          periods, first_period, last_period)
SELECT t.title_id, c.source, c.service, c.region, c.category, c.granularity, t.rank,
       count(*), min(c.period), max(c.period)
FROM title_ranks AS t JOIN charts AS c ON c.id = t.chart_id
GROUP BY t.title_id, c.source, c.service, c.region, c.category, c.granularity, t.rank;
