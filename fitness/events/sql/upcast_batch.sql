-- One step of the upcast chain for a batch of events of one (event_name, event_version):
-- the upcaster lifts each (payload, state) to event_version + 1. Order is kept.
SELECT u.payload::text, u.state::text
FROM unnest(%(payloads)s::jsonb[], %(states)s::jsonb[]) WITH ORDINALITY AS e(payload, state, position)
CROSS JOIN LATERAL {upcaster}(e.payload, e.state) AS u
ORDER BY e.position
