"""Concurrent changes of one aggregate: one wins, the others get 409; no event is lost."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import psycopg

from tests.reference.conftest import TenantCaller
from tests.reference.test_device_api import bind, issue_certificate, register_device
from tests.reference.test_directory_concurrency import at_once

VERSIONS = (
    "SELECT array_agg(version ORDER BY version) FROM device.domain_event "
    "WHERE tenant_id = %s AND kind = 'Certificate' AND aggregate_id = %s"
)
ROW = "SELECT device_id::text, version FROM device.certificates WHERE tenant_id = %s AND id = %s"
AUTHORITY_EVENTS = (
    "SELECT count(*) FROM device.domain_event WHERE tenant_id = %s AND kind = 'CertificateAuthority'"
)
Connection = psycopg.Connection[tuple[object, ...]]


def clients(url: str, count: int) -> list[httpx.Client]:
    return [httpx.Client(base_url=url, timeout=30) for _ in range(count)]


def test_two_concurrent_rebinds_of_one_version(
    platform_services: Any,
    device: httpx.Client,
    superuser: Connection,
    new_tenant: Callable[[], TenantCaller],
) -> None:
    tenant = new_tenant()
    first, second, third = (register_device(device, tenant, f"CC-{i}") for i in range(3))
    certificate = issue_certificate(device, tenant, "contended")
    assert bind(device, tenant, certificate["id"], first["id"]).status_code == 200
    racers = clients(platform_services("device").url, 2)
    try:
        responses = at_once(
            [
                lambda c=client, target=target: bind(  # type: ignore[misc]
                    c, tenant, certificate["id"], target["id"], **{"If-Match": '"2"'}
                )
                for client, target in zip(racers, (second, third), strict=True)
            ]
        )
    finally:
        for client in racers:
            client.close()
    assert sorted(r.status_code for r in responses) == [200, 409]
    winner = next(r for r in responses if r.status_code == 200).json()
    assert next(r for r in responses if r.status_code == 409).json()["error"] == "version_conflict"
    assert superuser.execute(VERSIONS, (tenant.id, certificate["id"])).fetchone() == ([1, 2, 3],)
    assert superuser.execute(ROW, (tenant.id, certificate["id"])).fetchone() == (winner["device_id"], 3)
    history = device.get(f"/v1/certificates/{certificate['id']}/history", headers=tenant.reader).json()
    assert history[-1]["payload"] == {
        **history[-1]["payload"],
        "previous_device_id": first["id"],
        "device_id": winner["device_id"],
    }


def test_many_concurrent_rebinds_lose_no_event(
    platform_services: Any,
    device: httpx.Client,
    superuser: Connection,
    new_tenant: Callable[[], TenantCaller],
) -> None:
    """Without If-Match each request reads the version itself; whatever interleaves, versions stay 1..n."""
    tenant = new_tenant()
    targets = [register_device(device, tenant, f"MANY-{i}") for i in range(6)]
    certificate = issue_certificate(device, tenant, "busy")
    racers = clients(platform_services("device").url, len(targets))
    try:
        responses = at_once(
            [
                lambda c=client, target=target: bind(c, tenant, certificate["id"], target["id"])  # type: ignore[misc]
                for client, target in zip(racers, targets, strict=True)
            ]
        )
    finally:
        for client in racers:
            client.close()
    assert {r.status_code for r in responses} <= {200, 409}
    succeeded = sum(r.status_code == 200 for r in responses)
    assert succeeded >= 1
    assert superuser.execute(VERSIONS, (tenant.id, certificate["id"])).fetchone() == (
        list(range(1, succeeded + 2)),
    )
    history = device.get(f"/v1/certificates/{certificate['id']}/history", headers=tenant.reader).json()
    bindings = [e["payload"] for e in history if e["event_name"] == "CertificateBound"]
    # Each rebinding names the device the previous one bound it to: the chain has no gap.
    assert [b["previous_device_id"] for b in bindings] == [None] + [b["device_id"] for b in bindings[:-1]]


def test_concurrent_first_needs_create_one_authority(
    platform_services: Any, superuser: Connection, new_tenant: Callable[[], TenantCaller]
) -> None:
    tenant = new_tenant()
    racers = clients(platform_services("device").url, 4)
    try:
        responses = at_once(
            [lambda c=client: c.get("/v1/ca", headers=tenant.reader) for client in racers[:2]]  # type: ignore[misc]
            + [
                lambda c=client, i=index: c.post(  # type: ignore[misc]
                    "/v1/certificates",
                    json={"generate_key": "ed25519", "common_name": f"first-{i}"},
                    headers=tenant.admin,
                )
                for index, client in enumerate(racers[2:])
            ]
        )
    finally:
        for client in racers:
            client.close()
    assert [r.status_code for r in responses] == [200, 200, 201, 201]
    authority_ids = {r.json()["id"] for r in responses[:2]} | {
        r.json()["authority_id"] for r in responses[2:]
    }
    assert len(authority_ids) == 1
    assert superuser.execute(AUTHORITY_EVENTS, (tenant.id,)).fetchone() == (1,)


def test_binding_and_decommissioning_one_device_at_once(
    platform_services: Any,
    device: httpx.Client,
    superuser: Connection,
    new_tenant: Callable[[], TenantCaller],
) -> None:
    """Whichever commits first, a decommissioned device never holds a live certificate."""
    tenant = new_tenant()
    racers = clients(platform_services("device").url, 2)
    try:
        for attempt in range(5):
            target = register_device(device, tenant, f"RACE-{attempt}")
            certificate = issue_certificate(device, tenant, f"race-{attempt}")
            bound, decommissioned = at_once(
                [
                    lambda c=certificate["id"], d=target["id"]: bind(racers[0], tenant, c, d),  # type: ignore[misc]
                    lambda d=target["id"]: racers[1].post(  # type: ignore[misc]
                        f"/v1/devices/{d}/decommission", headers=tenant.admin
                    ),
                ]
            )
            statuses = (bound.status_code, decommissioned.status_code)
            assert statuses in ((200, 409), (409, 200)), [bound.text, decommissioned.text]
    finally:
        for client in racers:
            client.close()
    live_on_decommissioned = superuser.execute(
        "SELECT count(*) FROM device.certificates c JOIN device.devices d "
        "ON d.tenant_id = c.tenant_id AND d.id = c.device_id "
        "WHERE c.tenant_id = %s AND d.status = 'decommissioned' AND c.status = 'active'",
        (tenant.id,),
    ).fetchone()
    assert live_on_decommissioned == (0,)
