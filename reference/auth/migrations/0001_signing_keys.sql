-- Token signing keys. Both tables are global: one key signs tokens of every tenant.
-- signing_keys is internal (private halves, auth only); signing_public_keys is
-- published: every service reads it directly to verify access tokens, so token
-- verification never depends on auth being up.

CREATE TABLE auth.signing_keys (
    kid text PRIMARY KEY CHECK (kid ~ '^[A-Za-z0-9_-]{8,64}$'),
    algorithm text NOT NULL CHECK (algorithm = 'EdDSA'),
    private_key text NOT NULL,                -- PKCS#8 PEM of an Ed25519 key
    created_at timestamptz NOT NULL DEFAULT now(),
    retired_at timestamptz                    -- no longer signs; tokens signed earlier still verify
);

CREATE TABLE auth.signing_public_keys (
    kid text PRIMARY KEY REFERENCES auth.signing_keys (kid),
    algorithm text NOT NULL CHECK (algorithm = 'EdDSA'),
    public_key text NOT NULL,                 -- SubjectPublicKeyInfo PEM
    jwk jsonb NOT NULL,                       -- the same key as a JWK, for the JWKS endpoint
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz                    -- after this, tokens signed with it no longer verify
);

GRANT USAGE ON SCHEMA auth TO auth_service;
GRANT SELECT, INSERT, UPDATE, DELETE ON auth.signing_keys, auth.signing_public_keys TO auth_service;

-- Published: every service that verifies tokens reads the public keys, nothing else of auth.
GRANT USAGE ON SCHEMA auth TO directory_service, license_service, device_service;
GRANT SELECT ON auth.signing_public_keys TO directory_service, license_service, device_service;
