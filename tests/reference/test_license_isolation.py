"""Tenant isolation through every license endpoint: another tenant's data is 404, never 403.

One test per resource (licenses, seat assignments, a user's seats), each aimed with
an access token and with the admin token inside tenant A; tenant B's rows and events
must be exactly as before. Plans are global: the same catalogue for every tenant.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import httpx
import psycopg
import pytest

from tests.reference.conftest import TenantCaller, Tokens, bearer
from tests.reference.test_directory_api import assert_error
from tests.reference.test_license_api import CLINIC, assign, grant, in_days, operator, users

ROW_SNAPSHOT = (
    "SELECT (SELECT jsonb_agg(l ORDER BY id) FROM license.licenses l WHERE tenant_id = %(t)s), "
    "(SELECT jsonb_agg(s ORDER BY id) FROM license.seat_assignments s WHERE tenant_id = %(t)s), "
    "(SELECT count(*) FROM license.domain_event WHERE tenant_id = %(t)s)"
)
Endpoint = tuple[str, str, dict[str, Any] | None]
# Changes only the platform admin may make (on any license, of any tenant).
OPERATOR_ONLY = ("/seat-count", "/revoke")


def license_endpoints(victim: dict[str, Any], own: dict[str, Any]) -> list[Endpoint]:
    """Every endpoint that names a license, aimed at the victim's license (with own or victim users)."""
    license = victim["license"]
    return [
        ("GET", f"/v1/licenses/{license}", None),
        ("GET", f"/v1/licenses/{license}/history", None),
        ("PUT", f"/v1/licenses/{license}/seat-count", {"seats": 9}),
        ("POST", f"/v1/licenses/{license}/revoke", None),
        ("GET", f"/v1/licenses/{license}/seats", None),
        ("POST", f"/v1/licenses/{license}/seats", {"user_id": own["free_user"]}),
        ("POST", f"/v1/licenses/{license}/seats", {"user_id": victim["free_user"]}),
    ]


def seat_endpoints(victim: dict[str, Any], own: dict[str, Any]) -> list[Endpoint]:
    """Every endpoint that names a seat: the victim's seat, under either tenant's license."""
    return [
        ("GET", f"/v1/licenses/{victim['license']}/seats/{victim['seat']}", None),
        ("DELETE", f"/v1/licenses/{victim['license']}/seats/{victim['seat']}", None),
        ("GET", f"/v1/licenses/{own['license']}/seats/{victim['seat']}", None),
        ("DELETE", f"/v1/licenses/{own['license']}/seats/{victim['seat']}", None),
    ]


def user_endpoints(victim: dict[str, Any], own: dict[str, Any]) -> list[Endpoint]:
    """Endpoints that name a directory user: the victim's users, on tenant A's own license."""
    return [
        ("GET", f"/v1/users/{victim['holder']}/seats", None),
        ("GET", f"/v1/users/{victim['free_user']}/seats", None),
        ("POST", f"/v1/licenses/{own['license']}/seats", {"user_id": victim["free_user"]}),
    ]


RESOURCES: dict[str, Callable[[dict[str, Any], dict[str, Any]], list[Endpoint]]] = {
    "licenses": license_endpoints,
    "seat_assignments": seat_endpoints,
    "users": user_endpoints,
}


@pytest.fixture(scope="module")
def two_tenants(licenses: httpx.Client, directory: httpx.Client, tokens: Tokens) -> tuple[Any, ...]:
    """Two fresh tenants, each with a license, a seat held by one user and a user without a seat.

    Shared by the module: every request made with them here is refused, so they never change.
    """

    def new_tenant() -> TenantCaller:
        response = directory.post(
            "/v1/admin/tenants", json={"name": "isolated"}, headers=bearer(tokens.admin())
        )
        assert response.status_code == 201, response.text
        return TenantCaller(UUID(response.json()["id"]), tokens)

    def populate(tenant: TenantCaller) -> dict[str, Any]:
        holder, free_user = users(directory, tenant, "holder", "free-user")
        license = grant(licenses, tokens, tenant, seats=5)
        seat = assign(licenses, tenant, license["id"], holder)
        return {"license": license["id"], "seat": seat["id"], "holder": holder, "free_user": free_user}

    a, b = new_tenant(), new_tenant()
    return a, populate(a), b, populate(b)


