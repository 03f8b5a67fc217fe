-- Sessions: one per login, from the password + second-factor check to logout, revocation or
-- expiry. A session is a refresh-token family: each refresh rotates its refresh token
-- (SessionRefreshed records the new token's hash), so every token the family ever had is
-- in its events, and presenting one that is no longer current is a replay: the whole
-- session is revoked. Only SHA-256 hashes of the 256-bit random refresh tokens are
-- stored; access tokens carry the session id (sid) so introspection can refuse the
-- tokens of a revoked session. Internal: no other service reads it.

CREATE TABLE auth.sessions (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    user_id uuid NOT NULL,
    credential_id uuid NOT NULL,
    status text NOT NULL CHECK (status IN ('active', 'revoked')),
    refresh_token_hash text NOT NULL CHECK (refresh_token_hash ~ '^[0-9a-f]{64}$'),
    -- The TOTP time step of the code this session was started with: used once per credential.
    second_factor_step bigint NOT NULL CHECK (second_factor_step >= 0),
    started_at timestamptz NOT NULL,
    last_refreshed_at timestamptz,
    refresh_expires_at timestamptz NOT NULL,   -- the current refresh token is refused after this
    expires_at timestamptz NOT NULL,           -- no refresh extends the session past this
    revoked_at timestamptz,
    revoked_reason text CHECK (revoked_reason IN ('logout', 'revoked', 'refresh_token_reused')),
    version integer NOT NULL CHECK (version >= 1),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT sessions_credential_fk FOREIGN KEY (tenant_id, credential_id)
        REFERENCES auth.credentials (tenant_id, id),
    -- One session per one-time code: a replayed code cannot start a second one, even concurrently.
    CONSTRAINT sessions_one_per_code UNIQUE (tenant_id, credential_id, second_factor_step),
    CONSTRAINT sessions_revoked_when CHECK (
        (status = 'revoked') = (revoked_at IS NOT NULL AND revoked_reason IS NOT NULL)
        AND (revoked_at IS NULL) = (revoked_reason IS NULL)),
    CONSTRAINT sessions_refresh_within_lifetime CHECK (refresh_expires_at <= expires_at)
);
-- A user's sessions (listing them, revoking them all).
CREATE INDEX sessions_of_user ON auth.sessions (tenant_id, user_id, status);

ALTER TABLE auth.sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON auth.sessions AS PERMISSIVE FOR ALL TO PUBLIC
    USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid));
CREATE POLICY tenant_floor ON auth.sessions AS RESTRICTIVE FOR ALL TO PUBLIC
    USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid));

-- Sessions are revoked or expire, never deleted: their events must keep matching their rows.
GRANT SELECT, INSERT, UPDATE ON auth.sessions TO auth_service;

WITH schemas (payload_base, session_state) AS (
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
          "required": ["tenant_id", "id", "user_id", "credential_id", "status", "refresh_token_hash",
                       "second_factor_step", "started_at", "last_refreshed_at", "refresh_expires_at",
                       "expires_at", "revoked_at", "revoked_reason", "created_at", "updated_at"],
          "additionalProperties": false,
          "properties": {
            "tenant_id": {"type": "string", "format": "uuid"},
            "id": {"type": "string", "format": "uuid"},
            "user_id": {"type": "string", "format": "uuid"},
            "credential_id": {"type": "string", "format": "uuid"},
            "status": {"enum": ["active", "revoked"]},
            "refresh_token_hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "second_factor_step": {"type": "integer", "minimum": 0},
            "started_at": {"type": "string", "format": "date-time"},
            "last_refreshed_at": {"type": ["string", "null"], "format": "date-time"},
            "refresh_expires_at": {"type": "string", "format": "date-time"},
            "expires_at": {"type": "string", "format": "date-time"},
            "revoked_at": {"type": ["string", "null"], "format": "date-time"},
            "revoked_reason": {"enum": [null, "logout", "revoked", "refresh_token_reused"]},
            "version": {"type": "integer", "minimum": 1},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"}
          }
        }$json$::jsonb
),
events (event_name, required, properties, state_changes) AS (
    VALUES
    ('SessionStarted', '[]'::jsonb,
     '{"client_address": {"type": "string", "maxLength": 100}}'::jsonb,
     '{"status": {"const": "active"}, "version": {"const": 1}, "last_refreshed_at": {"type": "null"}}'::jsonb),
    ('SessionRefreshed', '[]',
     '{"client_address": {"type": "string", "maxLength": 100}}',
     '{"status": {"const": "active"}, "version": {"type": "integer", "minimum": 2},
       "last_refreshed_at": {"type": "string", "format": "date-time"}}'),
    ('SessionRevoked', '["reason"]',
     '{"reason": {"enum": ["logout", "revoked", "refresh_token_reused"]},
       "client_address": {"type": "string", "maxLength": 100}}',
     '{"status": {"const": "revoked"}, "revoked_at": {"type": "string", "format": "date-time"},
       "revoked_reason": {"enum": ["logout", "revoked", "refresh_token_reused"]}}')
)
-- ``version`` is the event's own column: a state may repeat it, but need not.
INSERT INTO auth.event_types (event_name, event_version, kind, payload_schema, state_schema)
SELECT e.event_name, 1, 'Session',
       s.payload_base
         || jsonb_build_object('required', (s.payload_base -> 'required') || e.required)
         || jsonb_build_object('properties', (s.payload_base -> 'properties') || e.properties),
       s.session_state
         || jsonb_build_object('properties', (s.session_state -> 'properties') || e.state_changes)
FROM schemas AS s CROSS JOIN events AS e;
