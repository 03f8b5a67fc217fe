-- The license schema's event store: the catalogue of event types and the events.
-- Runs as license_owner (the migration runner does SET ROLE), so the owner owns it all.

-- Functions created here later (upcasters) are executable only by those granted.
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

CREATE TABLE license.event_types (
  event_name text NOT NULL,        -- past tense, e.g. UserCreated
  event_version integer NOT NULL,  -- 1, 2, ...
  kind text NOT NULL,              -- aggregate type, e.g. User
  payload_schema jsonb NOT NULL,   -- JSON Schema of payload
  state_schema jsonb NOT NULL,     -- JSON Schema of state
  upcaster text,                   -- for an old version: name of a SQL function in the same schema,
                                   -- f(payload jsonb, state jsonb, OUT payload jsonb, OUT state jsonb),
                                   -- lifting this version to version + 1; NULL for the current version
  PRIMARY KEY (event_name, event_version));

CREATE TABLE license.domain_event (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL,
    kind text NOT NULL,                        -- aggregate type: License, SeatAssignment
    aggregate_id uuid NOT NULL,
    version integer NOT NULL CHECK (version >= 1),
    event_name text NOT NULL,
    event_version integer NOT NULL,
    state jsonb NOT NULL,                      -- the whole aggregate row after the change
    payload jsonb NOT NULL CHECK (payload ? 'performed_by'),
    event_at timestamptz NOT NULL DEFAULT now(),
    tx_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
    PRIMARY KEY (tenant_id, id),
    -- One event per aggregate version: a second writer of the same version fails (optimistic concurrency).
    -- Scoped by tenant like every unique constraint, so it reveals nothing about other tenants.
    CONSTRAINT domain_event_version_unique UNIQUE (tenant_id, kind, aggregate_id, version),
    -- Only registered event names and versions can be written.
    CONSTRAINT domain_event_registered FOREIGN KEY (event_name, event_version)
        REFERENCES license.event_types (event_name, event_version)
);

-- Point-in-time lookups ("the state of aggregate X at time D") without the tenant, e.g. by auditors.
CREATE INDEX domain_event_point_in_time ON license.domain_event (kind, aggregate_id, event_at);

ALTER TABLE license.domain_event ENABLE ROW LEVEL SECURITY;
ALTER TABLE license.domain_event FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON license.domain_event AS PERMISSIVE FOR ALL TO PUBLIC
    USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid));
-- The floor: whatever permissive policy is added later, no row outside the tenant is reachable.
CREATE POLICY tenant_floor ON license.domain_event AS RESTRICTIVE FOR ALL TO PUBLIC
    USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid));

GRANT USAGE ON SCHEMA license TO license_service;
GRANT SELECT ON license.event_types TO license_service;
-- Events are appended, never changed or removed.
GRANT SELECT, INSERT ON license.domain_event TO license_service;
