"""Tenant isolation through every device endpoint: another tenant's data is 404, never 403.

One test per resource (devices, certificates, the certificate authority), each
aiming every endpoint that names that resource at the other tenant's, with an
access token and with the admin token; the victim's rows and events stay as they were.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
import pytest
from cryptography import x509

from tests.reference.conftest import TenantCaller, Tokens, bearer
from tests.reference.test_device_api import bind, issue_certificate, register_device
from tests.reference.test_directory_api import assert_error

ROW_SNAPSHOT = (
    "SELECT (SELECT jsonb_agg(d ORDER BY id) FROM device.devices d WHERE tenant_id = %(t)s), "
    "(SELECT jsonb_agg(c ORDER BY id) FROM device.certificates c WHERE tenant_id = %(t)s), "
    "(SELECT jsonb_agg(a ORDER BY id) FROM device.certificate_authorities a WHERE tenant_id = %(t)s), "
    "(SELECT count(*) FROM device.domain_event WHERE tenant_id = %(t)s)"
)
Connection = psycopg.Connection[tuple[object, ...]]
Request = tuple[str, str, dict[str, Any] | None]


def device_endpoints(victim: dict[str, Any], own: dict[str, Any]) -> list[Request]:
    """Every endpoint naming a device, aimed at the victim's device (or binding own data to it)."""
    device, now = victim["device"], _now()
    return [
        ("GET", f"/v1/devices/{device}", None),
        ("GET", f"/v1/devices/{device}?at={now}", None),
        ("POST", f"/v1/devices/{device}/decommission", {"reason": "stolen"}),
        ("GET", f"/v1/devices/{device}/history", None),
        ("GET", f"/v1/devices/{device}/certificates", None),
        ("PUT", f"/v1/certificates/{own['certificate']}/device", {"device_id": device}),
    ]


def certificate_endpoints(victim: dict[str, Any], own: dict[str, Any]) -> list[Request]:
    """Every endpoint naming a certificate, aimed at the victim's (or at binding it to an own device)."""
    certificate, now = victim["certificate"], _now()
    return [
        ("GET", f"/v1/certificates/{certificate}", None),
        ("GET", f"/v1/certificates/{certificate}?at={now}", None),
        ("GET", f"/v1/certificates/{certificate}/history", None),
        ("PUT", f"/v1/certificates/{certificate}/device", {"device_id": own["device"]}),
        ("PUT", f"/v1/certificates/{certificate}/device", {"device_id": victim["device"]}),
        ("POST", f"/v1/certificates/{certificate}/revoke", {"reason": "key_compromise"}),
    ]


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+", "%2B")


@pytest.fixture
def two_tenants(device: httpx.Client, new_tenant: Callable[[], TenantCaller]) -> tuple[Any, ...]:
    def populate(tenant: TenantCaller) -> dict[str, Any]:
        pump = register_device(device, tenant, "SAME-SERIAL")
        certificate = issue_certificate(device, tenant, "same-name")
        assert bind(device, tenant, certificate["id"], pump["id"]).status_code == 200
        return {
            "device": pump["id"],
            "certificate": certificate["id"],
            "serial": certificate["serial_number"],
        }

    a, b = new_tenant(), new_tenant()
    return a, populate(a), b, populate(b)


def snapshot(superuser: Connection, tenant: TenantCaller) -> tuple[object, ...]:
    row = superuser.execute(ROW_SNAPSHOT, {"t": tenant.id}).fetchone()
    assert row is not None
    return row


def headers_of(tokens: Tokens, tenant: TenantCaller, as_platform_admin: bool) -> dict[str, str]:
    return bearer(tokens.admin(), **{"X-Tenant-ID": str(tenant.id)}) if as_platform_admin else tenant.admin


def attempt_all(
    device: httpx.Client,
    superuser: Connection,
    victim_tenant: TenantCaller,
    requests: list[Request],
    headers: Any,
) -> None:
    before = snapshot(superuser, victim_tenant)
    for method, path, body in requests:
        response = device.request(method, path, json=body, headers=headers)
        assert_error(response, 404, "not_found")
    assert snapshot(superuser, victim_tenant) == before


