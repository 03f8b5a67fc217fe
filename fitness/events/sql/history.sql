-- Every event of one aggregate, in version order (served by the unique index on
-- (kind, aggregate_id, version) or the point-in-time index).
SELECT e.id, e.{tenant}, e.kind, e.aggregate_id, e.version, e.event_name, e.event_version,
       e.payload::text, e.state::text, e.event_at, e.tx_id::text
FROM {event_table} AS e
WHERE e.kind = %(kind)s AND e.aggregate_id = %(aggregate_id)s
ORDER BY e.version
