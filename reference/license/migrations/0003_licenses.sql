-- Licenses: a tenant's right to a number of seats of one plan for a period.
-- Published (quality-attributes.yaml): other services may read it once their reads
-- declare it and a migration here grants it.

CREATE TABLE license.licenses (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    -- Plans are global, so this key cannot include tenant_id: it points at no tenant's row.
    plan_id uuid NOT NULL,
    seats integer NOT NULL CHECK (seats BETWEEN 1 AND 100000),
    valid_from timestamptz NOT NULL,
    valid_until timestamptz NOT NULL,
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
    version integer NOT NULL CHECK (version >= 1),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT licenses_plan_fk FOREIGN KEY (plan_id) REFERENCES license.plans (id),
    CONSTRAINT licenses_validity CHECK (valid_until > valid_from),
    CONSTRAINT licenses_revoked_when CHECK ((status = 'revoked') = (revoked_at IS NOT NULL))
);
-- Listing a tenant's licenses by status.
CREATE INDEX licenses_by_status ON license.licenses (tenant_id, status, id);

ALTER TABLE license.licenses ENABLE ROW LEVEL SECURITY;
ALTER TABLE license.licenses FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON license.licenses AS PERMISSIVE FOR ALL TO PUBLIC
    USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid));
-- The floor: whatever permissive policy is added later, no row outside the tenant is reachable.
CREATE POLICY tenant_floor ON license.licenses AS RESTRICTIVE FOR ALL TO PUBLIC
    USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid));

-- Licenses are revoked, never deleted: their events must keep matching their rows.
-- UPDATE also lets the service lock a license row (SELECT ... FOR NO KEY UPDATE) while it
-- changes the license's seats.
GRANT SELECT, INSERT, UPDATE ON license.licenses TO license_service;

WITH schemas (payload_base, license_state) AS (
    SELECT
        $json${
          "$schema": "https://json-schema.org/draft/2020-12/schema",
          "type": "object",
          "additionalProperties": false,
          "properties": {
            "performed_by": {"type": "string", "minLength": 1},
            "request_id": {"type": "string"}
          }
        }$json$::jsonb,
        $json${
          "$schema": "https://json-schema.org/draft/2020-12/schema",
          "type": "object",
          "required": ["tenant_id", "id", "plan_id", "seats", "valid_from", "valid_until", "status",
                       "version", "created_at", "updated_at", "revoked_at"],
          "additionalProperties": false,
          "properties": {
            "tenant_id": {"type": "string", "format": "uuid"},
            "id": {"type": "string", "format": "uuid"},
            "plan_id": {"type": "string", "format": "uuid"},
            "seats": {"type": "integer", "minimum": 1, "maximum": 100000},
            "valid_from": {"type": "string", "format": "date-time"},
            "valid_until": {"type": "string", "format": "date-time"},
            "status": {"enum": ["active", "revoked"]},
            "version": {"type": "integer", "minimum": 1},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
            "revoked_at": {"type": ["string", "null"], "format": "date-time"}
          }
        }$json$::jsonb
)
INSERT INTO license.event_types (event_name, event_version, kind, payload_schema, state_schema)
SELECT 'LicenseGranted', 1, 'License',
       payload_base
         || jsonb_build_object('required', jsonb_build_array(
              'performed_by', 'plan_id', 'plan_code', 'seats', 'valid_from', 'valid_until'))
         || jsonb_build_object('properties', payload_base -> 'properties' || $json${
              "plan_id": {"type": "string", "format": "uuid"},
              "plan_code": {"type": "string"},
              "seats": {"type": "integer", "minimum": 1},
              "valid_from": {"type": "string", "format": "date-time"},
              "valid_until": {"type": "string", "format": "date-time"}
            }$json$::jsonb),
       jsonb_set(jsonb_set(jsonb_set(license_state, '{properties,status}', '{"const": "active"}'),
                           '{properties,version}', '{"const": 1}'),
                 '{properties,revoked_at}', '{"type": "null"}')
FROM schemas
UNION ALL
SELECT 'LicenseSeatsChanged', 1, 'License',
       payload_base
         || jsonb_build_object('required', jsonb_build_array('performed_by', 'old_seats', 'new_seats'))
         || jsonb_build_object('properties', payload_base -> 'properties' || $json${
              "old_seats": {"type": "integer", "minimum": 1},
              "new_seats": {"type": "integer", "minimum": 1}
            }$json$::jsonb),
       jsonb_set(jsonb_set(jsonb_set(license_state, '{properties,status}', '{"const": "active"}'),
                           '{properties,version}', '{"type": "integer", "minimum": 2}'),
                 '{properties,revoked_at}', '{"type": "null"}')
FROM schemas
UNION ALL
SELECT 'LicenseRevoked', 1, 'License',
       payload_base
         || jsonb_build_object('required', jsonb_build_array('performed_by', 'seats_released'))
         || jsonb_build_object('properties', payload_base -> 'properties' || $json${
              "reason": {"type": "string", "maxLength": 500},
              "seats_released": {"type": "integer", "minimum": 0}
            }$json$::jsonb),
       jsonb_set(jsonb_set(jsonb_set(license_state, '{properties,status}', '{"const": "revoked"}'),
                           '{properties,version}', '{"type": "integer", "minimum": 2}'),
                 '{properties,revoked_at}', '{"type": "string", "format": "date-time"}')
FROM schemas;
