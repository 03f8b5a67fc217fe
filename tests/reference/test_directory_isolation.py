"""Tenant isolation through every directory endpoint: another tenant's data is 404, never 403."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
import pytest

from tests.reference.conftest import TenantCaller, Tokens, bearer
from tests.reference.test_directory_api import assert_error, create_role, create_user

ROW_SNAPSHOT = (
    "SELECT (SELECT jsonb_agg(u ORDER BY id) FROM directory.users u WHERE tenant_id = %(t)s), "
    "(SELECT jsonb_agg(r ORDER BY id) FROM directory.roles r WHERE tenant_id = %(t)s), "
    "(SELECT jsonb_agg(a ORDER BY id) FROM directory.role_assignments a WHERE tenant_id = %(t)s), "
    "(SELECT count(*) FROM directory.domain_event WHERE tenant_id = %(t)s)"
)


def endpoints(victim: dict[str, Any], own: dict[str, Any]) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Every endpoint that names a resource, aimed at the victim tenant's resources."""
    user, role, own_user, own_role = victim["user"], victim["role"], own["user"], own["role"]
    now = datetime.now(UTC).isoformat()
    return [
        ("GET", f"/v1/users/{user}", None),
        ("GET", f"/v1/users/{user}?at={now.replace('+', '%2B')}", None),
        ("PUT", f"/v1/users/{user}/username", {"username": "stolen"}),
        ("POST", f"/v1/users/{user}/deactivate", None),
        ("GET", f"/v1/users/{user}/history", None),
        ("GET", f"/v1/users/{user}/roles", None),
        ("POST", f"/v1/users/{user}/roles", {"role_id": role}),
        ("POST", f"/v1/users/{user}/roles", {"role_id": own_role}),
        ("POST", f"/v1/users/{own_user}/roles", {"role_id": role}),
        ("DELETE", f"/v1/users/{user}/roles/{role}", None),
        ("GET", f"/v1/roles/{role}", None),
    ]


@pytest.fixture
def two_tenants(directory: httpx.Client, new_tenant: Callable[[], TenantCaller]) -> tuple[Any, ...]:
    def populate(tenant: TenantCaller) -> dict[str, Any]:
        user = create_user(directory, tenant, "shared-name")
        role = create_role(directory, tenant, "shared-role")
        response = directory.post(
            f"/v1/users/{user['id']}/roles", json={"role_id": role["id"]}, headers=tenant.admin
        )
        assert response.status_code == 201
        return {"user": user["id"], "role": role["id"]}

    a, b = new_tenant(), new_tenant()
    return a, populate(a), b, populate(b)


def snapshot(superuser: psycopg.Connection[tuple[object, ...]], tenant: TenantCaller) -> tuple[object, ...]:
    row = superuser.execute(ROW_SNAPSHOT, {"t": tenant.id}).fetchone()
    assert row is not None
    return row


@pytest.mark.parametrize("as_platform_admin", [False, True], ids=["access-token", "admin-token"])
def test_tenant_a_cannot_read_or_change_tenant_b(
    directory: httpx.Client,
    tokens: Tokens,
    superuser: psycopg.Connection[tuple[object, ...]],
    two_tenants: tuple[Any, ...],
    as_platform_admin: bool,
) -> None:
    a, own, b, victim = two_tenants
    headers = bearer(tokens.admin(), **{"X-Tenant-ID": str(a.id)}) if as_platform_admin else a.admin
    before = snapshot(superuser, b)
    for method, path, body in endpoints(victim, own):
        response = directory.request(method, path, json=body, headers=headers)
        assert_error(response, 404, "not_found")
    assert snapshot(superuser, b) == before
    listed = directory.get("/v1/users", headers=headers).json()["items"]
    assert {u["tenant_id"] for u in listed} == {str(a.id)}
    roles = directory.get("/v1/roles", headers=headers).json()["items"]
    assert {r["tenant_id"] for r in roles} == {str(a.id)}
    assert directory.get("/v1/tenant", headers=headers).json()["id"] == str(a.id)


def test_the_token_decides_the_tenant_not_a_header(
    directory: httpx.Client, two_tenants: tuple[Any, ...]
) -> None:
    a, _own, b, victim = two_tenants
    headers = {**a.admin, "X-Tenant-ID": str(b.id)}
    assert_error(directory.get(f"/v1/users/{victim['user']}", headers=headers), 404, "not_found")
    assert directory.get("/v1/tenant", headers=headers).json()["id"] == str(a.id)


def test_no_tenant_sees_nothing(directory: httpx.Client, two_tenants: tuple[Any, ...]) -> None:
    _a, own, _b, victim = two_tenants
    paths = [("GET", "/v1/users", None), ("GET", "/v1/roles", None), ("GET", "/v1/tenant", None)]
    paths += [("POST", "/v1/users", {"username": "x12", "display_name": "X", "email": "x@y.z"})]
    paths += [("POST", "/v1/roles", {"name": "x12"})]
    for method, path, body in paths + endpoints(victim, own):
        assert_error(directory.request(method, path, json=body), 401, "unauthenticated")
