"""Concurrent changes of one auth aggregate: one wins, the other gets 409; no event is lost.

And the lockout cannot be raced: parallel wrong passwords against one
credential are counted one by one (the login locks the credential row), so
exactly the threshold's worth of LoginFailed events is written, then the lock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import psycopg

from tests.reference.auth_flows import Authenticators, create_test_user, logged_in
from tests.reference.conftest import TenantCaller
from tests.reference.test_directory_concurrency import at_once

EVENTS = (
    "SELECT array_agg(event_name ORDER BY version), array_agg(version ORDER BY version) "
    "FROM auth.domain_event WHERE tenant_id = %s AND kind = %s AND aggregate_id = %s"
)

Connection = psycopg.Connection[tuple[object, ...]]


def clients(url: str, count: int) -> list[httpx.Client]:
    return [httpx.Client(base_url=url, timeout=60) for _ in range(count)]


def test_concurrent_revocations_of_one_session(
    auth: httpx.Client,
    directory: httpx.Client,
    authenticators: Authenticators,
    superuser: Connection,
    new_tenant: Callable[[], TenantCaller],
) -> None:
    tenant = new_tenant()
    user = create_test_user(directory, auth, authenticators, tenant, "contended")
    session = logged_in(auth, authenticators, user)
    racers = clients(str(auth.base_url), 2)
    try:
        responses = at_once(
            [
                lambda c=client: c.delete(  # type: ignore[misc]
                    f"/v1/sessions/{session['session_id']}", headers={**tenant.admin, "If-Match": '"1"'}
                )
                for client in racers
            ]
        )
    finally:
        for client in racers:
            client.close()
    assert sorted(r.status_code for r in responses) == [200, 409]
    assert next(r for r in responses if r.status_code == 409).json()["error"] == "version_conflict"
    events = superuser.execute(EVENTS, (tenant.id, "Session", session["session_id"])).fetchone()
    assert events == (["SessionStarted", "SessionRevoked"], [1, 2])


def test_concurrent_refreshes_with_one_token(
    auth: httpx.Client,
    directory: httpx.Client,
    authenticators: Authenticators,
    superuser: Connection,
    new_tenant: Callable[[], TenantCaller],
) -> None:
    """One rotates; the other loses the race (409) or, arriving after it, replays a spent token (401)."""
    tenant = new_tenant()
    user = create_test_user(directory, auth, authenticators, tenant, "twotabs")
    session = logged_in(auth, authenticators, user)
    racers = clients(str(auth.base_url), 2)
    try:
        responses = at_once(
            [
                lambda c=client: c.post(  # type: ignore[misc]
                    "/v1/token/refresh", json={"refresh_token": session["refresh_token"]}
                )
                for client in racers
            ]
        )
    finally:
        for client in racers:
            client.close()
    statuses = sorted(r.status_code for r in responses)
    names, versions = superuser.execute(EVENTS, (tenant.id, "Session", session["session_id"])).fetchone()  # type: ignore[misc]
    assert versions == list(range(1, len(versions) + 1))
    if statuses == [200, 409]:
        assert names == ["SessionStarted", "SessionRefreshed"]
    else:
        assert statuses == [200, 401]
        assert names == ["SessionStarted", "SessionRefreshed", "SessionRevoked"]


def test_concurrent_password_changes(
    auth: httpx.Client,
    directory: httpx.Client,
    authenticators: Authenticators,
    superuser: Connection,
    new_tenant: Callable[[], TenantCaller],
) -> None:
    tenant = new_tenant()
    user = create_test_user(directory, auth, authenticators, tenant, "twoadmins")
    version = auth.get(f"/v1/users/{user.id}/credential", headers=tenant.admin).json()["version"]
    racers = clients(str(auth.base_url), 2)
    try:
        responses = at_once(
            [
                lambda c=client, p=phrase: c.put(  # type: ignore[misc]
                    f"/v1/users/{user.id}/password",
                    json={"password": p},
                    headers={**tenant.admin, "If-Match": f'"{version}"'},
                )
                for client, phrase in zip(racers, ("first new phrase", "second new phrase"), strict=True)
            ]
        )
    finally:
        for client in racers:
            client.close()
    assert sorted(r.status_code for r in responses) == [200, 409]
    names, versions = superuser.execute(EVENTS, (tenant.id, "Credential", user.id)).fetchone()  # type: ignore[misc]
    assert versions == list(range(1, version + 2)) and names[-1] == "CredentialSet"


def test_parallel_guesses_cannot_outrun_the_lockout(
    auth: httpx.Client,
    directory: httpx.Client,
    authenticators: Authenticators,
    superuser: Connection,
    new_tenant: Callable[[], TenantCaller],
) -> None:
    tenant = new_tenant()
    user = create_test_user(directory, auth, authenticators, tenant, "bruteforced")
    version = auth.get(f"/v1/users/{user.id}/credential", headers=tenant.admin).json()["version"]
    guesses = [f"guess number {i} here" for i in range(8)]
    racers = clients(str(auth.base_url), len(guesses))
    body: dict[str, Any] = {"tenant_id": str(tenant.id), "username": user.username}
    try:
        responses = at_once(
            [
                lambda c=client, g=guess: c.post("/v1/login", json={**body, "password": g})  # type: ignore[misc]
                for client, guess in zip(racers, guesses, strict=True)
            ]
        )
    finally:
        for client in racers:
            client.close()
    errors = sorted(r.json()["error"] for r in responses)
    assert errors == ["credential_locked"] * 3 + ["unauthenticated"] * 5
    names, versions = superuser.execute(EVENTS, (tenant.id, "Credential", user.id)).fetchone()  # type: ignore[misc]
    assert names[version:] == ["LoginFailed"] * 5 + ["CredentialLocked"]
    assert versions == list(range(1, len(versions) + 1))
    assert (
        auth.get(f"/v1/users/{user.id}/credential", headers=tenant.admin).json()["locked_until"] is not None
    )
    refused = auth.post(
        "/v1/login", json={**body, "password": user.password, "code": authenticators.code(user.secret)}
    )
    assert refused.json()["error"] == "credential_locked"
