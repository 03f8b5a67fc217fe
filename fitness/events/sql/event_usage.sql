-- The event types one schema's events use, with how many events of each and how many
-- lack a performed_by. Composed once per schema and joined with UNION ALL.
SELECT {schema_name}::text AS schema_name,
       e.event_name,
       e.event_version,
       e.kind,
       count(*) AS events,
       count(*) FILTER (
           WHERE jsonb_typeof(e.payload -> 'performed_by') IS DISTINCT FROM 'string'
              OR e.payload ->> 'performed_by' = ''
       ) AS without_actor
FROM {event_table} AS e
GROUP BY e.event_name, e.event_version, e.kind
