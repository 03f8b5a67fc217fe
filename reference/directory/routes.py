"""The directory's HTTP API.

Reads need an access token of the tenant (any role); writes need the ``admin``
role, or the platform admin token with ``X-Tenant-ID``. Creating a tenant needs
the platform admin token. Every write returns the aggregate after the change,
with its version as ``ETag``; updates honour ``If-Match`` (a stale version is 409).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID, uuid4

from fastapi import APIRouter, Body, Query, Request, Response, status

from reference.directory.api_models import (
    Deactivation,
    NewRole,
    NewTenant,
    NewUser,
    Role,
    RoleAssignment,
    RoleAssignmentRequest,
    RolePage,
    Tenant,
    User,
    UsernameChange,
    UserPage,
)
from reference.directory.model import Directory
from reference.platform.api_models import Event
from reference.platform.callers import PlatformAdmin, Runtime, TenantCaller
from reference.platform.request_parameters import (
    IfMatch,
    PageSize,
    aware_time,
    expected_version,
    with_etag,
)
from reference.platform.tenancy import tenant_transaction

ADMIN_ROLE = "admin"


def directory_routers(directory: Directory) -> list[APIRouter]:
    """The routers of the directory API, working on ``directory``."""
    return [_admin(directory), _tenant(directory), _users(directory), _roles(directory)]


def _admin(directory: Directory) -> APIRouter:
    router = APIRouter(prefix="/v1/admin", tags=["platform admin"])

    @router.post("/tenants", status_code=status.HTTP_201_CREATED, response_model=Tenant)
    async def create_tenant(
        body: NewTenant, actor: PlatformAdmin, service: Runtime, request: Request, response: Response
    ) -> dict[str, Any]:
        """Create a tenant (TenantCreated). Needs the platform admin token."""
        tenant_id = uuid4()
        request.state.tenant_id = tenant_id
        async with tenant_transaction(service.pool, tenant_id) as tx:
            change = await directory.create_tenant(tx, body.name, actor)
        response.headers["Location"] = "/v1/tenant"
        return with_etag(response, change.state)

    return router


def _tenant(directory: Directory) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["tenant"])

    @router.get("/tenant", response_model=Tenant)
    async def get_tenant(caller: TenantCaller, service: Runtime, response: Response) -> dict[str, Any]:
        """The caller's tenant."""
        return with_etag(response, await directory.read_tenant(service.pool, caller.tenant_id))

    return router


