-- Adoption, second step: rows that changed without an event since their latest event
-- (named by id) get a <Kind>Changed event with the next version and their state now.
WITH latest AS (
    SELECT DISTINCT ON (e.aggregate_id) e.aggregate_id, e.version
    FROM {event_table} AS e
    WHERE e.kind = %(kind)s AND e.aggregate_id = ANY(%(ids)s::uuid[])
    ORDER BY e.aggregate_id, e.version DESC
), changed AS (
    UPDATE {aggregate_table} AS t
    SET version = latest.version + 1
    FROM latest
    WHERE t.id = latest.aggregate_id
    RETURNING t AS row_value
)
INSERT INTO {event_table}
    (id, {tenant}, kind, aggregate_id, version, event_name, event_version, state, payload,
     event_at, tx_id)
SELECT gen_random_uuid(), (w.row_value).{tenant}, %(kind)s, (w.row_value).id,
       (w.row_value).version, %(event_name)s, %(event_version)s, {state}, %(payload)s,
       %(event_at)s, pg_current_xact_id()
FROM changed AS w
