"""Every directory endpoint over HTTP, against the service running as its own process."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx

from reference.platform.seeding import TENANT_A
from reference.platform.test_tokens import mint_test_access_token
from tests.reference.conftest import TenantCaller, Tokens, bearer


def create_user(client: httpx.Client, tenant: TenantCaller, username: str) -> dict[str, Any]:
    response = client.post(
        "/v1/users",
        json={"username": username, "display_name": username.title(), "email": f"{username}@x.example"},
        headers=tenant.admin,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def create_role(client: httpx.Client, tenant: TenantCaller, name: str) -> dict[str, Any]:
    response = client.post("/v1/roles", json={"name": name, "description": "d"}, headers=tenant.admin)
    assert response.status_code == 201, response.text
    return dict(response.json())


def assert_error(response: httpx.Response, status: int, code: str, field: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["error"] == code
    assert body["message"]
    assert body["request_id"] == response.headers["x-request-id"]
    if field is not None:
        assert body["field"] == field
        assert field in body["message"]


def test_probes_and_openapi(directory: httpx.Client) -> None:
    assert directory.get("/healthz").json() == {"status": "alive"}
    assert directory.get("/readyz").json() == {"status": "ready", "role": "directory_service"}
    paths = directory.get("/openapi.json").json()["paths"]
    assert {
        "/v1/admin/tenants",
        "/v1/tenant",
        "/v1/users",
        "/v1/users/{user_id}",
        "/v1/users/{user_id}/username",
        "/v1/users/{user_id}/deactivate",
        "/v1/users/{user_id}/history",
        "/v1/users/{user_id}/roles",
        "/v1/users/{user_id}/roles/{role_id}",
        "/v1/roles",
        "/v1/roles/{role_id}",
    } <= set(paths)


def test_request_id_is_echoed_or_generated(directory: httpx.Client) -> None:
    assert directory.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"
    generated = directory.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert generated.headers["x-request-id"] not in ("", "bad id with spaces")


def test_tenants_are_created_by_the_platform_admin_only(
    directory: httpx.Client, tokens: Tokens, new_tenant: Callable[[], TenantCaller]
) -> None:
    created = directory.post(
        "/v1/admin/tenants", json={"name": "Clinic East"}, headers=bearer(tokens.admin())
    )
    assert created.status_code == 201
    tenant = created.json()
    assert tenant["id"] == tenant["tenant_id"] and tenant["version"] == 1
    assert created.headers["etag"] == '"1"'
    as_user = directory.post(
        "/v1/admin/tenants", json={"name": "x"}, headers=bearer(tokens.user(TENANT_A.id, ["admin"]))
    )
    assert_error(as_user, 401, "unauthenticated")
    assert_error(directory.post("/v1/admin/tenants", json={"name": "x"}), 401, "unauthenticated")
    empty = directory.post("/v1/admin/tenants", json={"name": ""}, headers=bearer(tokens.admin()))
    assert_error(empty, 422, "invalid_input", "name")


def test_the_tenant_endpoint_shows_the_callers_tenant(
    directory: httpx.Client, tokens: Tokens, new_tenant: Callable[[], TenantCaller]
) -> None:
    tenant = new_tenant()
    assert directory.get("/v1/tenant", headers=tenant.reader).json()["id"] == str(tenant.id)
    as_admin = directory.get("/v1/tenant", headers=bearer(tokens.admin(), **{"X-Tenant-ID": str(tenant.id)}))
    assert as_admin.json()["id"] == str(tenant.id)
    unknown = directory.get("/v1/tenant", headers=bearer(tokens.admin(), **{"X-Tenant-ID": str(uuid4())}))
    assert_error(unknown, 404, "not_found")
    no_header = directory.get("/v1/tenant", headers=bearer(tokens.admin()))
    assert_error(no_header, 422, "invalid_input", "X-Tenant-ID")
    bad_header = directory.get("/v1/tenant", headers=bearer(tokens.admin(), **{"X-Tenant-ID": "nope"}))
    assert_error(bad_header, 422, "invalid_input", "X-Tenant-ID")


def test_create_get_and_list_users(directory: httpx.Client, new_tenant: Callable[[], TenantCaller]) -> None:
    tenant = new_tenant()
    alice = directory.post(
        "/v1/users",
        json={"username": "alice", "display_name": "Alice", "email": "alice@x.example"},
        headers=tenant.admin,
    )
    assert alice.status_code == 201
    user = alice.json()
    assert alice.headers["location"] == f"/v1/users/{user['id']}"
    assert (user["username"], user["status"], user["version"]) == ("alice", "active", 1)
    for name in ("bob", "carol", "dave"):
        create_user(directory, tenant, name)
    fetched = directory.get(f"/v1/users/{user['id']}", headers=tenant.reader)
    assert fetched.json() == user and fetched.headers["etag"] == '"1"'
    first = directory.get("/v1/users", params={"limit": 2}, headers=tenant.reader).json()
    assert [u["username"] for u in first["items"]] == ["alice", "bob"] and first["next_after"] == "bob"
    rest = directory.get("/v1/users", params={"limit": 2, "after": "bob"}, headers=tenant.reader).json()
    assert [u["username"] for u in rest["items"]] == ["carol", "dave"]
    last = directory.get("/v1/users", params={"limit": 2, "after": "dave"}, headers=tenant.reader).json()
    assert last == {"items": [], "next_after": None}
    directory.post(f"/v1/users/{user['id']}/deactivate", headers=tenant.admin)
    active = directory.get("/v1/users", params={"status": "active"}, headers=tenant.reader).json()
    assert [u["username"] for u in active["items"]] == ["bob", "carol", "dave"]


def test_user_input_is_validated_naming_the_field(
    directory: httpx.Client, new_tenant: Callable[[], TenantCaller]
) -> None:
    tenant = new_tenant()
    good = {"username": "valid", "display_name": "V", "email": "v@x.example"}
    for field, value in (
        ("username", "No Caps"),
        ("username", "ab"),
        ("email", "no-at-sign"),
        ("display_name", ""),
    ):
        response = directory.post("/v1/users", json={**good, field: value}, headers=tenant.admin)
        assert_error(response, 422, "invalid_input", field)
    missing = directory.post(
        "/v1/users", json={"username": "valid", "email": "v@x.example"}, headers=tenant.admin
    )
    assert_error(missing, 422, "invalid_input", "display_name")
    extra = directory.post("/v1/users", json={**good, "status": "deactivated"}, headers=tenant.admin)
    assert_error(extra, 422, "invalid_input", "status")
    not_json = directory.post(
        "/v1/users", content=b"{not json", headers={**tenant.admin, "content-type": "application/json"}
    )
    assert_error(not_json, 422, "invalid_input", "body")
    assert_error(
        directory.get("/v1/users/not-a-uuid", headers=tenant.reader), 422, "invalid_input", "user_id"
    )
    assert_error(
        directory.get("/v1/users", params={"limit": 0}, headers=tenant.reader), 422, "invalid_input", "limit"
    )


def test_writes_need_the_admin_role(directory: httpx.Client, new_tenant: Callable[[], TenantCaller]) -> None:
    tenant = new_tenant()
    user = create_user(directory, tenant, "target")
    role = create_role(directory, tenant, "nurse")
    attempts = [
        directory.post(
            "/v1/users",
            json={"username": "x12", "display_name": "X", "email": "x@y.z"},
            headers=tenant.reader,
        ),
        directory.put(f"/v1/users/{user['id']}/username", json={"username": "y12"}, headers=tenant.reader),
        directory.post(f"/v1/users/{user['id']}/deactivate", headers=tenant.reader),
        directory.post("/v1/roles", json={"name": "auditor"}, headers=tenant.reader),
        directory.post(f"/v1/users/{user['id']}/roles", json={"role_id": role["id"]}, headers=tenant.reader),
        directory.delete(f"/v1/users/{user['id']}/roles/{role['id']}", headers=tenant.reader),
    ]
    for response in attempts:
        assert_error(response, 403, "forbidden")


def test_rename_with_versions(directory: httpx.Client, new_tenant: Callable[[], TenantCaller]) -> None:
    tenant = new_tenant()
    user = create_user(directory, tenant, "before")
    create_user(directory, tenant, "taken")
    path = f"/v1/users/{user['id']}/username"
    renamed = directory.put(path, json={"username": "after"}, headers={**tenant.admin, "If-Match": '"1"'})
    assert renamed.status_code == 200
    assert (renamed.json()["username"], renamed.json()["version"], renamed.headers["etag"]) == (
        "after",
        2,
        '"2"',
    )
    stale = directory.put(path, json={"username": "again"}, headers={**tenant.admin, "If-Match": '"1"'})
    assert_error(stale, 409, "version_conflict")
    same = directory.put(path, json={"username": "after"}, headers=tenant.admin)
    assert same.status_code == 200 and same.json()["version"] == 2
    assert_error(directory.put(path, json={"username": "taken"}, headers=tenant.admin), 409, "conflict")
    bad_version = directory.put(path, json={"username": "x99"}, headers={**tenant.admin, "If-Match": "soon"})
    assert_error(bad_version, 422, "invalid_input", "If-Match")
    assert_error(
        directory.put(f"/v1/users/{uuid4()}/username", json={"username": "x99"}, headers=tenant.admin),
        404,
        "not_found",
    )


def test_deactivate_and_history(directory: httpx.Client, new_tenant: Callable[[], TenantCaller]) -> None:
    tenant = new_tenant()
    user = create_user(directory, tenant, "leaving")
    created_at = datetime.fromisoformat(user["created_at"])
    time.sleep(0.01)
    directory.put(f"/v1/users/{user['id']}/username", json={"username": "left"}, headers=tenant.admin)
    deactivated = directory.post(
        f"/v1/users/{user['id']}/deactivate", json={"reason": "moved away"}, headers=tenant.admin
    )
    assert deactivated.status_code == 200
    assert deactivated.json()["status"] == "deactivated" and deactivated.json()["deactivated_at"]
    again = directory.post(f"/v1/users/{user['id']}/deactivate", headers=tenant.admin)
    assert_error(again, 409, "conflict")
    history = directory.get(f"/v1/users/{user['id']}/history", headers=tenant.reader).json()
    assert [(e["event_name"], e["version"]) for e in history] == [
        ("UserCreated", 1),
        ("UsernameUpdated", 2),
        ("UserDeactivated", 3),
    ]
    assert history[1]["payload"]["old_username"] == "leaving"
    assert history[2]["payload"]["reason"] == "moved away"
    assert all(e["payload"]["performed_by"] == tenant.admin_user for e in history)
    at_creation = directory.get(
        f"/v1/users/{user['id']}", params={"at": created_at.isoformat()}, headers=tenant.reader
    )
    assert at_creation.json()["username"] == "leaving"
    before = (created_at - timedelta(seconds=5)).isoformat()
    assert_error(
        directory.get(f"/v1/users/{user['id']}", params={"at": before}, headers=tenant.reader),
        404,
        "not_found",
    )
    naive = directory.get(
        f"/v1/users/{user['id']}", params={"at": "2025-01-01T00:00:00"}, headers=tenant.reader
    )
    assert_error(naive, 422, "invalid_input", "at")
    now = datetime.now(UTC).isoformat()
    assert (
        directory.get(f"/v1/users/{user['id']}", params={"at": now}, headers=tenant.reader).json()["version"]
        == 3
    )


def test_roles_and_assignments(directory: httpx.Client, new_tenant: Callable[[], TenantCaller]) -> None:
    tenant = new_tenant()
    user = create_user(directory, tenant, "worker")
    role = create_role(directory, tenant, "nurse")
    other = create_role(directory, tenant, "auditor")
    assert_error(directory.post("/v1/roles", json={"name": "nurse"}, headers=tenant.admin), 409, "conflict")
    assert_error(
        directory.post("/v1/roles", json={"name": "Bad Name"}, headers=tenant.admin),
        422,
        "invalid_input",
        "name",
    )
    listed = directory.get("/v1/roles", headers=tenant.reader).json()
    assert [r["name"] for r in listed["items"]] == ["auditor", "nurse"]
    assert directory.get(f"/v1/roles/{role['id']}", headers=tenant.reader).json() == role
    roles_path = f"/v1/users/{user['id']}/roles"
    assigned = directory.post(roles_path, json={"role_id": role["id"]}, headers=tenant.admin)
    assert assigned.status_code == 201
    assert (assigned.json()["status"], assigned.json()["version"]) == ("active", 1)
    assert_error(
        directory.post(roles_path, json={"role_id": role["id"]}, headers=tenant.admin), 409, "conflict"
    )
    assert_error(
        directory.post(roles_path, json={"role_id": str(uuid4())}, headers=tenant.admin), 404, "not_found"
    )
    assert_error(
        directory.post(f"/v1/users/{uuid4()}/roles", json={"role_id": role["id"]}, headers=tenant.admin),
        404,
        "not_found",
    )
    assert_error(
        directory.post(roles_path, json={"role_id": "x"}, headers=tenant.admin),
        422,
        "invalid_input",
        "role_id",
    )
    directory.post(roles_path, json={"role_id": other["id"]}, headers=tenant.admin)
    active = directory.get(roles_path, headers=tenant.reader).json()
    assert [a["role_name"] for a in active] == ["auditor", "nurse"]
    revoked = directory.delete(f"{roles_path}/{role['id']}", headers=tenant.admin)
    assert (revoked.status_code, revoked.json()["status"], revoked.json()["version"]) == (200, "revoked", 2)
    assert_error(directory.delete(f"{roles_path}/{role['id']}", headers=tenant.admin), 404, "not_found")
    assert [a["role_name"] for a in directory.get(roles_path, headers=tenant.reader).json()] == ["auditor"]
    again = directory.post(roles_path, json={"role_id": role["id"]}, headers=tenant.admin)
    assert (again.status_code, again.json()["status"], again.json()["version"]) == (200, "active", 3)
    directory.post(f"/v1/users/{user['id']}/deactivate", headers=tenant.admin)
    third = create_role(directory, tenant, "visitor")
    refused = directory.post(roles_path, json={"role_id": third["id"]}, headers=tenant.admin)
    assert_error(refused, 409, "conflict")


def test_the_admin_token_acts_inside_the_named_tenant(
    directory: httpx.Client, tokens: Tokens, new_tenant: Callable[[], TenantCaller]
) -> None:
    tenant = new_tenant()
    admin = bearer(tokens.admin(), **{"X-Tenant-ID": str(tenant.id)})
    created = directory.post(
        "/v1/users", json={"username": "boot", "display_name": "B", "email": "b@x.example"}, headers=admin
    )
    assert created.status_code == 201
    history = directory.get(f"/v1/users/{created.json()['id']}/history", headers=tenant.reader).json()
    assert history[0]["payload"]["performed_by"] == "platform-admin"
    not_a_tenant = directory.post(
        "/v1/users",
        json={"username": "boot", "display_name": "B", "email": "b@x.example"},
        headers=bearer(tokens.admin(), **{"X-Tenant-ID": str(uuid4())}),
    )
    assert_error(not_a_tenant, 404, "not_found")


def test_bad_credentials_are_401(directory: httpx.Client, platform_database: str) -> None:
    expired = mint_test_access_token(
        platform_database, tenant_id=TENANT_A.id, user_id="u", now=int(time.time()) - 3600, ttl_s=60
    )
    wrong_audience = mint_test_access_token(
        platform_database, tenant_id=TENANT_A.id, user_id="u", audience="other"
    )
    wrong_issuer = mint_test_access_token(
        platform_database, tenant_id=TENANT_A.id, user_id="u", issuer="mallory"
    )
    good = mint_test_access_token(platform_database, tenant_id=TENANT_A.id, user_id="u")
    header, claims, signature = good.split(".")
    tampered = ".".join((header, claims, signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")))
    for token in (expired, wrong_audience, wrong_issuer, tampered, "garbage", "a.b.c"):
        assert_error(directory.get("/v1/users", headers=bearer(token)), 401, "unauthenticated")
    assert_error(
        directory.get("/v1/users", headers={"Authorization": f"Basic {good}"}), 401, "unauthenticated"
    )
    assert directory.get("/v1/users", headers=bearer(good)).status_code == 200


def test_unknown_routes_and_methods_answer_json(directory: httpx.Client) -> None:
    assert_error(directory.get("/v1/nothing-here"), 404, "not_found")
    assert_error(directory.patch("/v1/users"), 405, "method_not_allowed")


def test_seeded_tenants_are_served(directory: httpx.Client, tokens: Tokens) -> None:
    users = directory.get("/v1/users", headers=bearer(tokens.user(TENANT_A.id))).json()["items"]
    assert [u["username"] for u in users] == ["alice", "bob", "carol"]
    alice = next(u for u in users if u["username"] == "alice")
    roles = directory.get(f"/v1/users/{alice['id']}/roles", headers=bearer(tokens.user(TENANT_A.id))).json()
    assert sorted(a["role_name"] for a in roles) == ["admin", "clinician"]
    assert UUID(alice["tenant_id"]) == TENANT_A.id


def test_every_endpoint_has_a_declared_latency_budget(directory: httpx.Client, fitgate_config: Any) -> None:
    spec = directory.get("/openapi.json").json()["paths"]
    endpoints = {
        f"{method.upper()} {path}"
        for path, methods in spec.items()
        for method in methods
        if path.startswith("/v1/")
    }
    assert set(fitgate_config.services["directory"].budgets) == endpoints
