"""The license service's HTTP API.

Who may do what:

- plans: any authenticated caller (an access token of any tenant, or the platform
  admin token without ``X-Tenant-ID``): the catalogue is the same for every tenant;
- granting a license, changing its seat count, revoking it: the platform admin token
  with ``X-Tenant-ID`` only. Licenses are what a tenant bought; no role inside the
  tenant, not even ``admin``, can give the tenant more;
- assigning and releasing seats: the tenant's ``admin`` role (or the platform admin);
- every read: any access token of the tenant.

Every write returns the aggregate after the change with its version as ``ETag``;
changes honour ``If-Match`` (a stale version is 409). Refusals are 409 with an
error code saying which rule refused (``seats_exhausted``, ``license_revoked``, ...).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Body, Query, Response, status

from reference.license.api_models import (
    License,
    LicensePage,
    NewLicense,
    Plan,
    Release,
    Revocation,
    SeatAssignment,
    SeatCountChange,
    SeatPage,
    SeatRequest,
)
from reference.license.model import Licensing, in_license_order
from reference.platform.aggregates import Change
from reference.platform.api_models import Event
from reference.platform.callers import AnyCaller, Runtime, TenantCaller
from reference.platform.request_parameters import IfMatch, PageSize, expected_version, with_etag
from reference.platform.tenancy import TenantTransaction, tenant_transaction

ADMIN_ROLE = "admin"
After = Annotated[UUID | None, Query(description="the last id of the previous page")]
LicenseStatus = Annotated[Literal["active", "revoked"] | None, Query(alias="status")]
SeatStatus = Annotated[Literal["assigned", "released"] | None, Query(alias="status")]


def license_routers(licensing: Licensing) -> list[APIRouter]:
    """The routers of the license API, working on ``licensing``."""
    return [_plans(licensing), _licenses(licensing), _seats(licensing), _users(licensing)]


def _plans(licensing: Licensing) -> APIRouter:
    router = APIRouter(prefix="/v1/plans", tags=["plans"])

    @router.get("", response_model=list[Plan])
    async def list_plans(caller: AnyCaller, service: Runtime) -> list[dict[str, Any]]:
        """Every plan on offer, ordered by code (read-only: plans change through migrations)."""
        return await licensing.list_plans(service.pool)

    @router.get("/{plan_id}", response_model=Plan)
    async def get_plan(plan_id: UUID, caller: AnyCaller, service: Runtime) -> dict[str, Any]:
        """One plan."""
        return await licensing.read_plan(service.pool, plan_id)

    return router


def _licenses(licensing: Licensing) -> APIRouter:
    router = APIRouter(prefix="/v1/licenses", tags=["licenses"])

    async def respond(tx: TenantTransaction, response: Response, state: dict[str, Any]) -> dict[str, Any]:
        counts = await licensing.assigned_counts(tx, [UUID(state["id"])])
        return with_etag(response, {**state, "seats_assigned": counts[UUID(state["id"])]})

    @router.post("", status_code=status.HTTP_201_CREATED, response_model=License)
    async def grant_license(
        body: NewLicense, caller: TenantCaller, service: Runtime, response: Response
    ) -> dict[str, Any]:
        """Grant the tenant a license (LicenseGranted). Platform admin only.

        404 if the directory has no such tenant, 409 (``tenant_suspended``) if it is suspended.
        """
        caller.require_platform_admin("granting a license")
        async with tenant_transaction(service.pool, caller.tenant_id) as tx:
            change = await licensing.grant_license(
                tx,
                plan_id=body.plan_id,
                seats=body.seats,
                valid_from=body.valid_from,
                valid_until=body.valid_until,
                actor=caller.actor,
            )
        response.headers["Location"] = f"/v1/licenses/{change.state['id']}"
        return with_etag(response, {**change.state, "seats_assigned": 0})

    @router.get("", response_model=LicensePage)
    async def list_licenses(
        caller: TenantCaller,
        service: Runtime,
        limit: PageSize = 100,
        after: After = None,
        license_status: LicenseStatus = None,
    ) -> dict[str, Any]:
        """The tenant's licenses, ordered by id."""
        items = await licensing.list_licenses(
            service.pool, caller.tenant_id, status=license_status, after=after, limit=limit
        )
        return {"items": items, "next_after": items[-1]["id"] if len(items) == limit else None}

    @router.get("/{license_id}", response_model=License)
    async def get_license(
        license_id: UUID, caller: TenantCaller, service: Runtime, response: Response
    ) -> dict[str, Any]:
        """One license, with how many of its seats are assigned."""
        return with_etag(response, await licensing.read_license(service.pool, caller.tenant_id, license_id))

    @router.put("/{license_id}/seat-count", response_model=License)
    async def change_seat_count(
        license_id: UUID,
        body: SeatCountChange,
        caller: TenantCaller,
        service: Runtime,
        response: Response,
        if_match: IfMatch = None,
    ) -> dict[str, Any]:
        """Change the number of seats (LicenseSeatsChanged); never below the seats assigned.

        The same count again changes nothing and records nothing. Platform admin only.
        """
        caller.require_platform_admin("changing a license's seat count")
        version = expected_version(if_match)

        async def change_seats(tx: TenantTransaction) -> dict[str, Any]:
            change = await licensing.change_seats(
                tx, license_id, body.seats, expected_version=version, actor=caller.actor
            )
            state = change.state if change is not None else await licensing.get_license(tx, license_id)
            return await respond(tx, response, state)

        return await in_license_order(service.pool, caller.tenant_id, change_seats)

    @router.post("/{license_id}/revoke", response_model=License)
    async def revoke_license(
        license_id: UUID,
        caller: TenantCaller,
        service: Runtime,
        response: Response,
        body: Annotated[Revocation | None, Body()] = None,
        if_match: IfMatch = None,
    ) -> dict[str, Any]:
        """Revoke a license (LicenseRevoked), releasing its assigned seats (a SeatReleased each).

        Platform admin only; 409 if it is already revoked.
        """
        caller.require_platform_admin("revoking a license")
        version = expected_version(if_match)

        async def revoke(tx: TenantTransaction) -> Change:
            change, _released = await licensing.revoke_license(
                tx,
                license_id,
                reason=body.reason if body else None,
                expected_version=version,
                actor=caller.actor,
            )
            return change

        change = await in_license_order(service.pool, caller.tenant_id, revoke)
        return with_etag(response, {**change.state, "seats_assigned": 0})

    @router.get("/{license_id}/history", response_model=list[Event])
    async def license_history(
        license_id: UUID, caller: TenantCaller, service: Runtime
    ) -> list[dict[str, Any]]:
        """Every event of the license, oldest first: who changed what, when, and the state after."""
        async with tenant_transaction(service.pool, caller.tenant_id) as tx:
            return [event.as_json() for event in await licensing.license_history(tx, license_id)]

    return router


