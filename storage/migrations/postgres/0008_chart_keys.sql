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
