"""The auth service's ASGI app: ``reference.auth.app:app``."""

from __future__ import annotations

from reference.auth.model import ROLE
from reference.auth.routes import auth_routers
from reference.auth.service import AuthService
from reference.platform.service_app import create_service_app

service = AuthService()
app = create_service_app(
    service="auth",
    role=ROLE,
    title="fitgate auth",
    description=(
        "Credentials (argon2id passwords, TOTP second factor), two-factor login, sessions with "
        "rotating refresh tokens, token introspection (RFC 7662) and the JWKS every service verifies "
        "access tokens with. Reads users, roles and seats directly from the database, so it keeps "
        "working while the directory and license services are down."
    ),
    version="1.0.0",
    routers=auth_routers(service),
    on_startup=service.start,
)
