-- The backlog (Outbox.backlog: pending, failed and dead rows, for /metrics and the status
-- lines) is counted from partial indexes, never from the table: open rows from deliveries_due
-- or deliveries_open_by_destination, dead ones from deliveries_dead, failed ones from this
-- index. Without it, counting failed rows scans every delivery ever queued (tens of millions
-- after a year of a large bot). Its one column is the row id: the smallest key there is.
CREATE INDEX deliveries_failed ON deliveries (id) WHERE status = 'failed';