def snapshot(superuser: psycopg.Connection[tuple[object, ...]], tenant: TenantCaller) -> tuple[object, ...]:
    row = superuser.execute(ROW_SNAPSHOT, {"t": tenant.id}).fetchone()
    assert row is not None
    return row


@pytest.mark.parametrize("resource", sorted(RESOURCES))
@pytest.mark.parametrize("as_platform_admin", [False, True], ids=["access-token", "admin-token"])
def test_tenant_a_cannot_read_or_change_tenant_b(
    licenses: httpx.Client,
    tokens: Tokens,
    superuser: psycopg.Connection[tuple[object, ...]],
    two_tenants: tuple[Any, ...],
    resource: str,
    as_platform_admin: bool,
) -> None:
    a, own, b, victim = two_tenants
    headers = operator(tokens, a.id) if as_platform_admin else a.admin
    before_b, before_a = snapshot(superuser, b), snapshot(superuser, a)
    for method, path, body in RESOURCES[resource](victim, own):
        response = licenses.request(method, path, json=body, headers=headers)
        if not as_platform_admin and path.endswith(OPERATOR_ONLY):
            # No tenant token may do this to any license, its own included: no existence oracle.
            assert_error(response, 403, "forbidden")
        else:
            assert_error(response, 404, "not_found")
    assert snapshot(superuser, b) == before_b
    assert snapshot(superuser, a) == before_a, "a refused request must not change the caller's tenant either"


def test_lists_show_only_the_callers_tenant(
    licenses: httpx.Client, tokens: Tokens, two_tenants: tuple[Any, ...]
) -> None:
    a, own, _b, _victim = two_tenants
    for headers in (a.reader, operator(tokens, a.id)):
        listed = licenses.get("/v1/licenses", headers=headers).json()["items"]
        assert [item["id"] for item in listed] == [own["license"]]
        seats = licenses.get(f"/v1/licenses/{own['license']}/seats", headers=headers).json()["items"]
        assert [s["id"] for s in seats] == [own["seat"]]
        assert [
            s["id"] for s in licenses.get(f"/v1/users/{own['holder']}/seats", headers=headers).json()
        ] == [own["seat"]]


def test_plans_are_the_same_for_every_tenant(
    licenses: httpx.Client, tokens: Tokens, two_tenants: tuple[Any, ...]
) -> None:
    a, _own, b, _victim = two_tenants
    assert (
        licenses.get("/v1/plans", headers=a.reader).json()
        == licenses.get("/v1/plans", headers=b.reader).json()
    )


def test_the_token_decides_the_tenant_not_a_header(
    licenses: httpx.Client, two_tenants: tuple[Any, ...]
) -> None:
    a, own, b, victim = two_tenants
    headers = {**a.admin, "X-Tenant-ID": str(b.id)}
    assert_error(licenses.get(f"/v1/licenses/{victim['license']}", headers=headers), 404, "not_found")
    listed = licenses.get("/v1/licenses", headers=headers).json()["items"]
    assert [item["id"] for item in listed] == [own["license"]]


def test_no_tenant_sees_nothing(licenses: httpx.Client, two_tenants: tuple[Any, ...]) -> None:
    _a, own, _b, victim = two_tenants
    paths: list[Endpoint] = [
        ("GET", "/v1/licenses", None),
        ("POST", "/v1/licenses", {"plan_id": CLINIC, "seats": 1, "valid_until": in_days(9)}),
        ("GET", "/v1/plans", None),
        ("GET", f"/v1/plans/{CLINIC}", None),
    ]
    for endpoints in RESOURCES.values():
        paths += endpoints(victim, own)
    for method, path, body in paths:
        assert_error(licenses.request(method, path, json=body), 401, "unauthenticated")
