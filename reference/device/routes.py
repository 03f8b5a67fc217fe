"""The device service's HTTP API.

Reads need an access token of the tenant (any role); writes need the ``admin``
role, or the platform admin token with ``X-Tenant-ID``. Every write returns the
aggregate after the change, with its version as ``ETag``; changes honour
``If-Match`` (a stale version is 409). ``?at=TIME`` on a device or certificate
answers with its state at that time, from its events.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Body, Query, Request, Response, status

from reference.device.api_models import (
    Binding,
    Certificate,
    CertificateAuthority,
    CertificatePage,
    CertificateRequest,
    Decommissioning,
    Device,
    DevicePage,
    IssuedCertificate,
    NewDevice,
    Revocation,
)
from reference.device.model import CertificateSource, DeviceRegistry
from reference.platform.api_models import Event
from reference.platform.callers import Runtime, TenantCaller
from reference.platform.request_parameters import (
    IfMatch,
    PageSize,
    aware_time,
    expected_version,
    with_etag,
)
from reference.platform.tenancy import tenant_transaction

ADMIN_ROLE = "admin"
PEM_CERTIFICATE_CHAIN = "application/pem-certificate-chain"  # RFC 8555 9.1
PEM_FILE = "application/x-pem-file"
At = Annotated[
    datetime | None, Query(description="as it was at this time (with a time zone), from its events")
]


def device_routers(registry: DeviceRegistry) -> list[APIRouter]:
    """The routers of the device API, working on ``registry``."""
    return [_devices(registry), _authority(registry), _certificates(registry)]


def _devices(registry: DeviceRegistry) -> APIRouter:
    router = APIRouter(prefix="/v1/devices", tags=["devices"])

    @router.post("", status_code=status.HTTP_201_CREATED, response_model=Device)
    async def register_device(
        body: NewDevice, caller: TenantCaller, service: Runtime, response: Response
    ) -> dict[str, Any]:
        """Register an active device (DeviceRegistered); 409 if its serial number is taken."""
        caller.require_role(ADMIN_ROLE)
        async with tenant_transaction(service.pool, caller.tenant_id) as tx:
            change = await registry.register_device(
                tx,
                name=body.name,
                serial_number=body.serial_number,
                model=body.model,
                kind=body.kind,
                actor=caller.actor,
            )
        response.headers["Location"] = f"/v1/devices/{change.state['id']}"
        return with_etag(response, change.state)

    @router.get("", response_model=DevicePage)
    async def list_devices(
        caller: TenantCaller,
        service: Runtime,
        limit: PageSize = 100,
        after: Annotated[str | None, Query(description="the last serial number of the previous page")] = None,
        device_status: Annotated[Literal["active", "decommissioned"] | None, Query(alias="status")] = None,
        kind: Annotated[str | None, Query(max_length=63)] = None,
    ) -> dict[str, Any]:
        """Devices of the tenant, ordered by serial number."""
        items = await registry.list_devices(
            service.pool, caller.tenant_id, status=device_status, kind=kind, after=after, limit=limit
        )
        return {"items": items, "next_after": items[-1]["serial_number"] if len(items) == limit else None}

    @router.get("/{device_id}", response_model=Device)
    async def get_device(
        device_id: UUID, caller: TenantCaller, service: Runtime, response: Response, at: At = None
    ) -> dict[str, Any]:
        """One device; with ``at``, the device as it was then."""
        if at is None:
            return with_etag(response, await registry.read_device(service.pool, caller.tenant_id, device_id))
        async with tenant_transaction(service.pool, caller.tenant_id) as tx:
            return await registry.device_at(tx, device_id, aware_time(at))

    @router.post("/{device_id}/decommission", response_model=Device)
    async def decommission_device(
        device_id: UUID,
        caller: TenantCaller,
        service: Runtime,
        response: Response,
        body: Annotated[Decommissioning | None, Body()] = None,
        if_match: IfMatch = None,
    ) -> dict[str, Any]:
        """Decommission a device (DeviceDecommissioned); 409 while an unexpired certificate is bound to it."""
        caller.require_role(ADMIN_ROLE)
        async with tenant_transaction(service.pool, caller.tenant_id) as tx:
            change = await registry.decommission_device(
                tx,
                device_id,
                reason=body.reason if body else None,
                expected_version=expected_version(if_match),
                actor=caller.actor,
            )
        return with_etag(response, change.state)

    @router.get("/{device_id}/history", response_model=list[Event])
    async def device_history(device_id: UUID, caller: TenantCaller, service: Runtime) -> list[dict[str, Any]]:
        """Every event of the device, oldest first."""
        async with tenant_transaction(service.pool, caller.tenant_id) as tx:
            return [event.as_json() for event in await registry.device_history(tx, device_id)]

    @router.get("/{device_id}/certificates", response_model=list[Certificate])
    async def certificates_of_device(
        device_id: UUID, caller: TenantCaller, service: Runtime
    ) -> list[dict[str, Any]]:
        """The certificates bound to the device now; where each was bound before is in its own history."""
        return await registry.certificates_of_device(service.pool, caller.tenant_id, device_id)

    return router


def _authority(registry: DeviceRegistry) -> APIRouter:
    router = APIRouter(prefix="/v1/ca", tags=["certificate authority"])

    @router.get(
        "",
        response_model=CertificateAuthority,
        responses={200: {"content": {PEM_CERTIFICATE_CHAIN: {"schema": {"type": "string"}}}}},
    )
    async def get_authority(
        caller: TenantCaller, service: Runtime, request: Request, response: Response
    ) -> Any:
        """The tenant's certificate authority (created on first need: CertificateAuthorityCreated).

        With ``Accept: application/pem-certificate-chain``, just its certificate as PEM.
        Its private key never leaves the service.
        """
        async with tenant_transaction(service.pool, caller.tenant_id) as tx:
            state = await registry.authority(tx, caller.actor)
        if PEM_CERTIFICATE_CHAIN in request.headers.get("accept", ""):
            return Response(state["certificate_pem"], media_type=PEM_CERTIFICATE_CHAIN)
        return with_etag(response, state)

    @router.get(
        "/crl",
        response_class=Response,
        responses={200: {"content": {PEM_FILE: {"schema": {"type": "string"}}}, "description": "PEM CRL"}},
    )
    async def revocation_list(caller: TenantCaller, service: Runtime) -> Response:
        """The authority's certificate revocation list (PEM), signed now, valid for a day."""
        async with tenant_transaction(service.pool, caller.tenant_id) as tx:
            pem = await registry.revocation_list(tx, caller.actor)
        return Response(pem, media_type=PEM_FILE, headers={"Cache-Control": "no-cache"})

    return router


