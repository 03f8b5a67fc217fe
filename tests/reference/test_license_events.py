"""Every state-changing license endpoint writes its events in the transaction of the change.

One change, one event: the event's ``state`` equals the row after the change, and its
``tx_id`` is the transaction that wrote the row (the row's ``xmin`` is its low 32 bits).
Revoking a license with seats changes each seat too: one SeatReleased per seat, in the
same transaction as the LicenseRevoked. A refused change (409, 404, 403, 422) writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import httpx
import psycopg
import pytest

from tests.reference.conftest import TenantCaller, Tokens
from tests.reference.test_license_api import CLINIC, assign, grant, in_days, operator, users

EVENTS_OF_TENANT = (
    "SELECT kind, aggregate_id, version, event_name, event_version, state, payload, "
    "tx_id::text::bigint %% 4294967296 FROM license.domain_event "
    "WHERE tenant_id = %s ORDER BY event_at, kind, version, aggregate_id"
)
ROW = "SELECT to_jsonb(t.*), xmin::text::bigint FROM license.{table} AS t WHERE tenant_id = %s AND id = %s"
TABLES = {"License": "licenses", "SeatAssignment": "seat_assignments"}

Connection = psycopg.Connection[tuple[object, ...]]
Event = tuple[Any, ...]


def events_of(superuser: Connection, tenant_id: UUID) -> list[Event]:
    return superuser.execute(EVENTS_OF_TENANT, (tenant_id,)).fetchall()


def new_events(superuser: Connection, tenant_id: UUID, before: list[Event]) -> list[Event]:
    return [e for e in events_of(superuser, tenant_id) if e not in before]


def assert_matches_row(
    superuser: Connection, tenant_id: UUID, event: Event, response: httpx.Response, performed_by: str
) -> None:
    kind, aggregate_id, version, _name, event_version, state, payload, tx_low = event
    assert event_version == 1
    assert payload["performed_by"] == performed_by
    assert payload["request_id"] == response.headers["x-request-id"]
    row = superuser.execute(ROW.replace("{table}", TABLES[kind]), (tenant_id, aggregate_id)).fetchone()
    assert row is not None
    row_state, xmin = row
    assert state == row_state, "the event's state must equal the row after the change"
    assert state["version"] == version
    assert tx_low == xmin, "the event and the row must be written by one transaction"


def test_each_change_writes_exactly_one_matching_event(
    licenses: httpx.Client,
    directory: httpx.Client,
    tokens: Tokens,
    superuser: Connection,
    new_tenant: Callable[[], TenantCaller],
) -> None:
    tenant = new_tenant()
    (user,) = users(directory, tenant, "evented")
    admin = operator(tokens, tenant.id)

    def step(
        method: str, path: str, body: dict[str, Any] | None, headers: dict[str, str], event_name: str
    ) -> dict[str, Any]:
        before = events_of(superuser, tenant.id)
        response = licenses.request(method, path, json=body, headers=headers)
        assert response.status_code in (200, 201), response.text
        new = new_events(superuser, tenant.id, before)
        assert len(new) == 1, f"{method} {path} wrote {len(new)} events"
        assert new[0][3] == event_name
        performed_by = "platform-admin" if headers is admin else tenant.admin_user
        assert_matches_row(superuser, tenant.id, new[0], response, performed_by)
        assert response.json()["id"] == str(new[0][1])
        return dict(response.json())

    license = step(
        "POST",
        "/v1/licenses",
        {"plan_id": CLINIC, "seats": 2, "valid_until": in_days(90)},
        admin,
        "LicenseGranted",
    )
    path = f"/v1/licenses/{license['id']}"
    step("PUT", f"{path}/seat-count", {"seats": 3}, admin, "LicenseSeatsChanged")
    seat = step("POST", f"{path}/seats", {"user_id": user}, tenant.admin, "SeatAssigned")
    step("DELETE", f"{path}/seats/{seat['id']}", {"reason": "moved"}, tenant.admin, "SeatReleased")
    step("POST", f"{path}/seats", {"user_id": user}, admin, "SeatAssigned")
    other = grant(licenses, tokens, tenant)
    step("POST", f"/v1/licenses/{other['id']}/revoke", {"reason": "unused"}, admin, "LicenseRevoked")


def test_revoking_releases_each_seat_in_the_same_transaction(
    licenses: httpx.Client,
    directory: httpx.Client,
    tokens: Tokens,
    superuser: Connection,
    new_tenant: Callable[[], TenantCaller],
) -> None:
    tenant = new_tenant()
    holders = users(directory, tenant, "one", "two", "three")
    license = grant(licenses, tokens, tenant, seats=5)
    seats = {assign(licenses, tenant, license["id"], user)["id"] for user in holders[:2]}
    released_before = assign(licenses, tenant, license["id"], holders[2])
    licenses.delete(f"/v1/licenses/{license['id']}/seats/{released_before['id']}", headers=tenant.admin)
    before = events_of(superuser, tenant.id)
    response = licenses.post(
        f"/v1/licenses/{license['id']}/revoke", json={"reason": "ended"}, headers=operator(tokens, tenant.id)
    )
    assert response.status_code == 200
    new = new_events(superuser, tenant.id, before)
    assert sorted((e[0], e[3]) for e in new) == [
        ("License", "LicenseRevoked"),
        ("SeatAssignment", "SeatReleased"),
        ("SeatAssignment", "SeatReleased"),
    ]
    assert {str(e[1]) for e in new if e[0] == "SeatAssignment"} == seats
    assert len({e[7] for e in new}) == 1, "one transaction"
    for event in new:
        assert_matches_row(superuser, tenant.id, event, response, "platform-admin")
        if event[0] == "SeatAssignment":
            assert event[6]["cause"] == "license_revoked" and event[6]["reason"] == "ended"
            assert event[6]["license_id"] == license["id"]
        else:
            assert event[6]["seats_released"] == 2


def test_refused_changes_write_no_event(
    licenses: httpx.Client,
    directory: httpx.Client,
    tokens: Tokens,
    superuser: Connection,
    new_tenant: Callable[[], TenantCaller],
) -> None:
    tenant = new_tenant()
    holder, waiting, gone = users(directory, tenant, "holder", "waiting", "gone")
    directory.post(f"/v1/users/{gone}/deactivate", headers=tenant.admin)
    admin = operator(tokens, tenant.id)
    full = grant(licenses, tokens, tenant, seats=1)
    seat = assign(licenses, tenant, full["id"], holder)
    released = assign(licenses, tenant, grant(licenses, tokens, tenant, seats=1)["id"], holder)
    licenses.delete(f"/v1/licenses/{released['license_id']}/seats/{released['id']}", headers=tenant.admin)
    revoked = grant(licenses, tokens, tenant)
    licenses.post(f"/v1/licenses/{revoked['id']}/revoke", headers=admin)
    future = grant(licenses, tokens, tenant, valid_from=in_days(3), valid_until=in_days(9))
    seats_of = f"/v1/licenses/{full['id']}/seats"
    before = events_of(superuser, tenant.id)
    refused = [
        (licenses.post(seats_of, json={"user_id": waiting}, headers=tenant.admin), 409),  # exhausted
        (licenses.post(seats_of, json={"user_id": holder}, headers=tenant.admin), 409),  # already held
        (licenses.post(seats_of, json={"user_id": gone}, headers=tenant.admin), 409),  # deactivated
        (licenses.post(seats_of, json={"user_id": str(UUID(int=7))}, headers=tenant.admin), 404),
        (licenses.post(seats_of, json={"user_id": waiting}, headers=tenant.reader), 403),
        (
            licenses.post(
                f"/v1/licenses/{revoked['id']}/seats", json={"user_id": waiting}, headers=tenant.admin
            ),
            409,
        ),
        (
            licenses.post(
                f"/v1/licenses/{future['id']}/seats", json={"user_id": waiting}, headers=tenant.admin
            ),
            409,
        ),
        (licenses.delete(f"{seats_of}/{seat['id']}", headers={**tenant.admin, "If-Match": '"2"'}), 409),
        (
            licenses.delete(f"/v1/licenses/{released['license_id']}/seats/{released['id']}", headers=admin),
            409,
        ),
        (licenses.put(f"/v1/licenses/{full['id']}/seat-count", json={"seats": 2}, headers=tenant.admin), 403),
        (licenses.put(f"/v1/licenses/{revoked['id']}/seat-count", json={"seats": 2}, headers=admin), 409),
        (
            licenses.put(f"/v1/licenses/{full['id']}/seat-count", json={"seats": 1}, headers=admin),
            200,
        ),  # same
        (licenses.post(f"/v1/licenses/{revoked['id']}/revoke", headers=admin), 409),
        (licenses.post(f"/v1/licenses/{full['id']}/revoke", headers={**admin, "If-Match": '"3"'}), 409),
        (
            licenses.post(
                "/v1/licenses",
                json={"plan_id": CLINIC, "seats": 99, "valid_until": in_days(9)},
                headers=admin,
            ),
            422,
        ),
        (
            licenses.post(
                "/v1/licenses",
                json={"plan_id": CLINIC, "seats": 1, "valid_until": in_days(9)},
                headers=tenant.admin,
            ),
            403,
        ),
    ]
    assert [status for response, status in refused] == [response.status_code for response, _ in refused]
    assert events_of(superuser, tenant.id) == before


@pytest.mark.parametrize("table", sorted(TABLES.values()))
def test_every_row_matches_its_latest_event(superuser: Connection, table: str) -> None:
    """Across the whole shared database (seeds and every test so far): no row without its event."""
    mismatched = superuser.execute(
        "SELECT t.tenant_id, t.id FROM license.{table} AS t "
        "LEFT JOIN LATERAL (SELECT e.state FROM license.domain_event e WHERE e.tenant_id = t.tenant_id "
        "AND e.aggregate_id = t.id ORDER BY e.version DESC LIMIT 1) AS latest ON true "
        "WHERE latest.state IS DISTINCT FROM to_jsonb(t.*)".replace("{table}", table)
    ).fetchall()
    assert mismatched == []


# Per aggregate, a later version never carries an earlier time.
EVENTS_OUT_OF_ORDER = """
SELECT tenant_id, kind, aggregate_id, version FROM (
    SELECT *, lag(event_at) OVER (PARTITION BY tenant_id, kind, aggregate_id ORDER BY version) AS previous
    FROM license.domain_event) AS e
