-- Seat assignments: a seat of a license held by a directory user. Published: auth reads
-- it directly to put a user's seats into the access tokens it issues.
--
-- One aggregate per holding: assigned (version 1), then released (version 2, final).
-- A released seat keeps its row, so its latest event always equals the row; holding a
-- seat of the same license again is a new assignment with a new id.

CREATE TABLE license.seat_assignments (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    license_id uuid NOT NULL,
    -- A directory user (directory.users.id). No foreign key: it would need a REFERENCES
    -- grant across services; the service checks the user in the assigning transaction.
    user_id uuid NOT NULL,
    status text NOT NULL DEFAULT 'assigned' CHECK (status IN ('assigned', 'released')),
    assigned_at timestamptz NOT NULL DEFAULT now(),
    released_at timestamptz,
    version integer NOT NULL CHECK (version >= 1),
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT seat_assignments_license_fk FOREIGN KEY (tenant_id, license_id)
        REFERENCES license.licenses (tenant_id, id),
    CONSTRAINT seat_assignments_released_when CHECK ((status = 'released') = (released_at IS NOT NULL)),
    CONSTRAINT seat_assignments_released_after CHECK (released_at >= assigned_at)
);
-- A user holds at most one assigned seat per license; it also serves counting a license's
-- assigned seats, which happens under the license's row lock on every assignment.
CREATE UNIQUE INDEX seat_assignments_one_per_user
    ON license.seat_assignments (tenant_id, license_id, user_id) WHERE status = 'assigned';
-- Listing a license's seats (any status) and a user's seats (auth's seats claim).
CREATE INDEX seat_assignments_by_license ON license.seat_assignments (tenant_id, license_id, id);
CREATE INDEX seat_assignments_by_user ON license.seat_assignments (tenant_id, user_id, status);
-- The time of a license's latest seat change (a seat's last change is its release, or else its
-- assignment), read under the license lock to keep event times in the order of the changes.
CREATE INDEX seat_assignments_last_change
    ON license.seat_assignments (tenant_id, license_id, (coalesce(released_at, assigned_at)));

ALTER TABLE license.seat_assignments ENABLE ROW LEVEL SECURITY;
ALTER TABLE license.seat_assignments FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON license.seat_assignments AS PERMISSIVE FOR ALL TO PUBLIC
    USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid));
CREATE POLICY tenant_floor ON license.seat_assignments AS RESTRICTIVE FOR ALL TO PUBLIC
    USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid));

-- Seats are released, never deleted.
GRANT SELECT, INSERT, UPDATE ON license.seat_assignments TO license_service;
-- Published to the services that read it (quality-attributes.yaml: auth reads seat_assignments).
GRANT USAGE ON SCHEMA license TO auth_service;
GRANT SELECT ON license.seat_assignments TO auth_service;

WITH schemas (seat_payload, seat_state) AS (
    SELECT
        $json${
          "$schema": "https://json-schema.org/draft/2020-12/schema",
          "type": "object",
          "required": ["performed_by", "license_id", "user_id"],
          "additionalProperties": false,
          "properties": {
            "performed_by": {"type": "string", "minLength": 1},
            "request_id": {"type": "string"},
            "license_id": {"type": "string", "format": "uuid"},
            "user_id": {"type": "string", "format": "uuid"}
          }
        }$json$::jsonb,
        $json${
          "$schema": "https://json-schema.org/draft/2020-12/schema",
          "type": "object",
          "required": ["tenant_id", "id", "license_id", "user_id", "status", "assigned_at", "released_at",
                       "version"],
          "additionalProperties": false,
          "properties": {
            "tenant_id": {"type": "string", "format": "uuid"},
            "id": {"type": "string", "format": "uuid"},
            "license_id": {"type": "string", "format": "uuid"},
            "user_id": {"type": "string", "format": "uuid"},
            "status": {"enum": ["assigned", "released"]},
            "assigned_at": {"type": "string", "format": "date-time"},
            "released_at": {"type": ["string", "null"], "format": "date-time"},
            "version": {"type": "integer", "minimum": 1}
          }
        }$json$::jsonb
)
INSERT INTO license.event_types (event_name, event_version, kind, payload_schema, state_schema)
SELECT 'SeatAssigned', 1, 'SeatAssignment', seat_payload,
       jsonb_set(jsonb_set(jsonb_set(seat_state, '{properties,status}', '{"const": "assigned"}'),
                           '{properties,version}', '{"const": 1}'),
                 '{properties,released_at}', '{"type": "null"}')
FROM schemas
UNION ALL
SELECT 'SeatReleased', 1, 'SeatAssignment',
       -- cause: released on its own, or released because its license was revoked.
       jsonb_set(
         seat_payload
           || jsonb_build_object('required', jsonb_build_array('performed_by', 'license_id', 'user_id', 'cause')),
         '{properties}',
         seat_payload -> 'properties' || $json${
           "cause": {"enum": ["released", "license_revoked"]},
           "reason": {"type": "string", "maxLength": 500}
         }$json$::jsonb),
       jsonb_set(jsonb_set(jsonb_set(seat_state, '{properties,status}', '{"const": "released"}'),
                           '{properties,version}', '{"const": 2}'),
                 '{properties,released_at}', '{"type": "string", "format": "date-time"}')
FROM schemas;
