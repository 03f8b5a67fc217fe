"""Locust users for ``service_throughput.py``: one endpoint, as fast as it answers (no think time).

The endpoint comes from ``THROUGHPUT_ENDPOINT`` (``GET /healthz`` or a service's
hottest endpoint, listed in ``ENDPOINTS``), the service from ``THROUGHPUT_SERVICE``;
people sign in as in the load scenarios (``loadtests/sign_in.py``). A new
service's hottest endpoint is one more entry in ``ENDPOINTS``.
"""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Callable
from pathlib import Path

_REPOSITORY = str(Path(__file__).resolve().parent.parent)
if _REPOSITORY not in sys.path:
    sys.path.insert(0, _REPOSITORY)

from locust import constant, task  # noqa: E402

from loadtests.platform_user import PlatformUser  # noqa: E402
from loadtests.sign_in import Person, Session  # noqa: E402
from reference.directory.seed import SEED_USERS, seed_user_id  # noqa: E402
from reference.platform.seeding import TENANT_A  # noqa: E402

Request = Callable[[], object]


def health(user: PlatformUser) -> Request:
    """No database: the same app's liveness probe."""
    return lambda: user.call("GET", "/healthz")


def _reader(user: PlatformUser) -> Session:
    seeded = next(u for u in SEED_USERS[TENANT_A] if not u.roles)  # a user with no role: only reads
    person = Person(TENANT_A.id, seeded.username, str(seed_user_id(TENANT_A, seeded.username)), ())
    return Session(user, person)


def directory_user(user: PlatformUser) -> Request:
    """One user by id (from the tenant's first page), under RLS."""
    session = _reader(user)
    # Named apart, so that the setup does not count as the endpoint measured.
    page = user.client.get("/v1/users?limit=100", headers=session.headers, name="setup").json()
    ids = [item["id"] for item in page["items"]]
    return lambda: user.call(
        "GET", "/v1/users/{user_id}", headers=session.headers, user_id=random.choice(ids)
    )


def directory_list(user: PlatformUser) -> Request:
    """A page of 20 users ordered by username, under RLS."""
    session = _reader(user)
    return lambda: user.call("GET", "/v1/users", headers=session.headers, params={"limit": 20})


ENDPOINTS: dict[str, dict[str, Callable[[PlatformUser], Request]]] = {
    "directory": {
        "GET /healthz": health,
        "GET /v1/users/{user_id}": directory_user,
        "GET /v1/users": directory_list,
    },
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
