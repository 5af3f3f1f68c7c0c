-- The outbox: one row per (event × destination), written in the transaction that stores the
-- event, so an accepted chart can never lose its alerts to a crash. The sender claims rows with a
-- lease, sends, and records the outcome on the row. Timestamps are ISO 8601 in UTC, like 0001.

CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL REFERENCES events (id),
    -- No foreign key: a destination merged into another (a Telegram group that became a
    -- supergroup) hands its rows over first, and a row whose destination disappeared anyway
    -- becomes a dead letter instead of vanishing with it.
    destination_id INTEGER NOT NULL,
    -- Copied from the destination: the sender claims per platform (each has its own pace).
    platform TEXT NOT NULL,
    -- pending: not attempted yet; failed: an attempt failed and another is scheduled;
    -- sent; dead: given up, with the reason in last_error (`top10bot deliveries retry`).
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'failed', 'sent', 'dead')),
    -- Not before this time: a retry's backoff, the end of a chat's quiet hours.
    due_at TEXT NOT NULL,
    -- The lease of the sender that claimed the row; '' (sorts first) or a past time: free.
    claimed_until TEXT NOT NULL DEFAULT '',
    -- Rows sent as one digest message; fixed at the first claim so that a message sent again
    -- after a crash carries the same deliveries (and the same Discord nonce).
    group_id INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    -- Attempts that timed out after the request went out (maybe delivered): retried once.
    uncertain INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (event_id, destination_id)
);

-- What to claim next, per platform, oldest due first; settled rows leave the index.
CREATE INDEX deliveries_due ON deliveries (platform, due_at, id)
    WHERE status IN ('pending', 'failed');

-- A claimed destination's other due rows (they join its digest), a chat's rows when it is gone.
CREATE INDEX deliveries_open_by_destination ON deliveries (destination_id)
    WHERE status IN ('pending', 'failed');

-- Dead letters, newest first (`top10bot deliveries status`).
CREATE INDEX deliveries_dead ON deliveries (updated_at) WHERE status = 'dead';

-- Matching new events to subscriptions joins on the whole filter (IS matches the NULL wildcards);
-- without this index every matched filter would scan all subscriptions.
CREATE INDEX subscriptions_by_filter
    ON subscriptions (show, service, region, category, event_types);
