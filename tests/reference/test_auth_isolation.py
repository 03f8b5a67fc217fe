"""Tenant isolation through every auth endpoint: another tenant's data is 404 (or inactive), never 403."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest

from tests.reference.auth_flows import TEST_PASSWORD, Authenticators, LoginUser, create_test_user, logged_in
from tests.reference.conftest import TenantCaller, Tokens, bearer
from tests.reference.test_directory_api import assert_error

ROW_SNAPSHOT = (
    "SELECT (SELECT jsonb_agg(c ORDER BY id) FROM auth.credentials c WHERE tenant_id = %(t)s), "
    "(SELECT jsonb_agg(s ORDER BY id) FROM auth.sessions s WHERE tenant_id = %(t)s), "
    "(SELECT jsonb_agg(x ORDER BY credential_id) FROM auth.credential_secrets x WHERE tenant_id = %(t)s), "
    "(SELECT count(*) FROM auth.domain_event WHERE tenant_id = %(t)s)"
)


def endpoints(victim: dict[str, Any]) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Every auth endpoint that names a user or a session, aimed at the victim tenant's."""
    user, session = victim["user"].id, victim["session"]["session_id"]
    return [
        ("PUT", f"/v1/users/{user}/password", {"password": "stolen pass phrase"}),
        ("GET", f"/v1/users/{user}/credential", None),
        ("GET", f"/v1/users/{user}/credential/history", None),
        ("POST", f"/v1/users/{user}/credential/unlock", None),
        ("DELETE", f"/v1/users/{user}/second-factor", None),
        ("GET", f"/v1/users/{user}/sessions", None),
        ("DELETE", f"/v1/users/{user}/sessions", None),
        ("GET", f"/v1/sessions/{session}", None),
        ("DELETE", f"/v1/sessions/{session}", None),
    ]


@pytest.fixture
def two_tenants(
    auth: httpx.Client,
    directory: httpx.Client,
    authenticators: Authenticators,
    new_tenant: Callable[[], TenantCaller],
) -> tuple[Any, ...]:
    def populate(tenant: TenantCaller) -> dict[str, Any]:
        user = create_test_user(directory, auth, authenticators, tenant, "same-name", roles=("admin",))
        return {"user": user, "session": logged_in(auth, authenticators, user)}

    a, b = new_tenant(), new_tenant()
    return a, populate(a), b, populate(b)


def snapshot(superuser: psycopg.Connection[tuple[object, ...]], tenant: TenantCaller) -> tuple[object, ...]:
    row = superuser.execute(ROW_SNAPSHOT, {"t": tenant.id}).fetchone()
    assert row is not None
    return row


@pytest.mark.parametrize("caller", ["user-token", "admin-token"])
def test_tenant_a_cannot_read_or_change_tenant_b(
    auth: httpx.Client,
    tokens: Tokens,
    superuser: psycopg.Connection[tuple[object, ...]],
    two_tenants: tuple[Any, ...],
    caller: str,
) -> None:
    a, own, b, victim = two_tenants
    if caller == "admin-token":
        headers = bearer(tokens.admin(), **{"X-Tenant-ID": str(a.id)})
    else:
        headers = bearer(own["session"]["access_token"])  # a real login of A's tenant administrator
    before = snapshot(superuser, b)
    for method, path, body in endpoints(victim):
        response = auth.request(method, path, json=body, headers=headers)
        assert_error(response, 404, "not_found")
    assert snapshot(superuser, b) == before
    if caller == "user-token":
        listed = auth.get("/v1/me/sessions", headers=headers).json()
        assert {s["tenant_id"] for s in listed} == {str(a.id)}
        introspected = auth.post(
            "/v1/token/introspect", data={"token": victim["session"]["access_token"]}, headers=headers
        )
        assert introspected.json() == {"active": False}
        refresh = auth.post(
            "/v1/token/introspect", data={"token": victim["session"]["refresh_token"]}, headers=headers
        )
        assert refresh.json() == {"active": False}


def test_a_login_names_its_tenant_and_finds_only_its_users(
    auth: httpx.Client, authenticators: Authenticators, two_tenants: tuple[Any, ...]
) -> None:
    a, _own, b, victim = two_tenants
    user: LoginUser = victim["user"]
    crossed = auth.post(
        "/v1/login",
        json={
            "tenant_id": str(a.id),
            "username": "someone-of-b",
            "password": TEST_PASSWORD,
            "code": authenticators.code(user.secret),
        },
    )
    assert_error(crossed, 401, "unauthenticated")
    # The same username in A is A's user: B's secret is no code of it.
    same_name = auth.post(
        "/v1/login",
        json={
            "tenant_id": str(a.id),
            "username": user.username,
            "password": TEST_PASSWORD,
            "code": authenticators.code(user.secret),
        },
    )
    assert_error(same_name, 401, "unauthenticated")
    refreshed = auth.post("/v1/token/refresh", json={"refresh_token": victim["session"]["refresh_token"]})
    claims = auth.post(
        "/v1/token/introspect",
        data={"token": refreshed.json()["access_token"]},
        headers=bearer(refreshed.json()["access_token"]),
    ).json()
    assert claims["tenant_id"] == str(b.id), "a refresh token stays in its own tenant"


def test_no_tenant_sees_nothing(auth: httpx.Client, two_tenants: tuple[Any, ...]) -> None:
    _a, _own, _b, victim = two_tenants
    paths: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", "/v1/me/sessions", None),
        ("DELETE", "/v1/me/sessions", None),
        ("PUT", "/v1/me/password", {"current_password": "a", "new_password": "b"}),
        ("POST", "/v1/me/second-factor", None),
        ("POST", "/v1/me/second-factor/confirmation", {"code": "123456"}),
        ("POST", "/v1/token/introspect", {"token": victim["session"]["access_token"]}),
    ]
    for method, path, body in paths + endpoints(victim):
        assert_error(auth.request(method, path, json=body), 401, "unauthenticated")
