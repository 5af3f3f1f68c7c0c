-- A number that changes whenever a title is added to or removed from `titles` (issue 19).
--
-- /title's index of every stored title (bot/commands/lookup.py) is refreshed from the store,
-- which another process (the poller) may have written. Reading all the titles to find out
-- whether any is new cost ~40 ms of the event loop at 50,000 titles, every refresh, in every
-- gateway. Triggers keep the number in the same transaction as the change, so it cannot drift:
-- an upsert that only counts another mention of a known title (ON CONFLICT … DO UPDATE) fires
-- no AFTER INSERT trigger and leaves it alone.
CREATE TABLE titles_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO titles_version (id, version) VALUES (1, 0);

CREATE FUNCTION titles_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE titles_version SET version = version + 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER titles_added AFTER INSERT ON titles
    FOR EACH ROW EXECUTE FUNCTION titles_changed();
CREATE TRIGGER titles_removed AFTER DELETE ON titles
    FOR EACH ROW EXECUTE FUNCTION titles_changed();
