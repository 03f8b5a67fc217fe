-- Register version 1 of an event type fitgate writes, unless some version already is.
INSERT INTO {event_types} (event_name, event_version, kind, payload_schema, state_schema, upcaster)
SELECT %(event_name)s, 1, %(kind)s, %(payload_schema)s, %(state_schema)s, NULL
WHERE NOT EXISTS (SELECT 1 FROM {event_types} AS t WHERE t.event_name = %(event_name)s)
