-- X.509 certificates issued by a tenant's authority, each bound to at most one device at a
-- time. Published: the data platform (and any service that authenticates devices) may read it.
-- Where a certificate was bound at any past time is in its events (CertificateBound).

CREATE TABLE device.certificates (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    authority_id uuid NOT NULL,
    serial_number text NOT NULL CHECK (serial_number ~ '^[0-9a-f]{40}$'),  -- hex, zero-padded
    subject text NOT NULL CHECK (length(subject) BETWEEN 1 AND 1000),      -- RFC 4514 string
    common_name text NOT NULL CHECK (length(common_name) BETWEEN 1 AND 64),
    key_algorithm text NOT NULL CHECK (key_algorithm ~ '^(ecdsa-p256|ecdsa-p384|ed25519|rsa-[0-9]{4})$'),
    key_source text NOT NULL CHECK (key_source IN ('csr', 'generated')),
    fingerprint_sha256 text NOT NULL CHECK (fingerprint_sha256 ~ '^[0-9a-f]{64}$'),
    certificate_pem text NOT NULL CHECK (certificate_pem LIKE '-----BEGIN CERTIFICATE-----%'),
    not_before timestamptz NOT NULL,
    not_after timestamptz NOT NULL,
    device_id uuid,
    bound_at timestamptz,
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
    revoked_at timestamptz,
    revocation_reason text CHECK (revocation_reason IN (
        'unspecified', 'key_compromise', 'affiliation_changed', 'superseded',
        'cessation_of_operation', 'privilege_withdrawn')),
    version integer NOT NULL CHECK (version >= 1),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT certificates_serial_number_unique UNIQUE (tenant_id, serial_number),
    CONSTRAINT certificates_authority_fk FOREIGN KEY (tenant_id, authority_id)
        REFERENCES device.certificate_authorities (tenant_id, id),
    -- With tenant_id in the key, a certificate can only be bound to a device of its own tenant.
    CONSTRAINT certificates_device_fk FOREIGN KEY (tenant_id, device_id)
        REFERENCES device.devices (tenant_id, id),
    CONSTRAINT certificates_validity CHECK (not_after > not_before),
    CONSTRAINT certificates_bound_when CHECK ((device_id IS NULL) = (bound_at IS NULL)),
    CONSTRAINT certificates_revoked_when CHECK (
        (status = 'revoked') = (revoked_at IS NOT NULL)
        AND (status = 'revoked') = (revocation_reason IS NOT NULL))
);
CREATE INDEX certificates_by_device ON device.certificates (tenant_id, device_id);

ALTER TABLE device.certificates ENABLE ROW LEVEL SECURITY;
ALTER TABLE device.certificates FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON device.certificates AS PERMISSIVE FOR ALL TO PUBLIC
    USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid));
CREATE POLICY tenant_floor ON device.certificates AS RESTRICTIVE FOR ALL TO PUBLIC
    USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid));

-- Certificates are revoked, never deleted: an auditor must find every one ever issued.
GRANT SELECT, INSERT, UPDATE ON device.certificates TO device_service;

