-- Event tiers (issue 17): a subscription that names no event types gets the headlines only,
-- unless it asked for the details too. Existing subscriptions that named types keep them; those
-- that named none now get the headlines (details = 0), which is the point of the change: the
-- entries, exits, climbs and Top-10 streaks were most of what they received.
ALTER TABLE subscriptions ADD COLUMN details INTEGER NOT NULL DEFAULT 0 CHECK (details IN (0, 1));
