-- The latest events of each (event_name, event_version) in one schema, to validate
-- against their JSON Schemas. The ranking sorts narrow columns only; the chosen events'
-- payloads and states are then fetched by their row addresses (a TID scan), which stay
-- valid within the checking transaction's snapshot.
-- Composed once per schema and joined with UNION ALL.
SELECT {schema_name}::text AS schema_name,
       e.id,
       e.kind,
       e.aggregate_id,
       e.version,
       e.event_name,
       e.event_version,
       e.payload::text AS payload,
       e.state::text AS state
FROM {event_table} AS e
WHERE e.ctid = ANY (ARRAY(
    SELECT ranked.address
    FROM (
        SELECT x.ctid AS address,
               row_number() OVER (
                   PARTITION BY x.event_name, x.event_version
                   ORDER BY x.event_at DESC, x.version DESC, x.id
               ) AS position
        FROM {event_table} AS x
    ) AS ranked
    WHERE ranked.position <= %(latest)s
))
