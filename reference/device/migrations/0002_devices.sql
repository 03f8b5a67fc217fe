-- Devices of a tenant (infusion pumps, monitors, dispensing robots, ...). Published:
-- other services and the data platform may read it; nobody does yet, so no grant.

CREATE TABLE device.devices (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- The manufacturer's serial number, as printed on the device.
    serial_number text NOT NULL CHECK (serial_number ~ '^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$'),
    model text NOT NULL CHECK (length(model) BETWEEN 1 AND 200),
    kind text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_-]{1,62}$'),
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'decommissioned')),
    version integer NOT NULL CHECK (version >= 1),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    decommissioned_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    -- Scoped by tenant: another tenant's serial numbers are neither taken nor revealed.
    CONSTRAINT devices_serial_number_unique UNIQUE (tenant_id, serial_number),
    CONSTRAINT devices_decommissioned_when CHECK ((status = 'decommissioned') = (decommissioned_at IS NOT NULL))
);

ALTER TABLE device.devices ENABLE ROW LEVEL SECURITY;
ALTER TABLE device.devices FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON device.devices AS PERMISSIVE FOR ALL TO PUBLIC
    USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid));
CREATE POLICY tenant_floor ON device.devices AS RESTRICTIVE FOR ALL TO PUBLIC
    USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid));

-- Devices are decommissioned, never deleted: their certificates' history points at them.
GRANT SELECT, INSERT, UPDATE ON device.devices TO device_service;

WITH schemas (payload_base, device_state) AS (
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
          "required": ["tenant_id", "id", "name", "serial_number", "model", "kind", "status", "version",
                       "created_at", "updated_at", "decommissioned_at"],
          "additionalProperties": false,
          "properties": {
            "tenant_id": {"type": "string", "format": "uuid"},
            "id": {"type": "string", "format": "uuid"},
            "name": {"type": "string", "minLength": 1, "maxLength": 200},
            "serial_number": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$"},
            "model": {"type": "string", "minLength": 1, "maxLength": 200},
            "kind": {"type": "string", "pattern": "^[a-z][a-z0-9_-]{1,62}$"},
            "status": {"enum": ["active", "decommissioned"]},
            "version": {"type": "integer", "minimum": 1},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
            "decommissioned_at": {"type": ["string", "null"], "format": "date-time"}
          }
        }$json$::jsonb
)
INSERT INTO device.event_types (event_name, event_version, kind, payload_schema, state_schema)
SELECT 'DeviceRegistered', 1, 'Device',
       payload_base
         || jsonb_build_object('required', jsonb_build_array('performed_by', 'name', 'serial_number', 'model', 'kind'))
         || jsonb_build_object('properties', payload_base -> 'properties' || $json${
              "name": {"type": "string"},
              "serial_number": {"type": "string"},
              "model": {"type": "string"},
              "kind": {"type": "string"}
            }$json$::jsonb),
       jsonb_set(jsonb_set(jsonb_set(device_state, '{properties,status}', '{"const": "active"}'),
                           '{properties,version}', '{"const": 1}'),
                 '{properties,decommissioned_at}', '{"type": "null"}')
FROM schemas
UNION ALL
SELECT 'DeviceDecommissioned', 1, 'Device',
       payload_base
         || jsonb_build_object('required', jsonb_build_array('performed_by'))
         || jsonb_build_object('properties', payload_base -> 'properties' || $json${
              "reason": {"type": "string", "maxLength": 500}
            }$json$::jsonb),
       jsonb_set(jsonb_set(jsonb_set(device_state, '{properties,status}', '{"const": "decommissioned"}'),
                           '{properties,version}', '{"type": "integer", "minimum": 2}'),
                 '{properties,decommissioned_at}', '{"type": "string", "format": "date-time"}')
FROM schemas;
