-- migrate: foreign_keys off
-- Events stored as one JSON array per chart and period, as charts store their entries.
--
-- 0001 kept one row per event, indexed by its text key (UNIQUE) and by title: two random B-tree
-- inserts per event, and one row handed from Python to SQLite per event. A replay of the live
-- per-country file makes ~750k events (1.5 per ranked row); those rows were most of its time.
-- Now the events of one chart's diff are one row. Each event keeps an id, its "event number":
-- a group holds the numbers first_id .. first_id + count - 1 (first_id is the rowid, so the
-- group of a number is one index step away), and deliveries refer to events by number.
--
-- Duplicate keys are refused by save_batch: the events of a (chart, period) that already has a
-- group are compared, key by key, with the stored ones, and only unknown events are stored, as
-- a further part of the group.
CREATE TABLE event_groups (
    first_id INTEGER PRIMARY KEY,
    count INTEGER NOT NULL CHECK (count > 0),
    source TEXT NOT NULL,
    service TEXT NOT NULL,
    region TEXT NOT NULL,
    category TEXT NOT NULL,
    granularity TEXT NOT NULL,
    period TEXT NOT NULL,
    part INTEGER NOT NULL,  -- 0, then 1, 2, … for events of the same chart and period found later
    events TEXT NOT NULL,  -- JSON array of Event.to_json(), in event-number order
    UNIQUE (source, service, region, category, granularity, period, part)
);

INSERT INTO event_groups (first_id, count, source, service, region, category, granularity,
                          period, part, events)
SELECT id, 1, source, service, region, category, granularity, period,
       row_number() OVER (
           PARTITION BY source, service, region, category, granularity, period ORDER BY id
       ) - 1,
       '[' || json || ']'
FROM events;

-- deliveries.event_id is now an event number, not a row of a table, so the table is rebuilt
-- without that foreign key (the documented way: foreign keys off, copy, rename, check).
CREATE TABLE deliveries_v4 (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL,  -- an event number (event_groups)
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

INSERT INTO deliveries_v4 (id, event_id, destination_id, platform, status, due_at, claimed_until,
                           group_id, attempts, uncertain, last_error, created_at, updated_at)
SELECT id, event_id, destination_id, platform, status, due_at, claimed_until, group_id, attempts,
       uncertain, last_error, created_at, updated_at
FROM deliveries;

DROP TABLE deliveries;

ALTER TABLE deliveries_v4 RENAME TO deliveries;

-- The indexes of 0003, which went with the old table.
CREATE INDEX deliveries_due ON deliveries (platform, due_at, id)
    WHERE status IN ('pending', 'failed');

CREATE INDEX deliveries_open_by_destination ON deliveries (destination_id)
    WHERE status IN ('pending', 'failed');

CREATE INDEX deliveries_dead ON deliveries (updated_at) WHERE status = 'dead';

DROP TABLE events;
