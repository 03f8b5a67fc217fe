"""Every auth state change writes exactly one event, in the change's transaction; secrets never do.

The event's ``state`` equals the row after the change and its ``tx_id`` is the
transaction that wrote the row (the row's ``xmin`` is its low 32 bits). A
request that changes several aggregates (revoking all of a user's sessions) or
one aggregate twice (the failed login that locks a credential: LoginFailed,
then CredentialLocked) writes one event per change. Refused requests write none.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import httpx
import psycopg
import pytest

from reference.platform import totp
from tests.reference.auth_flows import TEST_PASSWORD, Authenticators, create_test_user, logged_in
from tests.reference.conftest import TenantCaller, bearer

EVENTS_OF_TENANT = (
    "SELECT kind, aggregate_id, version, event_name, event_version, state, payload, "
    "tx_id::text::bigint %% 4294967296 FROM auth.domain_event "
    "WHERE tenant_id = %s ORDER BY event_at, kind, aggregate_id, version"
)
ROW = "SELECT to_jsonb(t.*), xmin::text::bigint FROM auth.{table} AS t WHERE tenant_id = %s AND id = %s"
TABLES = {"Credential": "credentials", "Session": "sessions"}
KINDS = {table: kind for kind, table in TABLES.items()}

Connection = psycopg.Connection[tuple[object, ...]]


def events_of(superuser: Connection, tenant_id: UUID) -> list[tuple[Any, ...]]:
    return superuser.execute(EVENTS_OF_TENANT, (tenant_id,)).fetchall()


def assert_events(
    superuser: Connection,
    tenant_id: UUID,
    before: list[tuple[Any, ...]],
    response: httpx.Response,
    expected: list[tuple[str, str]],
) -> list[tuple[Any, ...]]:
    """The request wrote exactly ``expected`` ``(event_name, performed_by)``, each matching its row."""
    new = [e for e in events_of(superuser, tenant_id) if e not in before]
    described = f"{response.request.method} {response.request.url.path}"
    assert [(e[3], e[6]["performed_by"]) for e in new] == expected, described
    for kind, aggregate_id, version, _name, event_version, state, payload, tx_low in new:
        assert event_version == 1
        assert payload["request_id"] == response.headers["x-request-id"]
        row = superuser.execute(ROW.replace("{table}", TABLES[kind]), (tenant_id, aggregate_id)).fetchone()
        assert row is not None
        row_state, xmin = row
        if version == row_state["version"]:
            assert state == row_state, "the state must equal the whole row, version included"
        assert tx_low == xmin, "the event and the row must be written by one transaction"
    return new


def test_each_change_writes_exactly_one_matching_event(
    auth: httpx.Client,
    directory: httpx.Client,
    authenticators: Authenticators,
    superuser: Connection,
    new_tenant: Callable[[], TenantCaller],
) -> None:
    tenant = new_tenant()
    created = directory.post(
        "/v1/users",
        json={"username": "evented", "display_name": "E", "email": "e@x.example"},
        headers=tenant.admin,
    ).json()
    user_id = created["id"]

    def step(method: str, path: str, expected: list[tuple[str, str]], **kwargs: Any) -> httpx.Response:
        before = events_of(superuser, tenant.id)
        response = auth.request(method, path, **kwargs)
        assert response.status_code < 500, response.text
        assert_events(superuser, tenant.id, before, response, expected)
        return response

    admin = tenant.admin_user
    step(
        "PUT",
        f"/v1/users/{user_id}/password",
        [("CredentialSet", admin)],
        json={"password": "first pass phrase"},
        headers=tenant.admin,
    )
    step(
        "PUT",
        f"/v1/users/{user_id}/password",
        [("CredentialSet", admin)],
        json={"password": TEST_PASSWORD},
        headers=tenant.admin,
    )
    login_body = {"tenant_id": str(tenant.id), "username": "evented", "password": TEST_PASSWORD}
    enrolment = bearer(step("POST", "/v1/login", [], json=login_body).json()["enrolment_token"])
    secret = step(
        "POST", "/v1/me/second-factor", [("SecondFactorEnrolled", user_id)], headers=enrolment
    ).json()["secret"]
    step(
        "POST",
        "/v1/me/second-factor/confirmation",
        [("LoginFailed", "anonymous")],
        json={"code": totp.code_at_step(secret, totp.time_step() + 5)},
        headers=enrolment,
    )
    step(
        "POST",
        "/v1/me/second-factor/confirmation",
        [("SecondFactorConfirmed", user_id)],
        json={"code": authenticators.code(secret)},
        headers=enrolment,
    )
    started = step(
        "POST",
        "/v1/login",
        [("SessionStarted", user_id)],
        json={**login_body, "code": authenticators.code(secret)},
    )
    grant = started.json()
    assert (
        step(
            "POST",
            "/v1/login",
            [("LoginFailed", "anonymous")],
            json={**login_body, "password": "wrong wrong wrong"},
        ).status_code
        == 401
    )
    refreshed = step(
        "POST",
        "/v1/token/refresh",
        [("SessionRefreshed", user_id)],
        json={"refresh_token": grant["refresh_token"]},
    )
    step(
        "POST",
        "/v1/token/refresh",
        [("SessionRevoked", "auth-policy")],
        json={"refresh_token": grant["refresh_token"]},
    )
    access = bearer(refreshed.json()["access_token"])
    step(
        "PUT",
        "/v1/me/password",
        [("CredentialSet", user_id)],
        json={"current_password": TEST_PASSWORD, "new_password": "second pass phrase"},
        headers=access,
    )

    # Sessions of fresh users: each credential has three unspent codes at hand, no waiting.
    leaver = create_test_user(directory, auth, authenticators, tenant, "leaver")
    leaver_id = str(leaver.id)
    session = logged_in(auth, authenticators, leaver)
    step(
        "POST",
        "/v1/logout",
        [("SessionRevoked", leaver_id)],
        json={"refresh_token": session["refresh_token"]},
    )
    session = logged_in(auth, authenticators, leaver)
    step("DELETE", f"/v1/sessions/{session['session_id']}", [("SessionRevoked", admin)], headers=tenant.admin)
    traveller = create_test_user(directory, auth, authenticators, tenant, "traveller")
    first, _second = logged_in(auth, authenticators, traveller), logged_in(auth, authenticators, traveller)
    own = bearer(first["access_token"])
    step("DELETE", "/v1/me/sessions", [("SessionRevoked", str(traveller.id))] * 2, headers=own)
    logged_in(auth, authenticators, traveller)
    step("DELETE", f"/v1/users/{traveller.id}/sessions", [("SessionRevoked", admin)], headers=tenant.admin)
    step(
        "DELETE", f"/v1/users/{user_id}/second-factor", [("SecondFactorRemoved", admin)], headers=tenant.admin
    )


def test_the_locking_failure_writes_login_failed_then_credential_locked(
    auth: httpx.Client,
    directory: httpx.Client,
    authenticators: Authenticators,
    superuser: Connection,
    new_tenant: Callable[[], TenantCaller],
) -> None:
    tenant = new_tenant()
    user = create_test_user(directory, auth, authenticators, tenant, "locking")
    wrong = {"tenant_id": str(tenant.id), "username": user.username, "password": "not the password"}
    for _ in range(4):
        auth.post("/v1/login", json=wrong)
    before = events_of(superuser, tenant.id)
    response = auth.post("/v1/login", json=wrong)
    new = assert_events(
        superuser,
        tenant.id,
        before,
        response,
        [("LoginFailed", "anonymous"), ("CredentialLocked", "auth-policy")],
    )
    assert new[0][5]["failed_logins"] == 5 and new[0][5]["locked_until"] is None
    assert new[1][5]["failed_logins"] == 0 and new[1][5]["locked_until"] is not None
    assert new[0][6]["reason"] == "password" and new[0][6]["client_address"] == "127.0.0.1"
    before = events_of(superuser, tenant.id)
    assert auth.post("/v1/login", json=wrong).json()["error"] == "credential_locked"
    assert events_of(superuser, tenant.id) == before
    unlocked = auth.post(f"/v1/users/{user.id}/credential/unlock", headers=tenant.admin)
    assert_events(superuser, tenant.id, before, unlocked, [("CredentialUnlocked", tenant.admin_user)])


def test_refused_changes_write_no_event(
    auth: httpx.Client,
    directory: httpx.Client,
    authenticators: Authenticators,
    superuser: Connection,
    new_tenant: Callable[[], TenantCaller],
) -> None:
    tenant = new_tenant()
    user = create_test_user(directory, auth, authenticators, tenant, "refused")
    grant = logged_in(auth, authenticators, user)
    before = events_of(superuser, tenant.id)
    refused = [
        auth.put(f"/v1/users/{user.id}/password", json={"password": "short"}, headers=tenant.admin),
        auth.put(f"/v1/users/{user.id}/password", json={"password": TEST_PASSWORD}, headers=tenant.reader),
        auth.put(
            f"/v1/users/{user.id}/password",
            json={"password": TEST_PASSWORD},
            headers={**tenant.admin, "If-Match": '"99"'},
        ),
        auth.post(f"/v1/users/{user.id}/credential/unlock", headers=tenant.admin),
        auth.delete(f"/v1/sessions/{grant['session_id']}", headers={**tenant.admin, "If-Match": '"5"'}),
        auth.post("/v1/token/refresh", json={"refresh_token": "frt_" + "A" * 86}),
        auth.post("/v1/logout", json={"refresh_token": "frt_" + "A" * 86}),
        auth.post("/v1/login", json={"tenant_id": str(tenant.id), "username": "nobody", "password": "x"}),
        auth.post("/v1/me/second-factor", headers=bearer(grant["access_token"])),
    ]
    assert [r.status_code for r in refused] == [422, 403, 409, 409, 409, 401, 204, 401, 401]
    assert events_of(superuser, tenant.id) == before


def test_secrets_never_reach_an_event(superuser: Connection) -> None:
    """No password hash, TOTP secret or refresh token in any auth event (seeds and every test so far)."""
    leaked = superuser.execute(
        "SELECT e.kind, e.aggregate_id FROM auth.domain_event e "
        "JOIN auth.credential_secrets s ON s.tenant_id = e.tenant_id "
        "WHERE e.state::text LIKE '%$argon2%' OR e.payload::text LIKE '%$argon2%' "
        "OR e.state::text LIKE '%frt_%' OR e.payload::text LIKE '%frt_%' "
        "OR (s.totp_secret IS NOT NULL AND (e.state::text LIKE '%' || s.totp_secret || '%' "
        "OR e.payload::text LIKE '%' || s.totp_secret || '%'))"
    ).fetchall()
    assert leaked == []
    assert superuser.execute("SELECT count(*) FROM auth.domain_event").fetchone()[0] > 0  # type: ignore[index]


@pytest.mark.parametrize("table", sorted(TABLES.values()))
def test_every_row_matches_its_latest_event(superuser: Connection, table: str) -> None:
    """Across the whole shared database (seeds and every test so far): no row without its event."""
    mismatched = superuser.execute(
        "SELECT t.tenant_id, t.id FROM auth.{table} AS t "
        "LEFT JOIN LATERAL (SELECT e.state, e.version FROM auth.domain_event e "
        "WHERE e.tenant_id = t.tenant_id "
        "AND e.kind = %s AND e.aggregate_id = t.id ORDER BY e.version DESC LIMIT 1) AS latest ON true "
        "WHERE latest.version IS DISTINCT FROM t.version "
        "OR latest.state IS DISTINCT FROM to_jsonb(t.*)".replace("{table}", table),
        (KINDS[table],),
    ).fetchall()
    assert mismatched == []
