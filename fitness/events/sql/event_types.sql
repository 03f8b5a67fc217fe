-- One schema's event type catalogue, with whether each upcaster exists in the
-- same schema as f(payload jsonb, state jsonb, OUT payload jsonb, OUT state jsonb)
-- (or the equivalent f(INOUT payload jsonb, INOUT state jsonb)).
-- Composed once per schema and joined with UNION ALL: one statement for all schemas.
SELECT {schema_name}::text AS schema_name,
       t.event_name,
       t.event_version,
       t.kind,
       t.payload_schema::text AS payload_schema,
       t.state_schema::text AS state_schema,
       t.upcaster,
       CASE
           WHEN t.upcaster IS NULL THEN NULL
           WHEN p.oid IS NULL THEN 'missing'
           WHEN p.proretset THEN 'signature'
           WHEN p.proargmodes::text[] = ARRAY['i', 'i', 'o', 'o']
                AND p.proallargtypes = ARRAY['jsonb'::regtype, 'jsonb'::regtype,
                                             'jsonb'::regtype, 'jsonb'::regtype]::oid[]
                AND p.proargnames[3:4] = ARRAY['payload', 'state']
               THEN 'ok'
           WHEN p.proargmodes::text[] = ARRAY['b', 'b']  -- (INOUT payload jsonb, INOUT state jsonb)
                AND p.proallargtypes = ARRAY['jsonb'::regtype, 'jsonb'::regtype]::oid[]
                AND p.proargnames = ARRAY['payload', 'state']
               THEN 'ok'
           ELSE 'signature'
       END AS upcaster_status
FROM {event_types} AS t
LEFT JOIN pg_catalog.pg_proc AS p
       ON p.oid = CASE
                      WHEN t.upcaster IS NOT NULL
                          THEN to_regprocedure(
                              format('%I.%I(jsonb, jsonb)', {schema_name}::text, t.upcaster))
                  END
