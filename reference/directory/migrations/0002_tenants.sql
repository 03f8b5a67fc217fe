-- Tenants. A tenant's row is itself tenant data (tenant_id = id), so the same
-- row-level security applies: a caller sees its own tenant only.

CREATE TABLE directory.tenants (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    version integer NOT NULL CHECK (version >= 1),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT tenants_one_row_per_tenant UNIQUE (tenant_id),
    CONSTRAINT tenants_id_is_tenant CHECK (id = tenant_id)
);

ALTER TABLE directory.tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE directory.tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON directory.tenants AS PERMISSIVE FOR ALL TO PUBLIC
    USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid));
CREATE POLICY tenant_floor ON directory.tenants AS RESTRICTIVE FOR ALL TO PUBLIC
    USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid));

-- Tenants are created and changed, never deleted: their events must keep matching their rows.
GRANT SELECT, INSERT, UPDATE ON directory.tenants TO directory_service;

INSERT INTO directory.event_types (event_name, event_version, kind, payload_schema, state_schema) VALUES (
    'TenantCreated', 1, 'Tenant',
    $json${
      "$schema": "https://json-schema.org/draft/2020-12/schema",
      "type": "object",
      "required": ["performed_by", "name"],
      "additionalProperties": false,
      "properties": {
        "performed_by": {"type": "string", "minLength": 1},
        "request_id": {"type": "string"},
        "name": {"type": "string", "minLength": 1, "maxLength": 200}
      }
    }$json$,
    $json${
      "$schema": "https://json-schema.org/draft/2020-12/schema",
      "type": "object",
      "required": ["tenant_id", "id", "name", "status", "version", "created_at", "updated_at"],
      "additionalProperties": false,
      "properties": {
        "tenant_id": {"type": "string", "format": "uuid"},
        "id": {"type": "string", "format": "uuid"},
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "status": {"enum": ["active", "suspended"]},
        "version": {"type": "integer", "minimum": 1},
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"}
      }
    }$json$
);