WHERE previous > event_at
"""
# Replaying every license's seat events in time order: never more seats held than the license had then.
HISTORY_OVERSUBSCRIBED = """
WITH seat_events AS (
    SELECT tenant_id, (state ->> 'license_id')::uuid AS license_id, event_at, id,
           CASE event_name WHEN 'SeatAssigned' THEN 1 ELSE -1 END AS delta
    FROM license.domain_event WHERE kind = 'SeatAssignment'
), held AS (
    SELECT tenant_id, license_id, event_at,
           sum(delta) OVER (PARTITION BY tenant_id, license_id ORDER BY event_at, delta, id
                            ROWS UNBOUNDED PRECEDING) AS held
    FROM seat_events
)
SELECT h.tenant_id, h.license_id, h.event_at, h.held, (license.state ->> 'seats')::int
FROM held AS h
CROSS JOIN LATERAL (
    SELECT e.state FROM license.domain_event AS e
    WHERE e.tenant_id = h.tenant_id AND e.kind = 'License' AND e.aggregate_id = h.license_id
      AND e.event_at <= h.event_at
    ORDER BY e.version DESC LIMIT 1) AS license
WHERE h.held > (license.state ->> 'seats')::int
"""


def test_the_history_is_in_the_order_of_the_changes(superuser: Connection) -> None:
    """Across the whole shared database (after the concurrency tests, too): event times follow
    versions, and replaying the seat events never shows a license oversubscribed."""
    assert superuser.execute(EVENTS_OUT_OF_ORDER).fetchall() == []
    assert superuser.execute(HISTORY_OVERSUBSCRIBED).fetchall() == []


def test_seeded_rows_were_written_by_the_installer(superuser: Connection) -> None:
    names = superuser.execute(
        "SELECT DISTINCT event_name, payload ->> 'performed_by' FROM license.domain_event "
        "WHERE payload ->> 'performed_by' = 'installer' ORDER BY 1"
    ).fetchall()
    assert names == [("LicenseGranted", "installer"), ("SeatAssigned", "installer")]
