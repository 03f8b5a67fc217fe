-- The snapshot the latest backfill of this schema recorded on its events.
SELECT e.payload ->> 'snapshot'
FROM {event_table} AS e
WHERE e.payload ->> 'performed_by' = %(actor)s AND e.payload ? 'snapshot'
ORDER BY e.event_at DESC, e.tx_id DESC
LIMIT 1
