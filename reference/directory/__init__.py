"""The directory service: tenants, users, roles and role assignments (consistency, traceability).

Every change writes its domain event in the same transaction
(:mod:`reference.directory.model`); the HTTP API is :mod:`reference.directory.routes`,
the ASGI app ``reference.directory.app:app``; ``python -m reference.directory`` runs it.
"""
