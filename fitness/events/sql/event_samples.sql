-- The latest events of each (event_name, event_version) in one schema, to validate
-- against their JSON Schemas. Composed once per schema and joined with UNION ALL.
SELECT {schema_name}::text AS schema_name,
       x.id,
       x.kind,
       x.aggregate_id,
       x.version,
       x.event_name,
       x.event_version,
       x.payload::text AS payload,
       x.state::text AS state
FROM (
    SELECT e.*,
           row_number() OVER (
               PARTITION BY e.event_name, e.event_version
               ORDER BY e.event_at DESC, e.version DESC, e.id
           ) AS position
    FROM {event_table} AS e
) AS x
WHERE x.position <= %(latest)s
