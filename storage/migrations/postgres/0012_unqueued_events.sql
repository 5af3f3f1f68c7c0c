-- Live events whose deliveries are still being queued (storage/fanout.py). A large burst's
-- deliveries are inserted in several short transactions after the events are stored, so that no
-- write transaction holds the database for seconds; an event stays here until its last rows
-- are in. A row left by a process that died half way is finished by the next poll (the unique
-- (event, destination) key skips the rows already queued): no delivery is lost in between.
CREATE TABLE unqueued_events (
    event_id BIGINT PRIMARY KEY REFERENCES events (id)
);
