-- migrate: foreign_keys off
-- Invariants in the schema again, in SQL a PostgreSQL port can run as it is:
--
-- * one row per event, its key UNIQUE: the database refuses a duplicate (INSERT … ON CONFLICT
--   (key) DO NOTHING), where 0004-0005 compared decoded "event groups" in Python;
-- * deliveries.event_id is a foreign key to events.id again;
-- * a chart's entries are JSON objects named after Entry's fields (the store derives them from
--   the dataclass), not arrays whose meaning depended on a hand-written field order;
-- * the title index is a plain table (title_ranks) instead of an FTS5 table of hashed tokens.
--
-- Each event keeps its number as its id (first_id + its place in the group), so every delivery
-- still points at the same event. SQLite's JSON functions appear only here, to convert stored
-- rows once; the store itself reads and writes plain columns and JSON text.

CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    -- "type:source:service:region:category:granularity:period:title_id[:qualifier]"
    key TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    source TEXT NOT NULL,
    service TEXT NOT NULL,
    region TEXT NOT NULL,
    category TEXT NOT NULL,
    granularity TEXT NOT NULL,
    period TEXT NOT NULL,
    title_id TEXT NOT NULL,
    -- The event's other fields: its JSON form (Event.to_json) without the columns above.
    data TEXT NOT NULL
);

-- A title's latest events (/title, recent_events with a title).
CREATE INDEX events_by_title ON events (title_id, id);

INSERT INTO events (id, key, type, source, service, region, category, granularity, period,
                    title_id, data)
SELECT g.first_id + e.key,
       json_extract(e.value, '$[0]') || ':' || g.source || ':' || g.service || ':' || g.region
           || ':' || g.category || ':' || g.granularity || ':' || g.period || ':'
           || json_extract(e.value, '$[1]')
           || iif(coalesce(json_extract(e.value, '$[11]'), '') = '', '',
                  ':' || json_extract(e.value, '$[11]')),
       json_extract(e.value, '$[0]'),
       g.source, g.service, g.region, g.category, g.granularity, g.period,
       json_extract(e.value, '$[1]'),
       json_object(
           'title', json_extract(e.value, '$[2]'),
           'season', json_extract(e.value, '$[3]'),
           'rank', json_extract(e.value, '$[4]'),
           'previous_rank', json_extract(e.value, '$[5]'),
           'value', json_extract(e.value, '$[6]'),
           'unit', json_extract(e.value, '$[7]'),
           'total_regions', json_extract(e.value, '$[8]'),
           'record', json_extract(e.value, '$[9]'),
           'previous', iif(
               json_type(e.value, '$[10]') = 'array',
               json_object(
                   'title', json_extract(e.value, '$[10][0]'),
                   'season', json_extract(e.value, '$[10][1]'),
                   'value', json_extract(e.value, '$[10][2]'),
                   'period', json_extract(e.value, '$[10][3]')
               ),
               NULL
           ),
           'qualifier', coalesce(json_extract(e.value, '$[11]'), '')
       )
FROM event_groups AS g, json_each(g.events) AS e;

DROP TABLE event_groups;

-- The deliveries of 0003 again, with the foreign key 0004 had to drop.
CREATE TABLE deliveries_v6 (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL REFERENCES events (id),
    -- No foreign key: see 0003 (a merged destination hands its rows over first).
    destination_id INTEGER NOT NULL,
    platform TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'failed', 'sent', 'dead')),
    due_at TEXT NOT NULL,
    claimed_until TEXT NOT NULL DEFAULT '',
    group_id INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    uncertain INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (event_id, destination_id)
);

INSERT INTO deliveries_v6 (id, event_id, destination_id, platform, status, due_at, claimed_until,
                           group_id, attempts, uncertain, last_error, created_at, updated_at)
SELECT id, event_id, destination_id, platform, status, due_at, claimed_until, group_id, attempts,
       uncertain, last_error, created_at, updated_at
FROM deliveries;

DROP TABLE deliveries;

ALTER TABLE deliveries_v6 RENAME TO deliveries;

CREATE INDEX deliveries_due ON deliveries (platform, due_at, id)
    WHERE status IN ('pending', 'failed');

CREATE INDEX deliveries_open_by_destination ON deliveries (destination_id)
    WHERE status IN ('pending', 'failed');

CREATE INDEX deliveries_dead ON deliveries (updated_at) WHERE status = 'dead';

-- Where each title ranks in each stored chart (/title history): one row per entry.
CREATE TABLE title_ranks (
    chart_id INTEGER NOT NULL REFERENCES charts (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,  -- the entry's place in the chart as the source listed it
    title_id TEXT NOT NULL,
    rank INTEGER NOT NULL,
    PRIMARY KEY (chart_id, position)
);

CREATE INDEX title_ranks_by_title ON title_ranks (title_id);

INSERT INTO title_ranks (chart_id, position, title_id, rank)
SELECT c.id, e.key, json_extract(e.value, '$[1]'), json_extract(e.value, '$[0]')
FROM charts AS c, json_each(c.entries) AS e;

DROP TABLE chart_titles;

-- Entries as objects; json_patch leaves out the null fields (Entry's defaults).
UPDATE charts SET entries = (
    SELECT json_group_array(json_patch('{}', json_object(
        'rank', json_extract(e.value, '$[0]'),
        'title_id', json_extract(e.value, '$[1]'),
        'title', json_extract(e.value, '$[2]'),
        'season', json_extract(e.value, '$[3]'),
        'points', json_extract(e.value, '$[4]'),
        'days_in_top10', json_extract(e.value, '$[5]'),
        'weeks_in_top10', json_extract(e.value, '$[6]'),
        'hours', json_extract(e.value, '$[7]'),
        'views', json_extract(e.value, '$[8]'),
        'runtime', json_extract(e.value, '$[9]')
    )))
    FROM json_each(charts.entries) AS e
);