def _certificates(registry: DeviceRegistry) -> APIRouter:
    router = APIRouter(prefix="/v1/certificates", tags=["certificates"])

    @router.post("", status_code=status.HTTP_201_CREATED, response_model=IssuedCertificate)
    async def issue_certificate(
        body: CertificateRequest, caller: TenantCaller, service: Runtime, response: Response
    ) -> dict[str, Any]:
        """Issue a certificate from a CSR or for a generated key (CertificateIssued).

        A generated private key is in this response only: it is stored nowhere.
        """
        caller.require_role(ADMIN_ROLE)
        source = CertificateSource(csr=body.csr, generate_key=body.generate_key, common_name=body.common_name)
        async with tenant_transaction(service.pool, caller.tenant_id) as tx:
            issued = await registry.issue_certificate(
                tx, source, validity_days=body.validity_days, actor=caller.actor
            )
        response.headers["Location"] = f"/v1/certificates/{issued.change.state['id']}"
        response.headers["Cache-Control"] = "no-store"
        return with_etag(response, {**issued.change.state, "private_key_pem": issued.private_key_pem})

    @router.get("", response_model=CertificatePage)
    async def list_certificates(
        caller: TenantCaller,
        service: Runtime,
        limit: PageSize = 100,
        after: Annotated[str | None, Query(description="the last serial number of the previous page")] = None,
        certificate_status: Annotated[Literal["active", "revoked"] | None, Query(alias="status")] = None,
        device_id: Annotated[UUID | None, Query(description="only those bound to this device")] = None,
    ) -> dict[str, Any]:
        """Certificates of the tenant, ordered by serial number."""
        items = await registry.list_certificates(
            service.pool,
            caller.tenant_id,
            status=certificate_status,
            device_id=device_id,
            after=after,
            limit=limit,
        )
        return {"items": items, "next_after": items[-1]["serial_number"] if len(items) == limit else None}

    @router.get("/{certificate_id}", response_model=Certificate)
    async def get_certificate(
        certificate_id: UUID, caller: TenantCaller, service: Runtime, response: Response, at: At = None
    ) -> dict[str, Any]:
        """One certificate; with ``at``, as it was then: which device it was bound to, whether revoked."""
        if at is None:
            certificate = await registry.read_certificate(service.pool, caller.tenant_id, certificate_id)
            return with_etag(response, certificate)
        async with tenant_transaction(service.pool, caller.tenant_id) as tx:
            return await registry.certificate_at(tx, certificate_id, aware_time(at))

    @router.get("/{certificate_id}/history", response_model=list[Event])
    async def certificate_history(
        certificate_id: UUID, caller: TenantCaller, service: Runtime
    ) -> list[dict[str, Any]]:
        """Every event of the certificate, oldest first: issued, each binding (from which device), revoked."""
        async with tenant_transaction(service.pool, caller.tenant_id) as tx:
            return [event.as_json() for event in await registry.certificate_history(tx, certificate_id)]

    @router.put("/{certificate_id}/device", response_model=Certificate)
    async def bind_certificate(
        certificate_id: UUID,
        body: Binding,
        caller: TenantCaller,
        service: Runtime,
        response: Response,
        if_match: IfMatch = None,
    ) -> dict[str, Any]:
        """Bind the certificate to a device, or rebind it to another (CertificateBound).

        Binding it to the device it is bound to changes nothing and records nothing.
        """
        caller.require_role(ADMIN_ROLE)
        async with tenant_transaction(service.pool, caller.tenant_id) as tx:
            change = await registry.bind_certificate(
                tx,
                certificate_id,
                body.device_id,
                expected_version=expected_version(if_match),
                actor=caller.actor,
            )
            state = change.state if change is not None else await registry.get_certificate(tx, certificate_id)
        return with_etag(response, state)

    @router.post("/{certificate_id}/revoke", response_model=Certificate)
    async def revoke_certificate(
        certificate_id: UUID,
        body: Revocation,
        caller: TenantCaller,
        service: Runtime,
        response: Response,
        if_match: IfMatch = None,
    ) -> dict[str, Any]:
        """Revoke the certificate (CertificateRevoked); it is listed in the CRL from then on."""
        caller.require_role(ADMIN_ROLE)
        async with tenant_transaction(service.pool, caller.tenant_id) as tx:
            change = await registry.revoke_certificate(
                tx,
                certificate_id,
                reason=body.reason,
                comment=body.comment,
                expected_version=expected_version(if_match),
                actor=caller.actor,
            )
        return with_etag(response, change.state)

    return router
