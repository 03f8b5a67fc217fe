"""Every state-changing device endpoint writes exactly one event per aggregate it changes.

The event's ``state`` equals the row after the change, and its ``tx_id`` is the
transaction that wrote the row (the row's ``xmin`` is the low 32 bits of it).
A tenant's first need of its certificate authority creates it, with its own
event, in the transaction of the request that needed it. A refused change
(409, 404, 422) writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import httpx
import psycopg
import pytest

from tests.reference.conftest import TenantCaller
from tests.reference.test_device_api import bind, issue_certificate, register_device, signing_request

EVENTS_OF_TENANT = (
    "SELECT kind, aggregate_id, version, event_name, event_version, state, payload, "
    "tx_id::text::bigint %% 4294967296 FROM device.domain_event "
    "WHERE tenant_id = %s ORDER BY event_at, version"
)
ROW = "SELECT to_jsonb(t.*), xmin::text::bigint FROM device.{table} AS t WHERE tenant_id = %s AND id = %s"
AUTHORITY_KEY_XMIN = (
    "SELECT xmin::text::bigint FROM device.certificate_authority_keys WHERE tenant_id = %s AND id = %s"
)
TABLES = {
    "Device": "devices",
    "Certificate": "certificates",
    "CertificateAuthority": "certificate_authorities",
}

Connection = psycopg.Connection[tuple[object, ...]]


def events_of(superuser: Connection, tenant_id: UUID) -> list[tuple[Any, ...]]:
    return superuser.execute(EVENTS_OF_TENANT, (tenant_id,)).fetchall()


def assert_events(
    superuser: Connection,
    tenant: TenantCaller,
    before: list[tuple[Any, ...]],
    response: httpx.Response,
    expected: list[str],
    performed_by: str,
) -> list[tuple[Any, ...]]:
    """The request wrote exactly the ``expected`` events, in one transaction, each matching its row."""
    new = [e for e in events_of(superuser, tenant.id) if e not in before]
    request = f"{response.request.method} {response.request.url.path}"
    assert [e[3] for e in new] == expected, f"{request} wrote {[e[3] for e in new]}"
    assert len({e[7] for e in new}) <= 1, "the events of one request are one transaction"
    for kind, aggregate_id, version, _name, event_version, state, payload, tx_low in new:
        assert event_version == 1
        assert payload["performed_by"] == performed_by
        assert payload["request_id"] == response.headers["x-request-id"]
        row = superuser.execute(ROW.replace("{table}", TABLES[kind]), (tenant.id, aggregate_id)).fetchone()
        assert row is not None
        row_state, xmin = row
        assert state == row_state, "the event's state must equal the row after the change"
        assert state["version"] == version
        assert tx_low == xmin, "the event and the row must be written by one transaction"
        if kind == "CertificateAuthority":
            assert superuser.execute(AUTHORITY_KEY_XMIN, (tenant.id, aggregate_id)).fetchone() == (xmin,)
    return new


def test_each_change_writes_exactly_one_matching_event(
    device: httpx.Client, superuser: Connection, new_tenant: Callable[[], TenantCaller]
) -> None:
    tenant = new_tenant()

    def step(method: str, path: str, body: dict[str, Any] | None, *expected: str) -> dict[str, Any]:
        before = events_of(superuser, tenant.id)
        response = device.request(method, path, json=body, headers=tenant.admin)
        assert response.status_code in (200, 201), response.text
        assert_events(superuser, tenant, before, response, list(expected), tenant.admin_user)
        return dict(response.json()) if response.headers["content-type"] == "application/json" else {}

    step("GET", "/v1/ca", None, "CertificateAuthorityCreated")
    step("GET", "/v1/ca", None)
    step("GET", "/v1/ca/crl", None)
    pump = step(
        "POST",
        "/v1/devices",
        {"name": "Pump", "serial_number": "EV-1", "model": "M", "kind": "infusion-pump"},
        "DeviceRegistered",
    )
    spare = step(
        "POST",
        "/v1/devices",
        {"name": "Spare", "serial_number": "EV-2", "model": "M", "kind": "infusion-pump"},
        "DeviceRegistered",
    )
    generated = step(
        "POST", "/v1/certificates", {"generate_key": "ed25519", "common_name": "ev"}, "CertificateIssued"
    )
    csr, _ = signing_request("ev-csr")
    step("POST", "/v1/certificates", {"csr": csr}, "CertificateIssued")
    path = f"/v1/certificates/{generated['id']}"
    step("PUT", f"{path}/device", {"device_id": pump["id"]}, "CertificateBound")
    step("PUT", f"{path}/device", {"device_id": pump["id"]})  # already bound there: nothing changes
    step("PUT", f"{path}/device", {"device_id": spare["id"]}, "CertificateBound")
    step("POST", f"{path}/revoke", {"reason": "key_compromise"}, "CertificateRevoked")
    step("POST", f"/v1/devices/{spare['id']}/decommission", {"reason": "broken"}, "DeviceDecommissioned")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/certificates", {"generate_key": "ecdsa-p256", "common_name": "first"}),
        ("GET", "/v1/ca/crl", None),
    ],
    ids=["issue", "revocation-list"],
)
def test_the_first_need_of_an_authority_creates_it_in_the_same_transaction(
    device: httpx.Client,
    superuser: Connection,
    new_tenant: Callable[[], TenantCaller],
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    tenant = new_tenant()
    response = device.request(method, path, json=body, headers=tenant.admin)
    assert response.status_code in (200, 201), response.text
    expected = ["CertificateAuthorityCreated"] + (["CertificateIssued"] if method == "POST" else [])
    assert_events(superuser, tenant, [], response, expected, tenant.admin_user)


def test_refused_changes_write_no_event(
    device: httpx.Client, superuser: Connection, new_tenant: Callable[[], TenantCaller]
) -> None:
    tenant = new_tenant()
    pump = register_device(device, tenant, "REF-1")
    retired = register_device(device, tenant, "REF-2")
    device.post(f"/v1/devices/{retired['id']}/decommission", headers=tenant.admin)
    live = issue_certificate(device, tenant, "live")
    bind(device, tenant, live["id"], pump["id"])
    revoked = issue_certificate(device, tenant, "revoked")
    device.post(
        f"/v1/certificates/{revoked['id']}/revoke", json={"reason": "superseded"}, headers=tenant.admin
    )
    before = events_of(superuser, tenant.id)
    refused = [
        device.post(
            "/v1/devices",
            json={"name": "x", "serial_number": "REF-1", "model": "m", "kind": "k1"},
            headers=tenant.admin,
        ),
        device.post(f"/v1/devices/{pump['id']}/decommission", headers=tenant.admin),
        device.post(f"/v1/devices/{retired['id']}/decommission", headers=tenant.admin),
        bind(device, tenant, live["id"], retired["id"]),
        bind(device, tenant, revoked["id"], pump["id"]),
        bind(device, tenant, live["id"], pump["id"], **{"If-Match": '"1"'}),
        device.post(
            f"/v1/certificates/{revoked['id']}/revoke", json={"reason": "superseded"}, headers=tenant.admin
        ),
        device.post(
            f"/v1/certificates/{live['id']}/revoke",
            json={"reason": "superseded"},
            headers={**tenant.admin, "If-Match": '"7"'},
        ),
        device.post("/v1/certificates", json={"csr": "garbage"}, headers=tenant.admin),
        device.post(
            "/v1/certificates", json={"generate_key": "ed25519", "common_name": "x"}, headers=tenant.reader
        ),
    ]
    assert [r.status_code for r in refused] == [409, 409, 409, 409, 409, 200, 409, 409, 422, 403]
    assert events_of(superuser, tenant.id) == before


def test_a_refused_first_issue_leaves_no_authority(
    device: httpx.Client, superuser: Connection, new_tenant: Callable[[], TenantCaller]
) -> None:
    tenant = new_tenant()
    refused = device.post("/v1/certificates", json={"csr": "garbage"}, headers=tenant.admin)
    assert refused.status_code == 422
    assert events_of(superuser, tenant.id) == []
    count = "SELECT count(*) FROM device.certificate_authority_keys WHERE tenant_id = %s"
    assert superuser.execute(count, (tenant.id,)).fetchone() == (0,)


@pytest.mark.parametrize("table", sorted(TABLES.values()))
def test_every_row_matches_its_latest_event(superuser: Connection, table: str) -> None:
    """Across the whole shared database (seeds and every test so far): no row without its event."""
    mismatched = superuser.execute(
        "SELECT t.tenant_id, t.id FROM device.{table} AS t "
        "LEFT JOIN LATERAL (SELECT e.state FROM device.domain_event e WHERE e.tenant_id = t.tenant_id "
        "AND e.aggregate_id = t.id ORDER BY e.version DESC LIMIT 1) AS latest ON true "
        "WHERE latest.state IS DISTINCT FROM to_jsonb(t.*)".replace("{table}", table)
    ).fetchall()
    assert mismatched == []


def test_every_authority_has_its_key_and_no_key_is_orphaned(superuser: Connection) -> None:
    unmatched = superuser.execute(
        "SELECT a.tenant_id, k.tenant_id FROM device.certificate_authorities a "
        "FULL JOIN device.certificate_authority_keys k ON k.tenant_id = a.tenant_id AND k.id = a.id "
        "WHERE a.id IS NULL OR k.id IS NULL"
    ).fetchall()
    assert unmatched == []
