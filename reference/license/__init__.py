"""The license service: plans, licenses per tenant and seat assignments (consistency).

Plans are a global catalogue seeded by migrations; licenses and seat assignments
are tenant data, each change written with its domain event in the same transaction
(:mod:`reference.license.model`). Seat changes lock their license row, so seats are
never oversubscribed. The HTTP API is :mod:`reference.license.routes`, the ASGI app
``reference.license.app:app``; ``python -m reference.license`` runs it.
"""
