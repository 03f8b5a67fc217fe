"""Logging in through auth's API in tests: TOTP codes that are never replayed, and ready-made users.

Auth accepts a TOTP code only for a time step later than the last one the
credential used, so :class:`Authenticators` hands out, per secret, the code of
the next unused step within the accepted drift (the previous, current or next
30-second step), waiting for a later step only when all three are spent.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

import httpx

from reference.platform import totp
from reference.platform.seeding import SeedCredential

if TYPE_CHECKING:
    from tests.reference.conftest import TenantCaller

TEST_PASSWORD = "tall-cedar-window-seven"


class Authenticators:
    """The authenticator apps of every test user: the next usable code of each secret."""

    def __init__(self) -> None:
        self._last_step: dict[str, int] = {}
        self._lock = threading.Lock()

    def code(self, secret: str) -> str:
        with self._lock:
            while True:
                current = totp.time_step()
                step = max(self._last_step.get(secret, current - 2) + 1, current - 1)
                if step <= current + 1:
                    self._last_step[secret] = step
                    return totp.code_at_step(secret, step)
                time.sleep(max(0.05, (step - 1) * totp.STEP_S - time.time()))

    def spend(self, secret: str, code: str) -> None:
        """Record that ``code`` was used elsewhere (e.g. to confirm an enrolment)."""
        step = totp.matching_step(secret, code, drift_steps=1)
        if step is not None:
            with self._lock:
                self._last_step[secret] = max(self._last_step.get(secret, step), step)


@dataclass(frozen=True)
class LoginUser:
    """A user with a password and a confirmed TOTP factor."""

    tenant_id: UUID
    id: UUID
    username: str
    password: str
    secret: str


def login(
    auth: httpx.Client, authenticators: Authenticators, user: LoginUser | SeedCredential, **headers: str
) -> httpx.Response:
    tenant_id = user.tenant_id if isinstance(user, LoginUser) else user.tenant.id
    secret = user.secret if isinstance(user, LoginUser) else user.totp_secret
    body = {
        "tenant_id": str(tenant_id),
        "username": user.username,
        "password": user.password,
        "code": authenticators.code(secret),
    }
    return auth.post("/v1/login", json=body, headers=headers)


def logged_in(
    auth: httpx.Client, authenticators: Authenticators, user: LoginUser | SeedCredential
) -> dict[str, Any]:
    response = login(auth, authenticators, user)
    assert response.status_code == 200, response.text
    body = dict(response.json())
    assert body["status"] == "authenticated"
    return body


def create_test_user(
    directory: httpx.Client,
    auth: httpx.Client,
    authenticators: Authenticators,
    tenant: TenantCaller,
    username: str,
    roles: tuple[str, ...] = (),
) -> LoginUser:
    """A directory user with a password set by the tenant admin and an enrolled, confirmed TOTP factor."""
    created = directory.post(
        "/v1/users",
        json={"username": username, "display_name": username.title(), "email": f"{username}@x.example"},
        headers=tenant.admin,
    )
    assert created.status_code == 201, created.text
    user_id = UUID(created.json()["id"])
    for role in roles:
        found = directory.get("/v1/roles", headers=tenant.admin).json()["items"]
        role_id = next((r["id"] for r in found if r["name"] == role), None)
        if role_id is None:
            role_id = directory.post("/v1/roles", json={"name": role}, headers=tenant.admin).json()["id"]
        assigned = directory.post(
            f"/v1/users/{user_id}/roles", json={"role_id": role_id}, headers=tenant.admin
        )
        assert assigned.status_code == 201, assigned.text
    response = auth.put(
        f"/v1/users/{user_id}/password", json={"password": TEST_PASSWORD}, headers=tenant.admin
    )
    assert response.status_code == 201, response.text
    secret = enrol(auth, authenticators, tenant.id, username, TEST_PASSWORD)
    return LoginUser(tenant.id, user_id, username, TEST_PASSWORD, secret)


def enrol(
    auth: httpx.Client, authenticators: Authenticators, tenant_id: UUID, username: str, password: str
) -> str:
    """Log in without a factor, enrol one and confirm it; returns the TOTP secret."""
    first = auth.post(
        "/v1/login", json={"tenant_id": str(tenant_id), "username": username, "password": password}
    )
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "second_factor_enrolment_required"
    enrolment = {"Authorization": f"Bearer {first.json()['enrolment_token']}"}
    enrolled = auth.post("/v1/me/second-factor", headers=enrolment)
    assert enrolled.status_code == 201, enrolled.text
    secret = str(enrolled.json()["secret"])
    confirmed = auth.post(
        "/v1/me/second-factor/confirmation", json={"code": authenticators.code(secret)}, headers=enrolment
    )
    assert confirmed.status_code == 200, confirmed.text
    return secret
