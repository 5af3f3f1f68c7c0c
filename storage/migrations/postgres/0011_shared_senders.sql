-- Several senders on one store (issue 18).
--
-- claimed_by: who holds a row's claim (a sender's token, set by each claim). A sender renews or
-- releases only rows it still holds, and sends only rows whose claim it has confirmed: a sender
-- whose lease ran out and was taken over by another cannot send the rows again.
ALTER TABLE deliveries ADD COLUMN claimed_by TEXT COLLATE "C" NOT NULL DEFAULT '';

-- The recorded rows of a digest (by its group): a digest resumed after a restart is rebuilt from
-- all of its rows, so that its parts keep their numbers ("(3/5)") and their idempotency keys.
CREATE INDEX deliveries_done_by_group ON deliveries (group_id)
    WHERE status IN ('sent', 'dead') AND group_id IS NOT NULL;

-- The sending budget shared by every sender of this database ([delivery] shared_budget): one
-- row per bucket (a platform's overall ceiling, a chat's), its theoretical arrival time in
-- seconds of the server's clock (GCRA, the leaky bucket as a single number). Unlogged: pacing
-- state is worth nothing after a server crash, and its updates write no WAL (a commit waits for
-- no disk). Not copied by `db copy`.
CREATE UNLOGGED TABLE send_budget (
    key TEXT COLLATE "C" PRIMARY KEY,
    tat DOUBLE PRECISION NOT NULL
);

-- Take one message's turn now, or say how long to wait: keys[1] is the shared overall bucket,
-- the others the chat's own buckets. A bucket has room when its arrival time, less its burst
-- allowance, is not in the future. When every bucket has room, each is charged (granted);
-- otherwise nothing is taken, `wait` says when to ask again and `chat_busy` whether it is the
-- chat that has no room (its message waits; another chat's may go) or the platform (everyone
-- waits). Charged at the moment of the call, never ahead: a sender that comes back late loses
-- that much of its turn instead of bunching its message with the next sender's (so senders ask
-- a round trip before the turn is due). Bucket i lets bursts[i] messages go back to back, then
-- one per intervals[i] seconds. Rows are locked in key order, so concurrent calls never
-- deadlock, and only while the call runs.
CREATE FUNCTION send_budget_take(
    keys TEXT[],
    intervals DOUBLE PRECISION[],
    bursts INTEGER[],
    OUT granted BOOLEAN,
    OUT wait DOUBLE PRECISION,
    OUT chat_busy BOOLEAN
) LANGUAGE plpgsql AS $$
DECLARE
    now_s DOUBLE PRECISION := extract(epoch FROM clock_timestamp());
    tats DOUBLE PRECISION[];
    i INTEGER;
BEGIN
    INSERT INTO send_budget (key, tat) SELECT k, 0 FROM unnest(keys) AS k
    ON CONFLICT (key) DO NOTHING;
    PERFORM 1 FROM send_budget WHERE key = ANY (keys) ORDER BY key FOR UPDATE;
    SELECT array_agg(b.tat ORDER BY k.position) INTO tats
    FROM unnest(keys) WITH ORDINALITY AS k (key, position) JOIN send_budget AS b USING (key);
    granted := false;
    chat_busy := true;
    wait := 0;
    FOR i IN 2 .. coalesce(array_length(keys, 1), 0) LOOP
        wait := greatest(wait, tats[i] - (bursts[i] - 1) * intervals[i] - now_s);
    END LOOP;
    IF wait > 0 THEN
        RETURN;
    END IF;
    chat_busy := false;
    wait := tats[1] - (bursts[1] - 1) * intervals[1] - now_s;
    IF wait > 0 THEN
        RETURN;
    END IF;
    FOR i IN 1 .. array_length(keys, 1) LOOP
        UPDATE send_budget SET tat = greatest(tats[i], now_s) + intervals[i] WHERE key = keys[i];
    END LOOP;
    granted := true;
    wait := 0;
END
$$;
