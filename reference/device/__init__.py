"""The device service: devices per tenant and the X.509 certificates bound to them (traceability, security).

Each tenant has its own certificate authority (:mod:`reference.device.x509_authority`),
created on first need; its private key stays in an internal table. Every change
writes its domain event in the same transaction (:mod:`reference.device.model`),
so "which device was this certificate bound to on date D" is one query on the
certificate's events. The HTTP API is :mod:`reference.device.routes`, the ASGI app
``reference.device.app:app``; ``python -m reference.device`` runs it.
"""
