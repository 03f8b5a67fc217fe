-- Point-in-time reads of the device schema's events, upcast in SQL:
--   device.aggregate_state_at(kind, aggregate_id, at)   the state of an aggregate at a moment
--   device.aggregate_history(kind, aggregate_id)        every event of an aggregate
-- The kernel's EventStore.history and state_at call them (one implementation, in SQL).
-- Between the BEGIN and END markers: fitness/events/sql/point_in_time.sql verbatim
-- (tests/reference/test_point_in_time_functions.py compares them). Runs as device_owner;
-- the functions run with the caller's rights, so the tenant policies apply to every read.

SET LOCAL search_path = device, pg_temp;

-- BEGIN fitness/events/sql/point_in_time.sql
-- fitgate: point-in-time functions over one service schema's domain events.
--
-- Include this file verbatim in a migration of the service, after
--
--     SET LOCAL search_path = <service schema>, pg_temp;
--
-- It creates, in that schema:
--   upcast_event(event_name, event_version, payload, state)
--       -> (event_version, payload, state) in the current version of the event type,
--          by applying the upcaster chain registered in event_types
--   aggregate_history(kind, aggregate_id)
--       -> every event of the aggregate, oldest first, in the current shape
--   aggregate_state_at(kind, aggregate_id, at)
--       -> the latest event at or before "at" (no row: the aggregate did not exist yet;
--          a deletion event: it had ended), in the current shape
--
-- Every function pins the search_path it was created with (SET search_path FROM CURRENT),
-- so it reads its own schema's domain_event and event_types whatever the caller's path.
-- They run with the caller's rights: row-level security applies as to any query.
-- A schema whose event table is not named domain_event edits the two FROM clauses.

DO $guard$
BEGIN
    IF current_schema() IS NULL
       OR current_schema() IN ('pg_catalog', 'information_schema')
       OR current_schema() LIKE 'pg\_temp%' THEN
        RAISE EXCEPTION 'point_in_time.sql: run SET LOCAL search_path = <service schema>, pg_temp first';
    END IF;
END
$guard$;

CREATE OR REPLACE FUNCTION upcast_event(
    event_name text,
    INOUT event_version integer,
    INOUT payload jsonb,
    INOUT state jsonb)
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
AS $function$
DECLARE
    step text;
BEGIN
    LOOP
        SELECT t.upcaster INTO step
        FROM event_types AS t
        WHERE t.event_name = upcast_event.event_name
          AND t.event_version = upcast_event.event_version;
        IF step IS NULL THEN
            IF EXISTS (SELECT 1 FROM event_types AS t
                       WHERE t.event_name = upcast_event.event_name
                         AND t.event_version > upcast_event.event_version) THEN
                RAISE EXCEPTION 'event type % v% has no upcaster to v%',
                    upcast_event.event_name, upcast_event.event_version,
                    upcast_event.event_version + 1;
            END IF;
            RETURN;  -- the current version (or an unregistered type): nothing to lift
        END IF;
        IF NOT EXISTS (SELECT 1 FROM event_types AS t
                       WHERE t.event_name = upcast_event.event_name
                         AND t.event_version = upcast_event.event_version + 1) THEN
            RAISE EXCEPTION 'event type % v% names upcaster % but v% is not registered',
                upcast_event.event_name, upcast_event.event_version, step,
                upcast_event.event_version + 1;
        END IF;
        EXECUTE format('SELECT u.payload, u.state FROM %I.%I($1, $2) AS u', current_schema(), step)
            INTO payload, state
            USING payload, state;
        event_version := event_version + 1;
    END LOOP;
END
$function$;

CREATE OR REPLACE FUNCTION aggregate_history(kind text, aggregate_id uuid)
RETURNS TABLE (
    version integer,
    event_name text,
    event_version integer,
    stored_event_version integer,
    payload jsonb,
    state jsonb,
    event_at timestamptz,
    tx_id xid8,
    id uuid)
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $function$
    SELECT e.version, e.event_name, u.event_version, e.event_version, u.payload, u.state,
           e.event_at, e.tx_id, e.id
    FROM domain_event AS e
    CROSS JOIN LATERAL upcast_event(e.event_name, e.event_version, e.payload, e.state) AS u
    WHERE e.kind = aggregate_history.kind
      AND e.aggregate_id = aggregate_history.aggregate_id
    ORDER BY e.version
$function$;

CREATE OR REPLACE FUNCTION aggregate_state_at(kind text, aggregate_id uuid, at timestamptz)
RETURNS TABLE (
    version integer,
    event_name text,
    event_version integer,
    stored_event_version integer,
    payload jsonb,
    state jsonb,
    event_at timestamptz,
    tx_id xid8,
    id uuid)
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $function$
    SELECT e.version, e.event_name, u.event_version, e.event_version, u.payload, u.state,
           e.event_at, e.tx_id, e.id
    FROM (
        -- served by the index on (kind, aggregate_id, event_at): one descent, one row
        SELECT d.*
        FROM domain_event AS d
        WHERE d.kind = aggregate_state_at.kind
          AND d.aggregate_id = aggregate_state_at.aggregate_id
          AND d.event_at <= aggregate_state_at.at
        ORDER BY d.event_at DESC, d.version DESC
        LIMIT 1
    ) AS e
    CROSS JOIN LATERAL upcast_event(e.event_name, e.event_version, e.payload, e.state) AS u
$function$;
-- END fitness/events/sql/point_in_time.sql

-- Only the service reads through them (the event store's default privileges already keep
-- PUBLIC out; said again here so that this file stands on its own).
REVOKE ALL ON FUNCTION
    device.upcast_event(text, integer, jsonb, jsonb),
    device.aggregate_history(text, uuid),
    device.aggregate_state_at(text, uuid, timestamptz)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    device.upcast_event(text, integer, jsonb, jsonb),
    device.aggregate_history(text, uuid),
    device.aggregate_state_at(text, uuid, timestamptz)
TO device_service;
