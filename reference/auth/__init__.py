"""The auth service: credentials, two-factor login, sessions, introspection, signing keys (availability).

Every change writes its domain event in the same transaction
(:mod:`reference.auth.model`); the login, refresh and introspection flows are
:mod:`reference.auth.authenticator`, the HTTP API :mod:`reference.auth.routes`,
the ASGI app ``reference.auth.app:app``; ``python -m reference.auth`` runs it.
Users, roles and seats are read directly from directory's and license's
published tables (:mod:`reference.auth.identity`), never over HTTP.
"""