def _users(directory: Directory) -> APIRouter:
    router = APIRouter(prefix="/v1/users", tags=["users"])

    @router.post("", status_code=status.HTTP_201_CREATED, response_model=User)
    async def create_user(
        body: NewUser, caller: TenantCaller, service: Runtime, response: Response
    ) -> dict[str, Any]:
        """Create an active user (UserCreated); 409 if the username is taken."""
        caller.require_role(ADMIN_ROLE)
        async with tenant_transaction(service.pool, caller.tenant_id) as tx:
            change = await directory.create_user(
                tx,
                username=body.username,
                display_name=body.display_name,
                email=body.email,
                actor=caller.actor,
            )
        response.headers["Location"] = f"/v1/users/{change.state['id']}"
        return with_etag(response, change.state)

    @router.get("", response_model=UserPage)
    async def list_users(
        caller: TenantCaller,
        service: Runtime,
        limit: PageSize = 100,
        after: Annotated[str | None, Query(description="the last username of the previous page")] = None,
        user_status: Annotated[Literal["active", "deactivated"] | None, Query(alias="status")] = None,
    ) -> dict[str, Any]:
        """Users of the tenant, ordered by username."""
        items = await directory.list_users(
            service.pool, caller.tenant_id, status=user_status, after=after, limit=limit
        )
        return {"items": items, "next_after": items[-1]["username"] if len(items) == limit else None}

    @router.get("/{user_id}", response_model=User)
    async def get_user(
        user_id: UUID,
        caller: TenantCaller,
        service: Runtime,
        response: Response,
        at: Annotated[datetime | None, Query(description="the user as it was at this time")] = None,
    ) -> dict[str, Any]:
        """One user; with ``at``, the user as it was then (from its events)."""
        if at is None:
            return with_etag(response, await directory.read_user(service.pool, caller.tenant_id, user_id))
        async with tenant_transaction(service.pool, caller.tenant_id) as tx:
            return await directory.user_at(tx, user_id, aware_time(at))

    @router.put("/{user_id}/username", response_model=User)
    async def rename_user(
        user_id: UUID,
        body: UsernameChange,
        caller: TenantCaller,
        service: Runtime,
        response: Response,
        if_match: IfMatch = None,
    ) -> dict[str, Any]:
        """Rename a user (UsernameUpdated); the same name again changes nothing and records nothing."""
        caller.require_role(ADMIN_ROLE)
        async with tenant_transaction(service.pool, caller.tenant_id) as tx:
            change = await directory.rename_user(
                tx, user_id, body.username, expected_version=expected_version(if_match), actor=caller.actor
            )
            state = change.state if change is not None else await directory.get_user(tx, user_id)
        return with_etag(response, state)

    @router.post("/{user_id}/deactivate", response_model=User)
    async def deactivate_user(
        user_id: UUID,
        caller: TenantCaller,
        service: Runtime,
        response: Response,
        body: Annotated[Deactivation | None, Body()] = None,
        if_match: IfMatch = None,
    ) -> dict[str, Any]:
        """Deactivate a user (UserDeactivated); 409 if already deactivated."""
        caller.require_role(ADMIN_ROLE)
        async with tenant_transaction(service.pool, caller.tenant_id) as tx:
            change = await directory.deactivate_user(
                tx,
                user_id,
                reason=body.reason if body else None,
                expected_version=expected_version(if_match),
                actor=caller.actor,
            )
        return with_etag(response, change.state)

    @router.get("/{user_id}/history", response_model=list[Event])
    async def user_history(user_id: UUID, caller: TenantCaller, service: Runtime) -> list[dict[str, Any]]:
        """Every event of the user, oldest first: who changed what, when, and the state after."""
        async with tenant_transaction(service.pool, caller.tenant_id) as tx:
            return [event.as_json() for event in await directory.user_history(tx, user_id)]

    @router.get("/{user_id}/roles", response_model=list[RoleAssignment])
    async def roles_of_user(user_id: UUID, caller: TenantCaller, service: Runtime) -> list[dict[str, Any]]:
        """The user's active role assignments."""
        return await directory.read_roles_of_user(service.pool, caller.tenant_id, user_id)

    @router.post(
        "/{user_id}/roles",
        status_code=status.HTTP_201_CREATED,
        response_model=RoleAssignment,
        responses={200: {"model": RoleAssignment, "description": "a revoked assignment made active again"}},
    )
    async def assign_role(
        user_id: UUID,
        body: RoleAssignmentRequest,
        caller: TenantCaller,
        service: Runtime,
        response: Response,
    ) -> dict[str, Any]:
        """Assign a role to an active user (RoleAssigned); 409 if it is already assigned."""
        caller.require_role(ADMIN_ROLE)
        async with tenant_transaction(service.pool, caller.tenant_id) as tx:
            change, created = await directory.assign_role(tx, user_id, body.role_id, caller.actor)
        if not created:
            response.status_code = status.HTTP_200_OK
        return with_etag(response, change.state)

    @router.delete("/{user_id}/roles/{role_id}", response_model=RoleAssignment)
    async def revoke_role(
        user_id: UUID, role_id: UUID, caller: TenantCaller, service: Runtime, response: Response
    ) -> dict[str, Any]:
        """Revoke a role from a user (RoleRevoked); 404 if it is not assigned."""
        caller.require_role(ADMIN_ROLE)
        async with tenant_transaction(service.pool, caller.tenant_id) as tx:
            change = await directory.revoke_role(tx, user_id, role_id, caller.actor)
        return with_etag(response, change.state)

    return router


def _roles(directory: Directory) -> APIRouter:
    router = APIRouter(prefix="/v1/roles", tags=["roles"])

    @router.post("", status_code=status.HTTP_201_CREATED, response_model=Role)
    async def create_role(
        body: NewRole, caller: TenantCaller, service: Runtime, response: Response
    ) -> dict[str, Any]:
        """Create a role (RoleCreated); 409 if the name is taken."""
        caller.require_role(ADMIN_ROLE)
        async with tenant_transaction(service.pool, caller.tenant_id) as tx:
            change = await directory.create_role(
                tx, name=body.name, description=body.description, actor=caller.actor
            )
        response.headers["Location"] = f"/v1/roles/{change.state['id']}"
        return with_etag(response, change.state)

    @router.get("", response_model=RolePage)
    async def list_roles(
        caller: TenantCaller,
        service: Runtime,
        limit: PageSize = 100,
        after: Annotated[str | None, Query(description="the last role name of the previous page")] = None,
    ) -> dict[str, Any]:
        """Roles of the tenant, ordered by name."""
        items = await directory.list_roles(service.pool, caller.tenant_id, after=after, limit=limit)
        return {"items": items, "next_after": items[-1]["name"] if len(items) == limit else None}

    @router.get("/{role_id}", response_model=Role)
    async def get_role(
        role_id: UUID, caller: TenantCaller, service: Runtime, response: Response
    ) -> dict[str, Any]:
        """One role."""
        return with_etag(response, await directory.read_role(service.pool, caller.tenant_id, role_id))

    return router
