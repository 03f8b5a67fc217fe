"""Every license endpoint over HTTP, against the service running as its own process."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import psycopg

from reference.license.seed import seed_license_id
from reference.platform.seeding import TENANT_A, TENANT_B
from tests.reference.conftest import TenantCaller, Tokens, bearer
from tests.reference.test_directory_api import assert_error, create_user

STARTER = "5e1ec7ed-0000-4000-8000-000000000001"
CLINIC = "5e1ec7ed-0000-4000-8000-000000000002"
PHARMACY = "5e1ec7ed-0000-4000-8000-000000000003"
ENTERPRISE = "5e1ec7ed-0000-4000-8000-000000000004"


def operator(tokens: Tokens, tenant_id: UUID) -> dict[str, str]:
    """The platform admin acting inside ``tenant_id``."""
    return bearer(tokens.admin(), **{"X-Tenant-ID": str(tenant_id)})


def in_days(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def grant(
    client: httpx.Client,
    tokens: Tokens,
    tenant: TenantCaller,
    seats: int = 3,
    plan_id: str = CLINIC,
    **validity: str,
) -> dict[str, Any]:
    body = {"plan_id": plan_id, "seats": seats, "valid_until": in_days(365), **validity}
    response = client.post("/v1/licenses", json=body, headers=operator(tokens, tenant.id))
    assert response.status_code == 201, response.text
    return dict(response.json())


def assign(client: httpx.Client, tenant: TenantCaller, license_id: str, user_id: str) -> dict[str, Any]:
    response = client.post(
        f"/v1/licenses/{license_id}/seats", json={"user_id": user_id}, headers=tenant.admin
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def users(directory: httpx.Client, tenant: TenantCaller, *names: str) -> list[str]:
    return [create_user(directory, tenant, name)["id"] for name in names]


def test_probes_and_openapi(licenses: httpx.Client) -> None:
    assert licenses.get("/healthz").json() == {"status": "alive"}
    assert licenses.get("/readyz").json() == {"status": "ready", "role": "license_service"}
    paths = licenses.get("/openapi.json").json()["paths"]
    assert {
        "/v1/plans",
        "/v1/plans/{plan_id}",
        "/v1/licenses",
        "/v1/licenses/{license_id}",
        "/v1/licenses/{license_id}/seat-count",
        "/v1/licenses/{license_id}/revoke",
        "/v1/licenses/{license_id}/history",
        "/v1/licenses/{license_id}/seats",
        "/v1/licenses/{license_id}/seats/{seat_id}",
        "/v1/users/{user_id}/seats",
    } <= set(paths)


def test_plans_are_a_read_only_catalogue_for_any_caller(licenses: httpx.Client, tokens: Tokens) -> None:
    as_user = licenses.get("/v1/plans", headers=bearer(tokens.user(TENANT_B.id)))
    assert as_user.status_code == 200
    plans = as_user.json()
    assert [p["code"] for p in plans] == ["clinic", "enterprise", "pharmacy", "starter"]
    clinic = next(p for p in plans if p["code"] == "clinic")
    assert clinic["id"] == CLINIC and clinic["max_seats"] == 50 and "e-prescriptions" in clinic["features"]
    assert next(p for p in plans if p["code"] == "enterprise")["max_seats"] is None
    # The platform admin needs no tenant to read the catalogue.
    assert licenses.get("/v1/plans", headers=bearer(tokens.admin())).json() == plans
    one = licenses.get(f"/v1/plans/{CLINIC}", headers=bearer(tokens.user(TENANT_A.id)))
    assert one.json() == clinic
    assert_error(licenses.get(f"/v1/plans/{uuid4()}", headers=bearer(tokens.admin())), 404, "not_found")
    assert_error(licenses.get("/v1/plans/x", headers=bearer(tokens.admin())), 422, "invalid_input", "plan_id")
    assert_error(licenses.get("/v1/plans"), 401, "unauthenticated")
    assert_error(licenses.get("/v1/plans", headers=bearer("garbage")), 401, "unauthenticated")
    assert_error(
        licenses.post("/v1/plans", json={}, headers=bearer(tokens.admin())), 405, "method_not_allowed"
    )


def test_grant_is_for_the_platform_admin_only(
    licenses: httpx.Client, tokens: Tokens, new_tenant: Callable[[], TenantCaller]
) -> None:
    tenant = new_tenant()
    body = {"plan_id": CLINIC, "seats": 5, "valid_until": in_days(30)}
    for headers in (tenant.admin, tenant.reader):
        assert_error(licenses.post("/v1/licenses", json=body, headers=headers), 403, "forbidden")
    assert_error(licenses.post("/v1/licenses", json=body), 401, "unauthenticated")
    assert_error(
        licenses.post("/v1/licenses", json=body, headers=bearer(tokens.admin())),
        422,
        "invalid_input",
        "X-Tenant-ID",
    )
    granted = licenses.post("/v1/licenses", json=body, headers=operator(tokens, tenant.id))
    assert granted.status_code == 201
    license = granted.json()
    assert granted.headers["location"] == f"/v1/licenses/{license['id']}"
    assert granted.headers["etag"] == '"1"'
    assert (license["tenant_id"], license["plan_id"], license["seats"]) == (str(tenant.id), CLINIC, 5)
    assert (license["status"], license["version"], license["seats_assigned"]) == ("active", 1, 0)
    assert license["revoked_at"] is None
    assert datetime.fromisoformat(license["valid_from"]) <= datetime.now(UTC)
    assert licenses.get(f"/v1/licenses/{license['id']}", headers=tenant.reader).json() == license


def test_grant_only_to_an_active_tenant_of_the_directory(
    licenses: httpx.Client,
    tokens: Tokens,
    superuser: psycopg.Connection[tuple[object, ...]],
    new_tenant: Callable[[], TenantCaller],
) -> None:
    body = {"plan_id": CLINIC, "seats": 2, "valid_until": in_days(30)}
    unknown = licenses.post("/v1/licenses", json=body, headers=operator(tokens, uuid4()))
    assert_error(unknown, 404, "not_found")
    assert "tenant" in unknown.json()["message"]
    tenant = new_tenant()
    # Directory has no endpoint for it yet: suspend the row, and restore it (its event still matches) after.
    suspend = "UPDATE directory.tenants SET status = %s WHERE tenant_id = %s"
    superuser.execute(suspend, ("suspended", tenant.id))
    try:
        suspended = licenses.post("/v1/licenses", json=body, headers=operator(tokens, tenant.id))
        assert_error(suspended, 409, "tenant_suspended")
    finally:
        superuser.execute(suspend, ("active", tenant.id))
    assert licenses.get("/v1/licenses", headers=tenant.reader).json()["items"] == []
    assert licenses.post("/v1/licenses", json=body, headers=operator(tokens, tenant.id)).status_code == 201


def test_grant_input_is_validated_naming_the_field(
    licenses: httpx.Client, tokens: Tokens, new_tenant: Callable[[], TenantCaller]
) -> None:
    tenant = new_tenant()
    headers = operator(tokens, tenant.id)
    good = {"plan_id": STARTER, "seats": 2, "valid_until": in_days(30)}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"seats": 0}, "seats"),
        ({"seats": "many"}, "seats"),
        ({"seats": 6}, "seats"),  # the starter plan allows 5
        ({"plan_id": "starter"}, "plan_id"),
        ({"valid_until": "2030-01-01T00:00:00"}, "valid_until"),  # no time zone
        ({"valid_until": in_days(-1)}, "valid_until"),  # in the past
        ({"valid_from": in_days(10), "valid_until": in_days(5)}, "valid_until"),
        ({"valid_from": "soon"}, "valid_from"),
        ({"status": "revoked"}, "status"),
    ]
    for change, field in cases:
        assert_error(
            licenses.post("/v1/licenses", json={**good, **change}, headers=headers),
            422,
            "invalid_input",
            field,
        )
    missing = {"plan_id": STARTER, "valid_until": in_days(30)}
    assert_error(licenses.post("/v1/licenses", json=missing, headers=headers), 422, "invalid_input", "seats")
    unknown_plan = licenses.post("/v1/licenses", json={**good, "plan_id": str(uuid4())}, headers=headers)
    assert_error(unknown_plan, 404, "not_found")
    assert licenses.get("/v1/licenses", headers=tenant.reader).json() == {"items": [], "next_after": None}
    # A plan without a seat limit takes any count the API allows.
    assert grant(licenses, tokens, tenant, seats=5000, plan_id=ENTERPRISE)["seats"] == 5000


def test_list_licenses_with_pages_and_status(
    licenses: httpx.Client, tokens: Tokens, new_tenant: Callable[[], TenantCaller]
) -> None:
    tenant = new_tenant()
    granted = sorted((grant(licenses, tokens, tenant, seats=n + 1) for n in range(3)), key=lambda g: g["id"])
    first = licenses.get("/v1/licenses", params={"limit": 2}, headers=tenant.reader).json()
    assert [item["id"] for item in first["items"]] == [g["id"] for g in granted[:2]]
    assert first["next_after"] == granted[1]["id"]
    rest = licenses.get(
        "/v1/licenses", params={"limit": 2, "after": first["next_after"]}, headers=tenant.reader
    )
    assert rest.json() == {"items": [granted[2]], "next_after": None}
    licenses.post(f"/v1/licenses/{granted[0]['id']}/revoke", headers=operator(tokens, tenant.id))
    active = licenses.get("/v1/licenses", params={"status": "active"}, headers=tenant.reader).json()
    assert [item["id"] for item in active["items"]] == [g["id"] for g in granted[1:]]
    revoked = licenses.get("/v1/licenses", params={"status": "revoked"}, headers=tenant.reader).json()
    assert [item["id"] for item in revoked["items"]] == [granted[0]["id"]]
    bad = licenses.get("/v1/licenses", params={"status": "expired"}, headers=tenant.reader)
    assert_error(bad, 422, "invalid_input", "status")
    assert_error(
        licenses.get("/v1/licenses", params={"after": "x"}, headers=tenant.reader),
        422,
        "invalid_input",
        "after",
    )
    assert_error(licenses.get(f"/v1/licenses/{uuid4()}", headers=tenant.reader), 404, "not_found")


def test_assign_seats_until_they_run_out(
    licenses: httpx.Client, directory: httpx.Client, tokens: Tokens, new_tenant: Callable[[], TenantCaller]
) -> None:
    tenant = new_tenant()
    ann, ben, cid = users(directory, tenant, "ann", "ben", "cid")
    license = grant(licenses, tokens, tenant, seats=2)
    seats_path = f"/v1/licenses/{license['id']}/seats"
    first = licenses.post(seats_path, json={"user_id": ann}, headers=tenant.admin)
    assert first.status_code == 201
    seat = first.json()
    assert first.headers["location"] == f"{seats_path}/{seat['id']}" and first.headers["etag"] == '"1"'
    assert (seat["license_id"], seat["user_id"], seat["status"], seat["version"]) == (
        license["id"],
        ann,
        "assigned",
        1,
    )
    assert seat["released_at"] is None and seat["assigned_at"]
    held = licenses.post(seats_path, json={"user_id": ann}, headers=tenant.admin)
    assert_error(held, 409, "seat_already_held")
    assign(licenses, tenant, license["id"], ben)
    exhausted = licenses.post(seats_path, json={"user_id": cid}, headers=tenant.admin)
    assert_error(exhausted, 409, "seats_exhausted")
    assert "all 2 seats" in exhausted.json()["message"]
    assert licenses.get(f"/v1/licenses/{license['id']}", headers=tenant.reader).json()["seats_assigned"] == 2
    # The platform admin may assign too; the reader may not.
    assert_error(licenses.post(seats_path, json={"user_id": cid}, headers=tenant.reader), 403, "forbidden")
    raised = licenses.put(
        f"/v1/licenses/{license['id']}/seat-count", json={"seats": 3}, headers=operator(tokens, tenant.id)
    )
    assert raised.json()["seats"] == 3
    by_operator = licenses.post(seats_path, json={"user_id": cid}, headers=operator(tokens, tenant.id))
    assert by_operator.status_code == 201


def test_seats_go_to_active_users_of_the_tenant_only(
    licenses: httpx.Client, directory: httpx.Client, tokens: Tokens, new_tenant: Callable[[], TenantCaller]
) -> None:
    tenant = new_tenant()
    (gone,) = users(directory, tenant, "gone")
    directory.post(f"/v1/users/{gone}/deactivate", headers=tenant.admin)
    license = grant(licenses, tokens, tenant)
    path = f"/v1/licenses/{license['id']}/seats"
    assert_error(licenses.post(path, json={"user_id": gone}, headers=tenant.admin), 409, "user_inactive")
    assert_error(licenses.post(path, json={"user_id": str(uuid4())}, headers=tenant.admin), 404, "not_found")
    assert_error(
        licenses.post(path, json={"user_id": "x"}, headers=tenant.admin), 422, "invalid_input", "user_id"
    )
    assert_error(licenses.post(path, json={}, headers=tenant.admin), 422, "invalid_input", "user_id")
    missing_license = licenses.post(
        f"/v1/licenses/{uuid4()}/seats", json={"user_id": gone}, headers=tenant.admin
    )
    assert_error(missing_license, 404, "not_found")


def test_seats_only_while_the_license_is_in_force(
    licenses: httpx.Client, directory: httpx.Client, tokens: Tokens, new_tenant: Callable[[], TenantCaller]
) -> None:
    tenant = new_tenant()
    (user,) = users(directory, tenant, "waiting")
    future = grant(licenses, tokens, tenant, valid_from=in_days(7), valid_until=in_days(30))
    early = licenses.post(f"/v1/licenses/{future['id']}/seats", json={"user_id": user}, headers=tenant.admin)
    assert_error(early, 409, "license_not_in_force")
    assert "valid only from" in early.json()["message"]
    ending = grant(
        licenses, tokens, tenant, valid_until=(datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    )
    time.sleep(
        max(0.0, (datetime.fromisoformat(ending["valid_until"]) - datetime.now(UTC)).total_seconds()) + 0.05
    )
    late = licenses.post(f"/v1/licenses/{ending['id']}/seats", json={"user_id": user}, headers=tenant.admin)
    assert_error(late, 409, "license_not_in_force")
    assert "expired" in late.json()["message"]


def test_release_keeps_the_row_and_frees_the_seat(
    licenses: httpx.Client, directory: httpx.Client, tokens: Tokens, new_tenant: Callable[[], TenantCaller]
) -> None:
    tenant = new_tenant()
    ann, ben = users(directory, tenant, "ann", "ben")
    license = grant(licenses, tokens, tenant, seats=1)
    other = grant(licenses, tokens, tenant, seats=1)
    seat = assign(licenses, tenant, license["id"], ann)
    seat_path = f"/v1/licenses/{license['id']}/seats/{seat['id']}"
    fetched = licenses.get(seat_path, headers=tenant.reader)
    assert fetched.json() == seat and fetched.headers["etag"] == '"1"'
    assert_error(
        licenses.get(f"/v1/licenses/{other['id']}/seats/{seat['id']}", headers=tenant.reader),
        404,
        "not_found",
    )
    assert_error(
        licenses.delete(f"/v1/licenses/{other['id']}/seats/{seat['id']}", headers=tenant.admin),
        404,
        "not_found",
    )
    assert_error(licenses.delete(seat_path, headers=tenant.reader), 403, "forbidden")
    stale = licenses.delete(seat_path, headers={**tenant.admin, "If-Match": '"7"'})
    assert_error(stale, 409, "version_conflict")
    released = licenses.request(
        "DELETE", seat_path, json={"reason": "left the clinic"}, headers={**tenant.admin, "If-Match": '"1"'}
    )
    assert released.status_code == 200
    body = released.json()
    assert (body["status"], body["version"], released.headers["etag"]) == ("released", 2, '"2"')
    assert datetime.fromisoformat(body["released_at"]) >= datetime.fromisoformat(body["assigned_at"])
    assert licenses.get(seat_path, headers=tenant.reader).json() == body
    assert_error(licenses.delete(seat_path, headers=tenant.admin), 409, "seat_already_released")
    # The seat is free again: another user takes it, and the first may hold a seat again later.
    assign(licenses, tenant, license["id"], ben)
    licenses.put(
        f"/v1/licenses/{license['id']}/seat-count", json={"seats": 2}, headers=operator(tokens, tenant.id)
    )
    again = assign(licenses, tenant, license["id"], ann)
    assert again["id"] != seat["id"]


def test_seat_lists_of_a_license_and_of_a_user(
    licenses: httpx.Client, directory: httpx.Client, tokens: Tokens, new_tenant: Callable[[], TenantCaller]
) -> None:
    tenant = new_tenant()
    ann, ben, cid = users(directory, tenant, "ann", "ben", "cid")
    first = grant(licenses, tokens, tenant, seats=5)
    second = grant(licenses, tokens, tenant, seats=5)
    seats = {user: assign(licenses, tenant, first["id"], user) for user in (ann, ben, cid)}
    on_second = assign(licenses, tenant, second["id"], ann)
    licenses.delete(f"/v1/licenses/{first['id']}/seats/{seats[ben]['id']}", headers=tenant.admin)
    path = f"/v1/licenses/{first['id']}/seats"
    ordered = sorted(s["id"] for s in seats.values())
    page = licenses.get(path, params={"limit": 2}, headers=tenant.reader).json()
    assert [s["id"] for s in page["items"]] == ordered[:2] and page["next_after"] == ordered[1]
    rest = licenses.get(path, params={"limit": 2, "after": ordered[1]}, headers=tenant.reader).json()
    assert [s["id"] for s in rest["items"]] == ordered[2:] and rest["next_after"] is None
    held = licenses.get(path, params={"status": "assigned"}, headers=tenant.reader).json()["items"]
    assert {s["user_id"] for s in held} == {ann, cid}
    released = licenses.get(path, params={"status": "released"}, headers=tenant.reader).json()["items"]
    assert [s["user_id"] for s in released] == [ben]
    of_ann = licenses.get(f"/v1/users/{ann}/seats", headers=tenant.reader).json()
    assert [s["id"] for s in of_ann] == [seats[ann]["id"], on_second["id"]]
    of_ben = licenses.get(f"/v1/users/{ben}/seats", params={"status": "assigned"}, headers=tenant.reader)
    assert of_ben.json() == []
    assert_error(licenses.get(f"/v1/users/{uuid4()}/seats", headers=tenant.reader), 404, "not_found")
    assert_error(licenses.get(f"/v1/licenses/{uuid4()}/seats", headers=tenant.reader), 404, "not_found")
    assert licenses.get(f"/v1/licenses/{first['id']}", headers=tenant.reader).json()["seats_assigned"] == 2


def test_change_the_seat_count(
    licenses: httpx.Client, directory: httpx.Client, tokens: Tokens, new_tenant: Callable[[], TenantCaller]
) -> None:
    tenant = new_tenant()
    ann, ben = users(directory, tenant, "ann", "ben")
    license = grant(licenses, tokens, tenant, seats=3)
    assign(licenses, tenant, license["id"], ann)
    assign(licenses, tenant, license["id"], ben)
    path = f"/v1/licenses/{license['id']}/seat-count"
    admin = operator(tokens, tenant.id)
    assert_error(licenses.put(path, json={"seats": 4}, headers=tenant.admin), 403, "forbidden")
    assert_error(licenses.put(path, json={"seats": 1}, headers=admin), 409, "seats_in_use")
    assert_error(licenses.put(path, json={"seats": 51}, headers=admin), 422, "invalid_input", "seats")
    assert_error(licenses.put(path, json={"seats": 0}, headers=admin), 422, "invalid_input", "seats")
    assert_error(
        licenses.put(path, json={"seats": 4}, headers={**admin, "If-Match": "one"}),
        422,
        "invalid_input",
        "If-Match",
    )
    lowered = licenses.put(path, json={"seats": 2}, headers={**admin, "If-Match": '"1"'})
    assert lowered.status_code == 200
    assert (lowered.json()["seats"], lowered.json()["version"], lowered.json()["seats_assigned"]) == (2, 2, 2)
    assert lowered.headers["etag"] == '"2"'
    assert_error(
        licenses.put(path, json={"seats": 5}, headers={**admin, "If-Match": '"1"'}), 409, "version_conflict"
    )
    same = licenses.put(path, json={"seats": 2}, headers=admin)
    assert (same.status_code, same.json()["version"]) == (200, 2)
    assert_error(
        licenses.put(f"/v1/licenses/{uuid4()}/seat-count", json={"seats": 2}, headers=admin), 404, "not_found"
    )


def test_revoke_releases_every_seat(
    licenses: httpx.Client, directory: httpx.Client, tokens: Tokens, new_tenant: Callable[[], TenantCaller]
) -> None:
    tenant = new_tenant()
    ann, ben, cid = users(directory, tenant, "ann", "ben", "cid")
    license = grant(licenses, tokens, tenant, seats=3)
    for user in (ann, ben):
        assign(licenses, tenant, license["id"], user)
    path = f"/v1/licenses/{license['id']}/revoke"
    admin = operator(tokens, tenant.id)
    assert_error(licenses.post(path, headers=tenant.admin), 403, "forbidden")
    assert_error(licenses.post(path, headers={**admin, "If-Match": '"5"'}), 409, "version_conflict")
    assert_error(
        licenses.post(path, json={"reason": "x" * 501}, headers=admin), 422, "invalid_input", "reason"
    )
    revoked = licenses.post(path, json={"reason": "contract ended"}, headers={**admin, "If-Match": '"1"'})
    assert revoked.status_code == 200
    body = revoked.json()
    assert (body["status"], body["version"], body["seats_assigned"]) == ("revoked", 2, 0)
    assert body["revoked_at"] and revoked.headers["etag"] == '"2"'
    seats = licenses.get(f"/v1/licenses/{license['id']}/seats", headers=tenant.reader).json()["items"]
    assert {(s["user_id"], s["status"]) for s in seats} == {(ann, "released"), (ben, "released")}
    assert_error(licenses.post(path, headers=admin), 409, "license_revoked")
    assign_after = licenses.post(
        f"/v1/licenses/{license['id']}/seats", json={"user_id": cid}, headers=tenant.admin
    )
    assert_error(assign_after, 409, "license_revoked")
    more = licenses.put(f"/v1/licenses/{license['id']}/seat-count", json={"seats": 9}, headers=admin)
    assert_error(more, 409, "license_revoked")
    history = licenses.get(f"/v1/licenses/{license['id']}/history", headers=tenant.reader).json()
    assert [(e["event_name"], e["version"]) for e in history] == [
        ("LicenseGranted", 1),
        ("LicenseRevoked", 2),
    ]
    assert history[1]["payload"] == {
        "performed_by": "platform-admin",
        "request_id": revoked.headers["x-request-id"],
        "reason": "contract ended",
        "seats_released": 2,
    }
    assert history[0]["payload"]["plan_code"] == "clinic"
    assert_error(licenses.get(f"/v1/licenses/{uuid4()}/history", headers=tenant.reader), 404, "not_found")


def test_seeded_tenants_hold_seats_with_seats_left(
    licenses: httpx.Client, directory: httpx.Client, tokens: Tokens
) -> None:
    for tenant, plan, holders in ((TENANT_A, CLINIC, {"alice", "bob"}), (TENANT_B, PHARMACY, {"dave"})):
        reader = bearer(tokens.user(tenant.id))
        license = licenses.get(f"/v1/licenses/{seed_license_id(tenant)}", headers=reader).json()
        assert license["status"] == "active" and license["plan_id"] == plan
        assert license["seats_assigned"] < license["seats"], "load tests need free seats"
        seats = licenses.get(
            f"/v1/licenses/{license['id']}/seats", params={"status": "assigned"}, headers=reader
        )
        names = {u["id"]: u["username"] for u in directory.get("/v1/users", headers=reader).json()["items"]}
        assert {names[s["user_id"]] for s in seats.json()["items"]} >= holders


def test_every_endpoint_has_a_declared_latency_budget(licenses: httpx.Client, fitgate_config: Any) -> None:
    spec = licenses.get("/openapi.json").json()["paths"]
    endpoints = {
        f"{method.upper()} {path}"
        for path, methods in spec.items()
        for method in methods
        if path.startswith("/v1/")
    }
    assert set(fitgate_config.services["license"].budgets) == endpoints
