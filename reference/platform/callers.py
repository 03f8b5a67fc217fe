"""Who is calling: FastAPI dependencies that authenticate a request and fix its tenant.

Two ways in, both as ``Authorization: Bearer ...``:

- an access token (EdDSA JWT): the tenant, user and roles come from its verified claims;
- the platform admin token (``FITGATE_ADMIN_TOKEN``) with ``X-Tenant-ID``: a
  platform operator acting inside the named tenant, with every role.

Nothing else can set a tenant. A request without credentials is 401, and since
every read runs under row-level security for the caller's tenant, another
tenant's resource is simply not found (404).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from reference.platform.access_tokens import TokenVerifier
from reference.platform.errors import Forbidden, InvalidInput, Unauthenticated
from reference.platform.event_store import Actor
from reference.platform.pool import Pool
from reference.platform.settings import Settings

PLATFORM_ADMIN = "platform-admin"
TENANT_HEADER = "X-Tenant-ID"
_bearer_scheme = HTTPBearer(
    auto_error=False,
    description="an access token issued by auth, or the platform admin token",
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)]


@dataclass(frozen=True)
class ServiceRuntime:
    """What a running service shares between requests (``app.state.runtime``)."""

    settings: Settings
    pool: Pool
    verifier: TokenVerifier


@dataclass(frozen=True)
class Caller:
    """An authenticated caller acting in one tenant."""

    tenant_id: UUID
    actor: Actor
    roles: frozenset[str]
    is_platform_admin: bool = False

    def require_role(self, role: str) -> None:
        """Raise :class:`Forbidden` unless the caller holds ``role`` (the platform admin holds all)."""
        if not self.is_platform_admin and role not in self.roles:
            raise Forbidden(f"this action needs the role {role}")

    def require_platform_admin(self, action: str) -> None:
        """Raise :class:`Forbidden` unless the platform admin token made the call (no tenant role counts)."""
        if not self.is_platform_admin:
            raise Forbidden(f"{action} needs the platform admin token")


def runtime(request: Request) -> ServiceRuntime:
    """The service's shared runtime (pool, settings, token verifier)."""
    value: ServiceRuntime = request.app.state.runtime
    return value


async def service_runtime(request: Request) -> ServiceRuntime:
    """:func:`runtime` as a dependency: async, so FastAPI runs it inline, not in a worker thread."""
    return runtime(request)


async def tenant_caller(
    request: Request,
    credentials: Credentials,
    x_tenant_id: Annotated[
        str | None,
        Header(alias=TENANT_HEADER, description="platform admin only: the tenant to act in"),
    ] = None,
) -> Caller:
    """The caller of a tenant-scoped endpoint: an access token, or the admin token with X-Tenant-ID."""
    service = runtime(request)
    token = _bearer(credentials)
    request_id = getattr(request.state, "request_id", None)
    if _is_admin_token(token, service.settings):
        if x_tenant_id is None:
            raise InvalidInput(TENANT_HEADER, "is required with the platform admin token")
        caller = Caller(
            tenant_id=_tenant_id(x_tenant_id),
            actor=Actor(PLATFORM_ADMIN, request_id),
            roles=frozenset(),
            is_platform_admin=True,
        )
    else:
        claims = await service.verifier.verify(token)
        caller = Caller(
            tenant_id=claims.tenant_id,
            actor=Actor(claims.subject, request_id),
            roles=claims.roles,
        )
    request.state.tenant_id = caller.tenant_id
    return caller


async def platform_admin(
    request: Request,
    credentials: Credentials,
) -> Actor:
    """The caller of a platform admin endpoint (no tenant yet, e.g. creating one): admin token only."""
    service = runtime(request)
    token = _bearer(credentials)
    if not _is_admin_token(token, service.settings):
        raise Unauthenticated("this endpoint needs the platform admin token")
    return Actor(PLATFORM_ADMIN, getattr(request.state, "request_id", None))


async def any_caller(request: Request, credentials: Credentials) -> Actor:
    """The caller of an endpoint over global data: the admin token, or any tenant's access token.

    No tenant is set (the admin token needs no ``X-Tenant-ID``): such endpoints read
    only global tables, such as a catalogue offered to every tenant.
    """
    service = runtime(request)
    token = _bearer(credentials)
    request_id = getattr(request.state, "request_id", None)
    if _is_admin_token(token, service.settings):
        return Actor(PLATFORM_ADMIN, request_id)
    claims = await service.verifier.verify(token)
    return Actor(claims.subject, request_id)


TenantCaller = Annotated[Caller, Depends(tenant_caller)]
PlatformAdmin = Annotated[Actor, Depends(platform_admin)]
AnyCaller = Annotated[Actor, Depends(any_caller)]
Runtime = Annotated[ServiceRuntime, Depends(service_runtime)]


def _bearer(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or not credentials.credentials.strip():
        raise Unauthenticated("an 'Authorization: Bearer <token>' header is required")
    return credentials.credentials.strip()


def _is_admin_token(token: str, settings: Settings) -> bool:
    if settings.admin_token is None:
        return False
    return hmac.compare_digest(token.encode(), settings.admin_token.encode())


def _tenant_id(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise InvalidInput(TENANT_HEADER, f"{raw!r} is not a UUID") from None


def bearer_token(credentials: HTTPAuthorizationCredentials | None) -> str:
    """The request's bearer token, for a service's own dependencies; :class:`Unauthenticated` if none."""
    return _bearer(credentials)


def is_admin_token(token: str, settings: Settings) -> bool:
    """Whether ``token`` is the platform admin token (compared in constant time)."""
    return _is_admin_token(token, settings)
