-- Adoption, second step: aggregates whose row vanished without a deletion event (named
-- by id) get a <Kind>Removed event with the next version and their last recorded state.
INSERT INTO {event_table}
    (id, {tenant}, kind, aggregate_id, version, event_name, event_version, state, payload,
     event_at, tx_id)
SELECT DISTINCT ON (e.aggregate_id)
       gen_random_uuid(), e.{tenant}, e.kind, e.aggregate_id, e.version + 1,
       %(event_name)s, %(event_version)s, e.state, %(payload)s, %(event_at)s,
       pg_current_xact_id()
FROM {event_table} AS e
WHERE e.kind = %(kind)s AND e.aggregate_id = ANY(%(ids)s::uuid[])
ORDER BY e.aggregate_id, e.version DESC
