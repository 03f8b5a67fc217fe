-- The latest event of one aggregate at or before a moment: one descent of the index on
-- (kind, aggregate_id, event_at); events of one transaction share event_at, so version
-- breaks the tie.
SELECT e.id, e.{tenant}, e.kind, e.aggregate_id, e.version, e.event_name, e.event_version,
       e.payload::text, e.state::text, e.event_at, e.tx_id::text
FROM {event_table} AS e
WHERE e.kind = %(kind)s AND e.aggregate_id = %(aggregate_id)s AND e.event_at <= %(at)s
ORDER BY e.event_at DESC, e.version DESC
LIMIT 1
