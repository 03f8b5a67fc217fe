-- Each tenant's certificate authority, which issues the certificates of its devices.
-- Internal: no other service reads it (a device's certificate carries what a relying
-- party needs; the CA certificate is served by GET /v1/ca).
--
-- The private key lives apart, in certificate_authority_keys: the authority's events
-- record the whole row of certificate_authorities, and a private key must never be
-- copied into the event log (or anything exported from it).

CREATE TABLE device.certificate_authorities (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    subject text NOT NULL CHECK (length(subject) BETWEEN 1 AND 500),        -- RFC 4514 string
    serial_number text NOT NULL CHECK (serial_number ~ '^[0-9a-f]{40}$'),  -- hex, zero-padded
    key_algorithm text NOT NULL CHECK (key_algorithm IN ('ecdsa-p256', 'ed25519')),
    fingerprint_sha256 text NOT NULL CHECK (fingerprint_sha256 ~ '^[0-9a-f]{64}$'),
    certificate_pem text NOT NULL CHECK (certificate_pem LIKE '-----BEGIN CERTIFICATE-----%'),
    not_before timestamptz NOT NULL,
    not_after timestamptz NOT NULL,
    version integer NOT NULL CHECK (version >= 1),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    -- One authority per tenant; rotating it will be a migration of its own.
    CONSTRAINT certificate_authorities_one_per_tenant UNIQUE (tenant_id),
    CONSTRAINT certificate_authorities_validity CHECK (not_after > not_before)
);

-- The private half of each authority: written once, in the transaction that creates the
-- authority (and records its event), never changed, never returned by the API.
CREATE TABLE device.certificate_authority_keys (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,                          -- the authority's id
    private_key_pem text NOT NULL CHECK (private_key_pem LIKE '-----BEGIN PRIVATE KEY-----%'),  -- PKCS#8
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT certificate_authority_keys_authority_fk FOREIGN KEY (tenant_id, id)
        REFERENCES device.certificate_authorities (tenant_id, id)
);

ALTER TABLE device.certificate_authorities ENABLE ROW LEVEL SECURITY;
ALTER TABLE device.certificate_authorities FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON device.certificate_authorities AS PERMISSIVE FOR ALL TO PUBLIC
    USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid));
CREATE POLICY tenant_floor ON device.certificate_authorities AS RESTRICTIVE FOR ALL TO PUBLIC
    USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid));

ALTER TABLE device.certificate_authority_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE device.certificate_authority_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON device.certificate_authority_keys AS PERMISSIVE FOR ALL TO PUBLIC
    USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid));
CREATE POLICY tenant_floor ON device.certificate_authority_keys AS RESTRICTIVE FOR ALL TO PUBLIC
    USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid));

-- Created once, never changed or deleted (until rotation exists).
GRANT SELECT, INSERT ON device.certificate_authorities, device.certificate_authority_keys TO device_service;

INSERT INTO device.event_types (event_name, event_version, kind, payload_schema, state_schema) VALUES (
    'CertificateAuthorityCreated', 1, 'CertificateAuthority',
    $json${
      "$schema": "https://json-schema.org/draft/2020-12/schema",
      "type": "object",
      "required": ["performed_by", "subject", "serial_number", "key_algorithm", "fingerprint_sha256", "not_after"],
      "additionalProperties": false,
      "properties": {
        "performed_by": {"type": "string", "minLength": 1},
        "request_id": {"type": "string"},
        "subject": {"type": "string"},
        "serial_number": {"type": "string", "pattern": "^[0-9a-f]{40}$"},
        "key_algorithm": {"enum": ["ecdsa-p256", "ed25519"]},
        "fingerprint_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "not_after": {"type": "string", "format": "date-time"}
      }
    }$json$,
    $json${
      "$schema": "https://json-schema.org/draft/2020-12/schema",
      "type": "object",
      "required": ["tenant_id", "id", "subject", "serial_number", "key_algorithm", "fingerprint_sha256",
                   "certificate_pem", "not_before", "not_after", "version", "created_at", "updated_at"],
      "additionalProperties": false,
      "properties": {
        "tenant_id": {"type": "string", "format": "uuid"},
        "id": {"type": "string", "format": "uuid"},
        "subject": {"type": "string", "minLength": 1, "maxLength": 500},
        "serial_number": {"type": "string", "pattern": "^[0-9a-f]{40}$"},
        "key_algorithm": {"enum": ["ecdsa-p256", "ed25519"]},
        "fingerprint_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "certificate_pem": {"type": "string", "pattern": "^-----BEGIN CERTIFICATE-----"},
        "not_before": {"type": "string", "format": "date-time"},
        "not_after": {"type": "string", "format": "date-time"},
        "version": {"const": 1},
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"}
      }
    }$json$
);
