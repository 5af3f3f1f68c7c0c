-- The weekly show (issue 20): a Top 10 message the bot posts once and edits in place every new
-- period of its chart (/live), and a chat's daily digest of detail events (/settings digest=…).
--
-- What a live message owes is derived, not queued: a row is due while its chart has a newer
-- accepted period than the one it shows (or it was never posted). A crash between an edit and
-- its record only means the same edit again; a chart stored while the bot was down is shown
-- when it is back. A sender claims a row with a lease, as it claims deliveries.
CREATE TABLE live_messages (
    id INTEGER PRIMARY KEY,
    destination_id INTEGER NOT NULL REFERENCES destinations (id) ON DELETE CASCADE,
    -- Copied from the destination: each platform's sender claims its own rows.
    platform TEXT NOT NULL,
    -- The chart shown (bot.models.ChartKey).
    source TEXT NOT NULL,
    service TEXT NOT NULL,
    region TEXT NOT NULL,
    category TEXT NOT NULL,
    granularity TEXT NOT NULL,
    -- The platform's id of the message; NULL until it is posted (or after it was deleted).
    message_id TEXT,
    -- The period the message shows; NULL: nothing shown yet, or asked to be shown again.
    period TEXT,
    -- Not before this time (a retry's backoff); the lease of the sender that claimed the row.
    due_at TEXT NOT NULL,
    claimed_until TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (destination_id, source, service, region, category, granularity)
);
CREATE INDEX live_messages_by_platform ON live_messages (platform, due_at);

-- The local time of a chat's daily digest (HH:MM in its time zone); NULL: details go out at once.
ALTER TABLE destinations ADD COLUMN digest_at TEXT;
