"""Every state-changing endpoint writes exactly one event, in the transaction of the change.

The event's ``state`` equals the row after the change, and its ``tx_id`` is the
transaction that wrote the row (the row's ``xmin`` is the low 32 bits of it).
A refused change (409, 404, 422) writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import httpx
import psycopg
import pytest

from tests.reference.conftest import TenantCaller, Tokens, bearer
from tests.reference.test_directory_api import create_role, create_user

EVENTS_OF_TENANT = (
    "SELECT kind, aggregate_id, version, event_name, event_version, state, payload, "
    "tx_id::text::bigint %% 4294967296 FROM directory.domain_event "
    "WHERE tenant_id = %s ORDER BY event_at, version"
)
ROW = "SELECT to_jsonb(t.*), xmin::text::bigint FROM directory.{table} AS t WHERE tenant_id = %s AND id = %s"
TABLES = {"Tenant": "tenants", "User": "users", "Role": "roles", "RoleAssignment": "role_assignments"}

Connection = psycopg.Connection[tuple[object, ...]]


def events_of(superuser: Connection, tenant_id: UUID) -> list[tuple[Any, ...]]:
    return superuser.execute(EVENTS_OF_TENANT, (tenant_id,)).fetchall()


def assert_one_event(
    superuser: Connection,
    tenant_id: UUID,
    before: list[tuple[Any, ...]],
    response: httpx.Response,
    event_name: str,
    performed_by: str,
) -> None:
    after = events_of(superuser, tenant_id)
    new = [e for e in after if e not in before]
    assert len(new) == 1, f"{response.request.method} {response.request.url.path} wrote {len(new)} events"
    kind, aggregate_id, version, name, event_version, state, payload, tx_low = new[0]
    assert (name, event_version) == (event_name, 1)
    assert payload["performed_by"] == performed_by
    assert payload["request_id"] == response.headers["x-request-id"]
    row = superuser.execute(ROW.replace("{table}", TABLES[kind]), (tenant_id, aggregate_id)).fetchone()
    assert row is not None
    row_state, xmin = row
    assert state == row_state, "the event's state must equal the row after the change"
    assert state["version"] == version
    assert tx_low == xmin, "the event and the row must be written by one transaction"
    assert response.json()["id"] == str(aggregate_id)


def test_each_change_writes_exactly_one_matching_event(
    directory: httpx.Client,
    tokens: Tokens,
    superuser: Connection,
    new_tenant: Callable[[], TenantCaller],
) -> None:
    created = directory.post("/v1/admin/tenants", json={"name": "evented"}, headers=bearer(tokens.admin()))
    tenant = TenantCaller(UUID(created.json()["id"]), tokens)
    assert_one_event(superuser, tenant.id, [], created, "TenantCreated", "platform-admin")

    def step(method: str, path: str, body: dict[str, Any] | None, event_name: str) -> dict[str, Any]:
        before = events_of(superuser, tenant.id)
        response = directory.request(method, path, json=body, headers=tenant.admin)
        assert response.status_code in (200, 201), response.text
        assert_one_event(superuser, tenant.id, before, response, event_name, tenant.admin_user)
        return dict(response.json())

    user = step(
        "POST",
        "/v1/users",
        {"username": "evented", "display_name": "E", "email": "e@x.example"},
        "UserCreated",
    )
    step("PUT", f"/v1/users/{user['id']}/username", {"username": "evented2"}, "UsernameUpdated")
    role = step("POST", "/v1/roles", {"name": "evrole"}, "RoleCreated")
    step("POST", f"/v1/users/{user['id']}/roles", {"role_id": role["id"]}, "RoleAssigned")
    step("DELETE", f"/v1/users/{user['id']}/roles/{role['id']}", None, "RoleRevoked")
    step("POST", f"/v1/users/{user['id']}/roles", {"role_id": role["id"]}, "RoleAssigned")
    step("POST", f"/v1/users/{user['id']}/deactivate", {"reason": "done"}, "UserDeactivated")


def test_refused_changes_write_no_event(
    directory: httpx.Client, superuser: Connection, new_tenant: Callable[[], TenantCaller]
) -> None:
    tenant = new_tenant()
    user = create_user(directory, tenant, "stays")
    create_user(directory, tenant, "taken")
    role = create_role(directory, tenant, "once")
    directory.post(f"/v1/users/{user['id']}/roles", json={"role_id": role["id"]}, headers=tenant.admin)
    before = events_of(superuser, tenant.id)
    refused = [
        directory.post(
            "/v1/users",
            json={"username": "taken", "display_name": "T", "email": "t@x.y"},
            headers=tenant.admin,
        ),
        directory.put(f"/v1/users/{user['id']}/username", json={"username": "taken"}, headers=tenant.admin),
        directory.put(
            f"/v1/users/{user['id']}/username",
            json={"username": "new"},
            headers={**tenant.admin, "If-Match": '"9"'},
        ),
        directory.put(f"/v1/users/{user['id']}/username", json={"username": "stays"}, headers=tenant.admin),
        directory.post("/v1/roles", json={"name": "once"}, headers=tenant.admin),
        directory.post(f"/v1/users/{user['id']}/roles", json={"role_id": role["id"]}, headers=tenant.admin),
        directory.post("/v1/users", json={"username": "X"}, headers=tenant.admin),
        directory.post(
            "/v1/users",
            json={"username": "new", "display_name": "N", "email": "n@x.y"},
            headers=tenant.reader,
        ),
    ]
    assert [r.status_code for r in refused] == [409, 409, 409, 200, 409, 409, 422, 403]
    assert events_of(superuser, tenant.id) == before


@pytest.mark.parametrize("table", sorted(TABLES.values()))
def test_every_row_matches_its_latest_event(superuser: Connection, table: str) -> None:
    """Across the whole shared database (seeds and every test so far): no row without its event."""
    mismatched = superuser.execute(
        "SELECT t.tenant_id, t.id FROM directory.{table} AS t "
        "LEFT JOIN LATERAL (SELECT e.state FROM directory.domain_event e WHERE e.tenant_id = t.tenant_id "
        "AND e.aggregate_id = t.id ORDER BY e.version DESC LIMIT 1) AS latest ON true "
        "WHERE latest.state IS DISTINCT FROM to_jsonb(t.*)".replace("{table}", table)
    ).fetchall()
    assert mismatched == []
