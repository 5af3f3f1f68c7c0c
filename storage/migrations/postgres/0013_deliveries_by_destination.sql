-- A delivery is still promised once per (event, destination); the unique key now lists the
-- destination first. A burst's rows are queued destination by destination (storage/fanout.py:
-- a chat's rows of one batch are never split over two transactions), and with this order they
-- land next to each other in the key's index instead of all over it.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_event_id_destination_id_key;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_destination_id_event_id_key
    UNIQUE (destination_id, event_id);