def _seats(licensing: Licensing) -> APIRouter:
    router = APIRouter(prefix="/v1/licenses/{license_id}/seats", tags=["seats"])

    @router.post("", status_code=status.HTTP_201_CREATED, response_model=SeatAssignment)
    async def assign_seat(
        license_id: UUID, body: SeatRequest, caller: TenantCaller, service: Runtime, response: Response
    ) -> dict[str, Any]:
        """Assign a seat to an active user of the tenant (SeatAssigned).

        409 when every seat is taken (``seats_exhausted``), the license is revoked
        (``license_revoked``) or outside its validity (``license_not_in_force``), the user
        already holds a seat of it (``seat_already_held``) or is deactivated (``user_inactive``).
        """
        caller.require_role(ADMIN_ROLE)

        async def assign(tx: TenantTransaction) -> Change:
            return await licensing.assign_seat(tx, license_id, body.user_id, caller.actor)

        change = await in_license_order(service.pool, caller.tenant_id, assign)
        response.headers["Location"] = f"/v1/licenses/{license_id}/seats/{change.state['id']}"
        return with_etag(response, change.state)

    @router.get("", response_model=SeatPage)
    async def list_seats(
        license_id: UUID,
        caller: TenantCaller,
        service: Runtime,
        limit: PageSize = 100,
        after: After = None,
        seat_status: SeatStatus = None,
    ) -> dict[str, Any]:
        """The license's seat assignments (held and released), ordered by id."""
        items = await licensing.seats_of_license(
            service.pool, caller.tenant_id, license_id, status=seat_status, after=after, limit=limit
        )
        return {"items": items, "next_after": items[-1]["id"] if len(items) == limit else None}

    @router.get("/{seat_id}", response_model=SeatAssignment)
    async def get_seat(
        license_id: UUID, seat_id: UUID, caller: TenantCaller, service: Runtime, response: Response
    ) -> dict[str, Any]:
        """One seat assignment of the license."""
        seat = await licensing.read_seat(service.pool, caller.tenant_id, license_id, seat_id)
        return with_etag(response, seat)

    @router.delete("/{seat_id}", response_model=SeatAssignment)
    async def release_seat(
        license_id: UUID,
        seat_id: UUID,
        caller: TenantCaller,
        service: Runtime,
        response: Response,
        body: Annotated[Release | None, Body()] = None,
        if_match: IfMatch = None,
    ) -> dict[str, Any]:
        """Release a seat (SeatReleased); its row stays, as ``released``. 409 if released already."""
        caller.require_role(ADMIN_ROLE)
        version = expected_version(if_match)

        async def release(tx: TenantTransaction) -> Change:
            return await licensing.release_seat(
                tx,
                license_id,
                seat_id,
                reason=body.reason if body else None,
                expected_version=version,
                actor=caller.actor,
            )

        return with_etag(response, (await in_license_order(service.pool, caller.tenant_id, release)).state)

    return router


def _users(licensing: Licensing) -> APIRouter:
    router = APIRouter(prefix="/v1/users", tags=["seats"])

    @router.get("/{user_id}/seats", response_model=list[SeatAssignment])
    async def seats_of_user(
        user_id: UUID, caller: TenantCaller, service: Runtime, seat_status: SeatStatus = None
    ) -> list[dict[str, Any]]:
        """The seat assignments of a directory user of the tenant, oldest first."""
        return await licensing.seats_of_user(service.pool, caller.tenant_id, user_id, status=seat_status)

    return router
