-- Several senders on one store (issue 18).
--
-- claimed_by: who holds a row's claim (a sender's token, set by each claim). A sender renews or
-- releases only rows it still holds, and sends only rows whose claim it has confirmed: a sender
-- whose lease ran out and was taken over by another cannot send the rows again.
ALTER TABLE deliveries ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';

-- The recorded rows of a digest (by its group): a digest resumed after a restart is rebuilt from
-- all of its rows, so that its parts keep their numbers ("(3/5)") and their idempotency keys.
CREATE INDEX deliveries_done_by_group ON deliveries (group_id)
    WHERE status IN ('sent', 'dead') AND group_id IS NOT NULL;

-- The sending budget shared by the senders of a PostgreSQL store ([delivery] shared_budget):
-- one row per bucket (a platform's overall ceiling, a chat's), its theoretical arrival time in
-- seconds (GCRA). A SQLite store has one sender and paces in memory; the table is here so that
-- a schema version names the same tables on both backends. Not copied by `db copy`.
CREATE TABLE send_budget (
    key TEXT PRIMARY KEY,
    tat DOUBLE PRECISION NOT NULL
);
