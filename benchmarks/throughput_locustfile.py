"""Locust users for ``service_throughput.py``: one endpoint, as fast as it answers (no think time).

The endpoint comes from ``THROUGHPUT_ENDPOINT`` (``GET /healthz`` or a service's
hottest endpoint, listed in ``ENDPOINTS``), the service from ``THROUGHPUT_SERVICE``.
Every user reads as the same seeded person with one access token: minted from
the installed key for directory, license and device (a token that verified
once is remembered by the verifier, as a client resending its token is), and
for auth the token of a real login (``THROUGHPUT_ACCESS_TOKEN``, made by the
benchmark), since introspection checks its session. A new service's hottest
endpoint is one more entry in ``ENDPOINTS``.
"""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

_REPOSITORY = str(Path(__file__).resolve().parent.parent)
if _REPOSITORY not in sys.path:
    sys.path.insert(0, _REPOSITORY)

from locust import constant, task  # noqa: E402

from loadtests.platform_user import PlatformUser  # noqa: E402
from loadtests.sign_in import Person, Session, token_from_installed_key  # noqa: E402
from reference.directory.seed import SEED_USERS, seed_user_id  # noqa: E402
from reference.license.seed import seed_license_id  # noqa: E402
from reference.platform.seeding import TENANT_A  # noqa: E402

Request = Callable[[], object]
ACCESS_TOKEN_VARIABLE = "THROUGHPUT_ACCESS_TOKEN"


def health(user: PlatformUser) -> Request:
    """No database: the same app's liveness probe."""
    return lambda: user.call("GET", "/healthz")


def _reader(user: PlatformUser) -> Session:
    seeded = next(u for u in SEED_USERS[TENANT_A] if not u.roles)  # a user with no role: only reads
    person = Person(TENANT_A.id, seeded.username, str(seed_user_id(TENANT_A, seeded.username)), ())
    return Session(user, person, sign_in=token_from_installed_key)


def _ids(user: PlatformUser, session: Session, path: str) -> list[str]:
    # Named apart, so that the setup does not count as the endpoint measured.
    page = user.client.get(f"{path}?limit=100", headers=session.headers, name="setup").json()
    return [item["id"] for item in page["items"]]


def directory_user(user: PlatformUser) -> Request:
    """One user by id (from the tenant's first page), under RLS."""
    session = _reader(user)
    ids = _ids(user, session, "/v1/users")
    return lambda: user.call(
        "GET", "/v1/users/{user_id}", headers=session.headers, user_id=random.choice(ids)
    )


def directory_list(user: PlatformUser) -> Request:
    """A page of 20 users ordered by username, under RLS."""
    session = _reader(user)
    return lambda: user.call("GET", "/v1/users", headers=session.headers, params={"limit": 20})


def license_read(user: PlatformUser) -> Request:
    """The tenant's seeded license with its count of assigned seats, under RLS."""
    session = _reader(user)
    license_id = str(seed_license_id(TENANT_A))
    return lambda: user.call(
        "GET", "/v1/licenses/{license_id}", headers=session.headers, license_id=license_id
    )


def device_read(user: PlatformUser) -> Request:
    """One device by id (from the tenant's first page), under RLS."""
    session = _reader(user)
    ids = _ids(user, session, "/v1/devices")
    return lambda: user.call(
        "GET", "/v1/devices/{device_id}", headers=session.headers, device_id=random.choice(ids)
    )


def introspection(user: PlatformUser) -> Request:
    """A logged-in user's access token introspected (by a resource server holding that token)."""
    token = os.environ[ACCESS_TOKEN_VARIABLE]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-www-form-urlencoded"}
    form = urlencode({"token": token})
    return lambda: user.call("POST", "/v1/token/introspect", headers=headers, data=form, check=_active)


def _active(body: object) -> str | None:
    return None if isinstance(body, dict) and body.get("active") is True else "not active"


ENDPOINTS: dict[str, dict[str, Callable[[PlatformUser], Request]]] = {
    "directory": {
        "GET /healthz": health,
        "GET /v1/users/{user_id}": directory_user,
        "GET /v1/users": directory_list,
    },
    "license": {"GET /healthz": health, "GET /v1/licenses/{license_id}": license_read},
    "device": {"GET /healthz": health, "GET /v1/devices/{device_id}": device_read},
    "auth": {"GET /healthz": health, "POST /v1/token/introspect": introspection},
}


class EndpointUnderLoad(PlatformUser):
    service = os.environ.get("THROUGHPUT_SERVICE", "directory")
    wait_time = constant(0)

    def on_start(self) -> None:
        endpoint = os.environ.get("THROUGHPUT_ENDPOINT", "GET /healthz")
        self.request = ENDPOINTS[self.service][endpoint](self)

    @task
    def hit(self) -> None:
        self.request()
