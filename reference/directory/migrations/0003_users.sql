-- Users of a tenant. Published: auth and license read them directly.

CREATE TABLE directory.users (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    username text NOT NULL CHECK (username ~ '^[a-z0-9][a-z0-9._-]{2,63}$'),
    display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    email text NOT NULL CHECK (length(email) <= 254 AND email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deactivated')),
    version integer NOT NULL CHECK (version >= 1),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deactivated_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT users_username_unique UNIQUE (tenant_id, username),
    CONSTRAINT users_tenant_fk FOREIGN KEY (tenant_id) REFERENCES directory.tenants (tenant_id),
    CONSTRAINT users_deactivated_when CHECK ((status = 'deactivated') = (deactivated_at IS NOT NULL))
);

ALTER TABLE directory.users ENABLE ROW LEVEL SECURITY;
ALTER TABLE directory.users FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON directory.users AS PERMISSIVE FOR ALL TO PUBLIC
    USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid));
CREATE POLICY tenant_floor ON directory.users AS RESTRICTIVE FOR ALL TO PUBLIC
    USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid));

-- Users are deactivated, never deleted.
GRANT SELECT, INSERT, UPDATE ON directory.users TO directory_service;
-- Published to the services that read it (quality-attributes.yaml: auth and license read users).
GRANT USAGE ON SCHEMA directory TO auth_service, license_service;
GRANT SELECT ON directory.users TO auth_service, license_service;

WITH schemas (payload_base, user_state) AS (
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
          "required": ["tenant_id", "id", "username", "display_name", "email", "status", "version",
                       "created_at", "updated_at", "deactivated_at"],
          "additionalProperties": false,
          "properties": {
            "tenant_id": {"type": "string", "format": "uuid"},
            "id": {"type": "string", "format": "uuid"},
            "username": {"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]{2,63}$"},
            "display_name": {"type": "string", "minLength": 1, "maxLength": 200},
            "email": {"type": "string", "maxLength": 254},
            "status": {"enum": ["active", "deactivated"]},
            "version": {"type": "integer", "minimum": 1},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
            "deactivated_at": {"type": ["string", "null"], "format": "date-time"}
          }
        }$json$::jsonb
)
INSERT INTO directory.event_types (event_name, event_version, kind, payload_schema, state_schema)
SELECT 'UserCreated', 1, 'User',
       payload_base
         || jsonb_build_object('required', jsonb_build_array('performed_by', 'username', 'display_name', 'email'))
         || jsonb_build_object('properties', payload_base -> 'properties' || $json${
              "username": {"type": "string"},
              "display_name": {"type": "string"},
              "email": {"type": "string"}
            }$json$::jsonb),
       jsonb_set(jsonb_set(user_state, '{properties,status}', '{"const": "active"}'),
                 '{properties,version}', '{"const": 1}')
FROM schemas
UNION ALL
SELECT 'UsernameUpdated', 1, 'User',
       payload_base
         || jsonb_build_object('required', jsonb_build_array('performed_by', 'old_username', 'new_username'))
         || jsonb_build_object('properties', payload_base -> 'properties' || $json${
              "old_username": {"type": "string"},
              "new_username": {"type": "string"}
            }$json$::jsonb),
       jsonb_set(user_state, '{properties,version}', '{"type": "integer", "minimum": 2}')
FROM schemas
UNION ALL
SELECT 'UserDeactivated', 1, 'User',
       payload_base
         || jsonb_build_object('required', jsonb_build_array('performed_by'))
         || jsonb_build_object('properties', payload_base -> 'properties' || $json${
              "reason": {"type": "string", "maxLength": 500}
            }$json$::jsonb),
       jsonb_set(jsonb_set(user_state, '{properties,status}', '{"const": "deactivated"}'),
                 '{properties,deactivated_at}', '{"type": "string", "format": "date-time"}')
FROM schemas;
