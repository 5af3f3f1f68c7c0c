-- Where alerts go (destinations), what each one asked for (subscriptions) and its settings.
-- Timestamps are ISO 8601 in UTC, like 0001.

-- A chat or channel of one platform, or a forum topic inside one (thread_id).
CREATE TABLE destinations (
    id INTEGER PRIMARY KEY,
    platform TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    -- '' when the destination is not a topic: NULLs never collide in a UNIQUE constraint.
    thread_id TEXT NOT NULL DEFAULT '',
    -- 0 after "blocked", "kicked", "channel deleted" …; subscriptions stay for a comeback.
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    inactive_reason TEXT NOT NULL DEFAULT '',
    changed_at TEXT NOT NULL,
    -- Settings (/settings). event_types: comma-separated EventType values, '' = every type.
    timezone TEXT NOT NULL DEFAULT 'UTC',
    event_types TEXT NOT NULL DEFAULT '',
    -- Quiet hours as local HH:MM, applied by the delivery engine; NULL = none.
    quiet_start TEXT,
    quiet_end TEXT,
    UNIQUE (platform, chat_id, thread_id)
);

-- One filter per row; NULL parts are wildcards (see bot/subscriptions.py).
CREATE TABLE subscriptions (
    id INTEGER PRIMARY KEY,
    destination_id INTEGER NOT NULL REFERENCES destinations (id) ON DELETE CASCADE,
    -- SubscriptionSpec.identity(): the same request is stored once per destination.
    identity TEXT NOT NULL,
    show TEXT,
    show_title TEXT,
    service TEXT,
    region TEXT,
    category TEXT,
    event_types TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    UNIQUE (destination_id, identity)
);