WITH schemas (payload_base, certificate_state) AS (
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
          "required": ["tenant_id", "id", "authority_id", "serial_number", "subject", "common_name",
                       "key_algorithm", "key_source", "fingerprint_sha256", "certificate_pem",
                       "not_before", "not_after", "device_id", "bound_at", "status", "revoked_at",
                       "revocation_reason", "version", "created_at", "updated_at"],
          "additionalProperties": false,
          "properties": {
            "tenant_id": {"type": "string", "format": "uuid"},
            "id": {"type": "string", "format": "uuid"},
            "authority_id": {"type": "string", "format": "uuid"},
            "serial_number": {"type": "string", "pattern": "^[0-9a-f]{40}$"},
            "subject": {"type": "string", "minLength": 1, "maxLength": 1000},
            "common_name": {"type": "string", "minLength": 1, "maxLength": 64},
            "key_algorithm": {"type": "string", "pattern": "^(ecdsa-p256|ecdsa-p384|ed25519|rsa-[0-9]{4})$"},
            "key_source": {"enum": ["csr", "generated"]},
            "fingerprint_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "certificate_pem": {"type": "string", "pattern": "^-----BEGIN CERTIFICATE-----"},
            "not_before": {"type": "string", "format": "date-time"},
            "not_after": {"type": "string", "format": "date-time"},
            "device_id": {"type": ["string", "null"], "format": "uuid"},
            "bound_at": {"type": ["string", "null"], "format": "date-time"},
            "status": {"enum": ["active", "revoked"]},
            "revoked_at": {"type": ["string", "null"], "format": "date-time"},
            "revocation_reason": {"enum": [null, "unspecified", "key_compromise", "affiliation_changed",
                                           "superseded", "cessation_of_operation", "privilege_withdrawn"]},
            "version": {"type": "integer", "minimum": 1},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"}
          }
        }$json$::jsonb
)
INSERT INTO device.event_types (event_name, event_version, kind, payload_schema, state_schema)
SELECT 'CertificateIssued', 1, 'Certificate',
       payload_base
         || jsonb_build_object('required', jsonb_build_array(
              'performed_by', 'serial_number', 'subject', 'key_algorithm', 'key_source',
              'fingerprint_sha256', 'not_before', 'not_after'))
         || jsonb_build_object('properties', payload_base -> 'properties' || $json${
              "serial_number": {"type": "string", "pattern": "^[0-9a-f]{40}$"},
              "subject": {"type": "string"},
              "key_algorithm": {"type": "string"},
              "key_source": {"enum": ["csr", "generated"]},
              "fingerprint_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
              "not_before": {"type": "string", "format": "date-time"},
              "not_after": {"type": "string", "format": "date-time"}
            }$json$::jsonb),
       certificate_state
         || jsonb_build_object('properties', certificate_state -> 'properties' || $json${
              "device_id": {"type": "null"},
              "bound_at": {"type": "null"},
              "status": {"const": "active"},
              "revoked_at": {"type": "null"},
              "revocation_reason": {"type": "null"},
              "version": {"const": 1}
            }$json$::jsonb)
FROM schemas
UNION ALL
SELECT 'CertificateBound', 1, 'Certificate',
       payload_base
         || jsonb_build_object('required', jsonb_build_array('performed_by', 'previous_device_id', 'device_id'))
         || jsonb_build_object('properties', payload_base -> 'properties' || $json${
              "previous_device_id": {"type": ["string", "null"], "format": "uuid"},
              "device_id": {"type": "string", "format": "uuid"}
            }$json$::jsonb),
       certificate_state
         || jsonb_build_object('properties', certificate_state -> 'properties' || $json${
              "device_id": {"type": "string", "format": "uuid"},
              "bound_at": {"type": "string", "format": "date-time"},
              "status": {"const": "active"},
              "version": {"type": "integer", "minimum": 2}
            }$json$::jsonb)
FROM schemas
UNION ALL
SELECT 'CertificateRevoked', 1, 'Certificate',
       payload_base
         || jsonb_build_object('required', jsonb_build_array('performed_by', 'reason', 'device_id'))
         || jsonb_build_object('properties', payload_base -> 'properties' || $json${
              "reason": {"enum": ["unspecified", "key_compromise", "affiliation_changed", "superseded",
                                  "cessation_of_operation", "privilege_withdrawn"]},
              "comment": {"type": "string", "maxLength": 500},
              "device_id": {"type": ["string", "null"], "format": "uuid"}
            }$json$::jsonb),
       certificate_state
         || jsonb_build_object('properties', certificate_state -> 'properties' || $json${
              "status": {"const": "revoked"},
              "revoked_at": {"type": "string", "format": "date-time"},
              "revocation_reason": {"enum": ["unspecified", "key_compromise", "affiliation_changed",
                                             "superseded", "cessation_of_operation", "privilege_withdrawn"]},
              "version": {"type": "integer", "minimum": 2}
            }$json$::jsonb)
FROM schemas;