@pytest.mark.parametrize("as_platform_admin", [False, True], ids=["access-token", "admin-token"])
def test_devices_of_another_tenant(
    device: httpx.Client,
    tokens: Tokens,
    superuser: Connection,
    two_tenants: tuple[Any, ...],
    as_platform_admin: bool,
) -> None:
    a, own, b, victim = two_tenants
    headers = headers_of(tokens, a, as_platform_admin)
    attempt_all(device, superuser, b, device_endpoints(victim, own), headers)
    listed = device.get("/v1/devices", headers=headers).json()["items"]
    assert [d["id"] for d in listed] == [own["device"]]


@pytest.mark.parametrize("as_platform_admin", [False, True], ids=["access-token", "admin-token"])
def test_certificates_of_another_tenant(
    device: httpx.Client,
    tokens: Tokens,
    superuser: Connection,
    two_tenants: tuple[Any, ...],
    as_platform_admin: bool,
) -> None:
    a, own, b, victim = two_tenants
    headers = headers_of(tokens, a, as_platform_admin)
    attempt_all(device, superuser, b, certificate_endpoints(victim, own), headers)
    listed = device.get("/v1/certificates", headers=headers).json()["items"]
    assert [c["id"] for c in listed] == [own["certificate"]]
    filtered = device.get("/v1/certificates", params={"device_id": victim["device"]}, headers=headers).json()
    assert filtered["items"] == []


def test_the_authority_and_revocation_list_are_the_callers_own(
    device: httpx.Client, tokens: Tokens, superuser: Connection, two_tenants: tuple[Any, ...]
) -> None:
    a, _own, b, victim = two_tenants
    own_authority = device.get("/v1/ca", headers=a.reader).json()
    victim_authority = device.get("/v1/ca", headers=b.reader).json()
    assert own_authority["tenant_id"] == str(a.id) and own_authority["id"] != victim_authority["id"]
    # The other tenant's revocation is not in this tenant's list, and this tenant cannot cause one.
    device.post(
        f"/v1/certificates/{victim['certificate']}/revoke", json={"reason": "superseded"}, headers=b.admin
    )
    crl = x509.load_pem_x509_crl(device.get("/v1/ca/crl", headers=a.reader).text.encode())
    assert len(crl) == 0
    assert crl.issuer.rfc4514_string() == own_authority["subject"]
    # The token decides the tenant, never a header.
    spoofed = device.get("/v1/ca", headers={**a.reader, "X-Tenant-ID": str(b.id)}).json()
    assert spoofed["id"] == own_authority["id"]


def test_the_token_decides_the_tenant_not_a_header(
    device: httpx.Client, two_tenants: tuple[Any, ...]
) -> None:
    a, _own, b, victim = two_tenants
    headers = {**a.admin, "X-Tenant-ID": str(b.id)}
    assert_error(device.get(f"/v1/devices/{victim['device']}", headers=headers), 404, "not_found")
    assert_error(device.get(f"/v1/certificates/{victim['certificate']}", headers=headers), 404, "not_found")


def test_no_tenant_sees_nothing(device: httpx.Client, two_tenants: tuple[Any, ...]) -> None:
    _a, own, _b, victim = two_tenants
    requests: list[Request] = [
        ("GET", "/v1/devices", None),
        ("POST", "/v1/devices", {"name": "x", "serial_number": "N-1", "model": "m", "kind": "k1"}),
        ("GET", "/v1/certificates", None),
        ("POST", "/v1/certificates", {"generate_key": "ed25519", "common_name": "x"}),
        ("GET", "/v1/ca", None),
        ("GET", "/v1/ca/crl", None),
    ]
    for method, path, body in requests + device_endpoints(victim, own) + certificate_endpoints(victim, own):
        assert_error(device.request(method, path, json=body), 401, "unauthenticated")
