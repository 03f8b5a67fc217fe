-- Adoption, first step: every row of one aggregate table without events gets one
-- <Kind>Migrated event with version 1, carrying its state as of the transaction's snapshot.
-- The row is set to version 1 in the same statement, which also makes this transaction
-- its last writer (its xmin), as for any live change.
WITH adopted AS (
    UPDATE {aggregate_table} AS t
    SET version = 1
    WHERE NOT EXISTS (
        SELECT 1 FROM {event_table} AS e WHERE e.kind = %(kind)s AND e.aggregate_id = t.id
    )
    RETURNING t AS row_value
)
INSERT INTO {event_table}
    (id, {tenant}, kind, aggregate_id, version, event_name, event_version, state, payload,
     event_at, tx_id)
SELECT gen_random_uuid(), (w.row_value).{tenant}, %(kind)s, (w.row_value).id, 1,
       %(event_name)s, %(event_version)s, {state}, %(payload)s, %(event_at)s,
       pg_current_xact_id()
FROM adopted AS w
