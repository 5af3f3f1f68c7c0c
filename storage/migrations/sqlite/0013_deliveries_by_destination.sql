-- migrate: foreign_keys off
-- A delivery is still promised once per (event, destination); the unique key now lists the
-- destination first. A burst's rows are queued destination by destination (storage/fanout.py:
-- a chat's rows of one batch are never split over two transactions), and with this order they
-- land next to each other in the key's index instead of all over it: queueing 600,000 rows
-- took about a third less time. SQLite cannot change a table's UNIQUE constraint in place, so
-- the table is rebuilt as 0006 did, every row and id kept.
CREATE TABLE deliveries_v13 (
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
    -- Who holds the claim (0011); last, where 0011 added it (PostgreSQL's order too).
    claimed_by TEXT NOT NULL DEFAULT '',
    UNIQUE (destination_id, event_id)
);

INSERT INTO deliveries_v13 (id, event_id, destination_id, platform, status, due_at, claimed_until,
                            group_id, attempts, uncertain, last_error, created_at, updated_at,
                            claimed_by)
SELECT id, event_id, destination_id, platform, status, due_at, claimed_until, group_id, attempts,
       uncertain, last_error, created_at, updated_at, claimed_by
FROM deliveries;

DROP TABLE deliveries;

ALTER TABLE deliveries_v13 RENAME TO deliveries;

CREATE INDEX deliveries_due ON deliveries (platform, due_at, id)
    WHERE status IN ('pending', 'failed');

CREATE INDEX deliveries_open_by_destination ON deliveries (destination_id)
    WHERE status IN ('pending', 'failed');

CREATE INDEX deliveries_dead ON deliveries (updated_at) WHERE status = 'dead';

CREATE INDEX deliveries_done_by_group ON deliveries (group_id)
    WHERE status IN ('sent', 'dead') AND group_id IS NOT NULL;
