-- Credentials: how a directory user logs in. One per user; its id is the user's id.
--
-- auth.credentials is the Credential aggregate: what may be recorded in events and
-- exported (when the password was set and by whom, the second factor's state,
-- failed logins and the lock). The secrets themselves (the argon2 hash, the TOTP
-- secret) live beside it in auth.credential_secrets, written only in the
-- transaction of the Credential event that says they changed, and never copied
-- into an event: an append-only log is no place for them. Both are internal.

CREATE TABLE auth.credentials (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    user_id uuid NOT NULL,            -- directory.users (id) in the same tenant; no foreign key across schemas
    password_set_at timestamptz NOT NULL DEFAULT now(),
    password_set_by text NOT NULL CHECK (password_set_by IN ('administrator', 'user')),
    second_factor text NOT NULL DEFAULT 'none' CHECK (second_factor IN ('none', 'pending', 'confirmed')),
    second_factor_enrolled_at timestamptz,
    second_factor_confirmed_at timestamptz,
    -- The TOTP time step of the confirming code: a login must use a later one (no replay).
    second_factor_confirmed_step bigint,
    -- Failed logins in the current window, which opened at the first of them.
    failed_logins integer NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    failure_window_started_at timestamptz,
    last_failed_at timestamptz,
    locked_until timestamptz,         -- logins are refused until then, whatever the password
    version integer NOT NULL CHECK (version >= 1),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT credentials_user_unique UNIQUE (tenant_id, user_id),
    CONSTRAINT credentials_id_is_user CHECK (id = user_id),
    CONSTRAINT credentials_second_factor_dates CHECK (
        (second_factor = 'none' AND second_factor_enrolled_at IS NULL
            AND second_factor_confirmed_at IS NULL AND second_factor_confirmed_step IS NULL)
        OR (second_factor = 'pending' AND second_factor_enrolled_at IS NOT NULL
            AND second_factor_confirmed_at IS NULL AND second_factor_confirmed_step IS NULL)
        OR (second_factor = 'confirmed' AND second_factor_enrolled_at IS NOT NULL
            AND second_factor_confirmed_at IS NOT NULL AND second_factor_confirmed_step IS NOT NULL)),
    CONSTRAINT credentials_failure_window CHECK ((failed_logins = 0) = (failure_window_started_at IS NULL))
);

CREATE TABLE auth.credential_secrets (
    tenant_id uuid NOT NULL,
    credential_id uuid NOT NULL,
    password_hash text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    totp_secret text CHECK (totp_secret ~ '^[A-Z2-7]{32}$'),   -- base32 of 20 random bytes
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, credential_id),
    CONSTRAINT credential_secrets_credential_fk FOREIGN KEY (tenant_id, credential_id)
        REFERENCES auth.credentials (tenant_id, id)
);

ALTER TABLE auth.credentials ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.credentials FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON auth.credentials AS PERMISSIVE FOR ALL TO PUBLIC
    USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid));
CREATE POLICY tenant_floor ON auth.credentials AS RESTRICTIVE FOR ALL TO PUBLIC
    USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid));

ALTER TABLE auth.credential_secrets ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.credential_secrets FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON auth.credential_secrets AS PERMISSIVE FOR ALL TO PUBLIC
    USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid));
CREATE POLICY tenant_floor ON auth.credential_secrets AS RESTRICTIVE FOR ALL TO PUBLIC
    USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid));

-- Credentials are changed (a second factor removed, a lock lifted), never deleted. Internal:
-- no other service reads either table.
GRANT SELECT, INSERT, UPDATE ON auth.credentials, auth.credential_secrets TO auth_service;

