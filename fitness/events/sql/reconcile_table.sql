-- Reconciliation of one aggregate table with its events: one row per aggregate
-- (by row id or by events' aggregate_id) with every flag the check needs.
-- Composed once per aggregate table and joined with UNION ALL.
SELECT {table_name}::text AS table_name,
       j.aggregate_id,
       j.row_exists,
       j.events,
       j.first_version,
       j.last_version,
       j.distinct_versions,
       j.row_version,
       j.row_tenant,
       j.event_tenant,
       j.event_name,
       j.event_version,
       j.row_xmin,
       j.tx,
       j.deleted,
       j.row_exists AND j.events IS NULL AS no_events,
       j.events IS NOT NULL
           AND (j.first_version <> 1 OR j.last_version <> j.distinct_versions
                OR j.events <> j.distinct_versions) AS gap,
       j.row_exists AND j.events IS NOT NULL
           AND j.row_version IS DISTINCT FROM j.last_version AS version_mismatch,
       j.row_exists AND j.events IS NOT NULL
           AND j.row_tenant IS DISTINCT FROM j.event_tenant AS tenant_mismatch,
       -- xmin is the 32-bit id of the last writer, tx_id the 64-bit (epoch, xid) of the event's
       -- transaction: equal low 32 bits prove the same transaction unless they lie 2^32 or more
       -- transactions apart, which "provable" rules out. A row written inside a savepoint carries
       -- the subtransaction's xid: it is accepted when the event row has the same xmin and that
       -- xid follows tx_id (a subtransaction's xid is always later than its parent's).
       j.row_exists AND j.events IS NOT NULL AND j.provable
           AND j.row_xmin <> mod(j.tx, 4294967296)
           AND NOT (j.row_xmin = j.event_xmin
                    AND mod(j.event_xmin - mod(j.tx, 4294967296) + 4294967296, 4294967296)
                        BETWEEN 1 AND 2147483647) AS foreign_tx,
       j.row_exists AND j.events IS NOT NULL AND NOT j.provable AS unprovable,
       NOT j.row_exists AND NOT j.deleted AS orphan,
       j.row_exists AND j.events IS NOT NULL AND j.deleted AS alive_after_deletion,
       -- The state: judged here when the latest event is of the current version and differs
       -- outside the keys of time-zoned columns; looked at again outside SQL (upcast first,
       -- zoned times read as instants) when the event is older or only zoned keys differ
       -- in spelling (a writer's session in another TimeZone writes the same instant so).
       j.has_row_and_events AND NOT j.needs_upcast AND j.rest_differs AS stale,
       j.has_row_and_events
           AND (j.needs_upcast OR (NOT j.rest_differs AND j.row_state IS DISTINCT FROM j.event_state))
           AS state_in_doubt,
       CASE WHEN j.has_row_and_events AND (j.needs_upcast OR j.row_state IS DISTINCT FROM j.event_state)
            THEN j.payload::text END AS event_payload,
       CASE WHEN j.has_row_and_events AND (j.needs_upcast OR j.row_state IS DISTINCT FROM j.event_state)
            THEN j.event_state::text END AS event_state,
       CASE WHEN j.has_row_and_events AND (j.needs_upcast OR j.row_state IS DISTINCT FROM j.event_state)
            THEN j.row_state::text END AS row_state
FROM (
    SELECT coalesce(r.id, s.aggregate_id) AS aggregate_id,
           r.id IS NOT NULL AS row_exists,
           r.tenant AS row_tenant,
           r.version AS row_version,
           r.row_xmin,
           r.state AS row_state,
           s.events,
           s.distinct_versions,
           s.first_version,
           s.last_version,
           l.tenant AS event_tenant,
           l.event_name,
           l.event_version,
           l.payload,
           l.state AS event_state,
           l.tx,
           l.event_xmin,
           cur.current_version,
           coalesce(l.event_name = ANY(%(deletions)s::text[]), false) AS deleted,
           r.id IS NOT NULL AND s.events IS NOT NULL AS has_row_and_events,
           coalesce(cur.current_version > l.event_version, false) AS needs_upcast,
           CASE
               WHEN jsonb_typeof(r.state) = 'object' AND jsonb_typeof(l.state) = 'object'
                   THEN (r.state - {zoned}::text[]) IS DISTINCT FROM (l.state - {zoned}::text[])
               ELSE r.state IS DISTINCT FROM l.state
           END AS rest_differs,
           coalesce(r.row_xmin >= 3 AND snap.next_xid - l.tx < 4294967296, false) AS provable
    FROM (
        SELECT t.id, t.{tenant} AS tenant, t.version, t.xmin::text::bigint AS row_xmin,
               {state} AS state
        FROM {aggregate_table} AS t
    ) AS r
    FULL JOIN (
        SELECT e.aggregate_id, count(*) AS events, count(DISTINCT e.version) AS distinct_versions,
               min(e.version) AS first_version, max(e.version) AS last_version
        FROM {event_table} AS e
        WHERE e.kind = {kind}
        GROUP BY e.aggregate_id
    ) AS s ON s.aggregate_id = r.id
    -- the latest event: found through the unique (kind, aggregate_id, version) index rather
    -- than by sorting every event with its payload and state
    LEFT JOIN LATERAL (
        SELECT e.{tenant} AS tenant, e.event_name, e.event_version, e.payload, e.state,
               e.tx_id::text::bigint AS tx, e.xmin::text::bigint AS event_xmin
        FROM {event_table} AS e
        WHERE e.kind = {kind} AND e.aggregate_id = s.aggregate_id AND e.version = s.last_version
        ORDER BY e.event_at DESC, e.id
        LIMIT 1
    ) AS l ON true
    LEFT JOIN (
        SELECT t.event_name, max(t.event_version) AS current_version
        FROM {event_types} AS t
        GROUP BY t.event_name
    ) AS cur ON cur.event_name = l.event_name
    CROSS JOIN (
        SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS next_xid
    ) AS snap
) AS j
