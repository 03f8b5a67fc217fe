"""The auth service: credentials, two-factor login and the signing keys every service verifies with.

So far this package holds the signing keys (migration 0001, key generation at
install time) and the auth schema's event store; the service's endpoints
(login, TOTP, refresh, introspection, JWKS) and its app come next.
"""