WITH schemas (payload_base, credential_state) AS (
    SELECT
        $json${
          "$schema": "https://json-schema.org/draft/2020-12/schema",
          "type": "object",
          "required": ["performed_by"],
          "additionalProperties": false,
          "properties": {
            "performed_by": {"type": "string", "minLength": 1},
            "request_id": {"type": "string"}
          }
        }$json$::jsonb,
        $json${
          "$schema": "https://json-schema.org/draft/2020-12/schema",
          "type": "object",
          "required": ["tenant_id", "id", "user_id", "password_set_at", "password_set_by", "second_factor",
                       "second_factor_enrolled_at", "second_factor_confirmed_at",
                       "second_factor_confirmed_step", "failed_logins", "failure_window_started_at",
                       "last_failed_at", "locked_until", "created_at", "updated_at"],
          "additionalProperties": false,
          "properties": {
            "tenant_id": {"type": "string", "format": "uuid"},
            "id": {"type": "string", "format": "uuid"},
            "user_id": {"type": "string", "format": "uuid"},
            "password_set_at": {"type": "string", "format": "date-time"},
            "password_set_by": {"enum": ["administrator", "user"]},
            "second_factor": {"enum": ["none", "pending", "confirmed"]},
            "second_factor_enrolled_at": {"type": ["string", "null"], "format": "date-time"},
            "second_factor_confirmed_at": {"type": ["string", "null"], "format": "date-time"},
            "second_factor_confirmed_step": {"type": ["integer", "null"], "minimum": 0},
            "failed_logins": {"type": "integer", "minimum": 0},
            "failure_window_started_at": {"type": ["string", "null"], "format": "date-time"},
            "last_failed_at": {"type": ["string", "null"], "format": "date-time"},
            "locked_until": {"type": ["string", "null"], "format": "date-time"},
            "version": {"type": "integer", "minimum": 1},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"}
          }
        }$json$::jsonb
),
events (event_name, required, properties, state_changes) AS (
    VALUES
    ('CredentialSet', '["set_by"]'::jsonb,
     '{"set_by": {"enum": ["administrator", "user"]}}'::jsonb,
     '{}'::jsonb),
    ('SecondFactorEnrolled', '["method"]',
     '{"method": {"const": "totp"}}',
     '{"second_factor": {"const": "pending"},
       "second_factor_enrolled_at": {"type": "string", "format": "date-time"}}'),
    ('SecondFactorConfirmed', '["method"]',
     '{"method": {"const": "totp"}}',
     '{"second_factor": {"const": "confirmed"},
       "second_factor_confirmed_at": {"type": "string", "format": "date-time"},
       "second_factor_confirmed_step": {"type": "integer", "minimum": 0}}'),
    ('SecondFactorRemoved', '[]',
     '{"reason": {"type": "string", "maxLength": 500}}',
     '{"second_factor": {"const": "none"}}'),
    ('LoginFailed', '["reason"]',
     '{"reason": {"enum": ["password", "second_factor", "second_factor_reused"]},
       "client_address": {"type": "string", "maxLength": 100}}',
     '{"failed_logins": {"type": "integer", "minimum": 1},
       "last_failed_at": {"type": "string", "format": "date-time"}}'),
    ('CredentialLocked', '["locked_until", "failed_logins"]',
     '{"locked_until": {"type": "string", "format": "date-time"},
       "failed_logins": {"type": "integer", "minimum": 1},
       "client_address": {"type": "string", "maxLength": 100}}',
     '{"locked_until": {"type": "string", "format": "date-time"}, "failed_logins": {"const": 0}}'),
    ('CredentialUnlocked', '[]',
     '{"reason": {"type": "string", "maxLength": 500}}',
     '{"locked_until": {"type": "null"}}')
)
-- ``version`` is the event's own column: a state may repeat it, but need not.
INSERT INTO auth.event_types (event_name, event_version, kind, payload_schema, state_schema)
SELECT e.event_name, 1, 'Credential',
       s.payload_base
         || jsonb_build_object('required', (s.payload_base -> 'required') || e.required)
         || jsonb_build_object('properties', (s.payload_base -> 'properties') || e.properties),
       s.credential_state
         || jsonb_build_object('properties', (s.credential_state -> 'properties') || e.state_changes)
FROM schemas AS s CROSS JOIN events AS e;
