-- Roles of a tenant and their assignments to users. Published: auth reads both
-- to put a user's roles into the access tokens it issues.

CREATE TABLE directory.roles (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    name text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_-]{1,62}$'),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 500),
    version integer NOT NULL CHECK (version >= 1),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT roles_name_unique UNIQUE (tenant_id, name),
    CONSTRAINT roles_tenant_fk FOREIGN KEY (tenant_id) REFERENCES directory.tenants (tenant_id)
);

-- One aggregate per (user, role) pair: assigned, revoked, assigned again, ... as versions 1, 2, 3.
CREATE TABLE directory.role_assignments (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    user_id uuid NOT NULL,
    role_id uuid NOT NULL,
    status text NOT NULL CHECK (status IN ('active', 'revoked')),
    version integer NOT NULL CHECK (version >= 1),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT role_assignments_pair_unique UNIQUE (tenant_id, user_id, role_id),
    CONSTRAINT role_assignments_user_fk FOREIGN KEY (tenant_id, user_id)
        REFERENCES directory.users (tenant_id, id),
    CONSTRAINT role_assignments_role_fk FOREIGN KEY (tenant_id, role_id)
        REFERENCES directory.roles (tenant_id, id)
);
CREATE INDEX role_assignments_by_role ON directory.role_assignments (tenant_id, role_id);

ALTER TABLE directory.roles ENABLE ROW LEVEL SECURITY;
ALTER TABLE directory.roles FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON directory.roles AS PERMISSIVE FOR ALL TO PUBLIC
    USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid));
CREATE POLICY tenant_floor ON directory.roles AS RESTRICTIVE FOR ALL TO PUBLIC
    USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid));

ALTER TABLE directory.role_assignments ENABLE ROW LEVEL SECURITY;
ALTER TABLE directory.role_assignments FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON directory.role_assignments AS PERMISSIVE FOR ALL TO PUBLIC
    USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid));
CREATE POLICY tenant_floor ON directory.role_assignments AS RESTRICTIVE FOR ALL TO PUBLIC
    USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid));

-- Roles are created; assignments are revoked rather than deleted.
GRANT SELECT, INSERT, UPDATE ON directory.roles, directory.role_assignments TO directory_service;
-- Published to auth (quality-attributes.yaml: auth reads roles and role_assignments).
GRANT SELECT ON directory.roles, directory.role_assignments TO auth_service;

WITH schemas (payload_base, assignment_payload, assignment_state) AS (
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
          "required": ["performed_by", "user_id", "role_id", "role_name"],
          "additionalProperties": false,
          "properties": {
            "performed_by": {"type": "string", "minLength": 1},
            "request_id": {"type": "string"},
            "user_id": {"type": "string", "format": "uuid"},
            "role_id": {"type": "string", "format": "uuid"},
            "role_name": {"type": "string"}
          }
        }$json$::jsonb,
        $json${
          "$schema": "https://json-schema.org/draft/2020-12/schema",
          "type": "object",
          "required": ["tenant_id", "id", "user_id", "role_id", "status", "version", "created_at", "updated_at"],
          "additionalProperties": false,
          "properties": {
            "tenant_id": {"type": "string", "format": "uuid"},
            "id": {"type": "string", "format": "uuid"},
            "user_id": {"type": "string", "format": "uuid"},
            "role_id": {"type": "string", "format": "uuid"},
            "status": {"enum": ["active", "revoked"]},
            "version": {"type": "integer", "minimum": 1},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"}
          }
        }$json$::jsonb
)
INSERT INTO directory.event_types (event_name, event_version, kind, payload_schema, state_schema)
SELECT 'RoleCreated', 1, 'Role',
       payload_base
         || jsonb_build_object('required', jsonb_build_array('performed_by', 'name', 'description'))
         || jsonb_build_object('properties', payload_base -> 'properties' || $json${
              "name": {"type": "string"},
              "description": {"type": "string"}
            }$json$::jsonb),
       $json${
         "$schema": "https://json-schema.org/draft/2020-12/schema",
         "type": "object",
         "required": ["tenant_id", "id", "name", "description", "version", "created_at", "updated_at"],
         "additionalProperties": false,
         "properties": {
           "tenant_id": {"type": "string", "format": "uuid"},
           "id": {"type": "string", "format": "uuid"},
           "name": {"type": "string", "pattern": "^[a-z][a-z0-9_-]{1,62}$"},
           "description": {"type": "string", "maxLength": 500},
           "version": {"const": 1},
           "created_at": {"type": "string", "format": "date-time"},
           "updated_at": {"type": "string", "format": "date-time"}
         }
       }$json$::jsonb
FROM schemas
UNION ALL
SELECT 'RoleAssigned', 1, 'RoleAssignment', assignment_payload,
       jsonb_set(assignment_state, '{properties,status}', '{"const": "active"}')
FROM schemas
UNION ALL
SELECT 'RoleRevoked', 1, 'RoleAssignment', assignment_payload,
       jsonb_set(jsonb_set(assignment_state, '{properties,status}', '{"const": "revoked"}'),
                 '{properties,version}', '{"type": "integer", "minimum": 2}')
FROM schemas;
