"""Two concurrent updates of one aggregate: one wins, the other gets 409; no event is lost."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpx
import psycopg

from tests.reference.conftest import TenantCaller
from tests.reference.test_directory_api import create_user

VERSIONS = (
    "SELECT array_agg(version ORDER BY version) FROM directory.domain_event "
    "WHERE tenant_id = %s AND kind = 'User' AND aggregate_id = %s"
)
ROW = "SELECT username, version FROM directory.users WHERE tenant_id = %s AND id = %s"


def at_once(requests: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    barrier = threading.Barrier(len(requests))
    responses: list[Any] = [None] * len(requests)

    def run(index: int) -> None:
        barrier.wait()
        responses[index] = requests[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return responses


def test_concurrent_renames_of_one_version(
    platform_services: Any,
    superuser: psycopg.Connection[tuple[object, ...]],
    new_tenant: Callable[[], TenantCaller],
) -> None:
    tenant = new_tenant()
    url = platform_services("directory").url
    with httpx.Client(base_url=url) as setup:
        user = create_user(setup, tenant, "contended")
    clients = [httpx.Client(base_url=url, timeout=30) for _ in range(2)]
    try:
        responses = at_once(
            [
                lambda c=client, n=name: c.put(  # type: ignore[misc]
                    f"/v1/users/{user['id']}/username",
                    json={"username": n},
                    headers={**tenant.admin, "If-Match": '"1"'},
                )
                for client, name in zip(clients, ("first-name", "second-name"), strict=True)
            ]
        )
    finally:
        for client in clients:
            client.close()
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 409]
    winner = next(r for r in responses if r.status_code == 200).json()
    loser = next(r for r in responses if r.status_code == 409).json()
    assert loser["error"] == "version_conflict"
    assert superuser.execute(VERSIONS, (tenant.id, user["id"])).fetchone() == ([1, 2],)
    assert superuser.execute(ROW, (tenant.id, user["id"])).fetchone() == (winner["username"], 2)


def test_many_concurrent_changes_lose_no_event(
    platform_services: Any,
    superuser: psycopg.Connection[tuple[object, ...]],
    new_tenant: Callable[[], TenantCaller],
) -> None:
    """Without If-Match each request reads the version itself; whatever interleaves, versions stay 1..n."""
    tenant = new_tenant()
    url = platform_services("directory").url
    with httpx.Client(base_url=url) as setup:
        user = create_user(setup, tenant, "busy")
    clients = [httpx.Client(base_url=url, timeout=30) for _ in range(6)]
    try:
        responses = at_once(
            [
                lambda c=client, i=index: c.put(  # type: ignore[misc]
                    f"/v1/users/{user['id']}/username", json={"username": f"name-{i}"}, headers=tenant.admin
                )
                for index, client in enumerate(clients)
            ]
        )
    finally:
        for client in clients:
            client.close()
    assert {r.status_code for r in responses} <= {200, 409}
    succeeded = sum(r.status_code == 200 for r in responses)
    assert succeeded >= 1
    versions = superuser.execute(VERSIONS, (tenant.id, user["id"])).fetchone()
    assert versions == (list(range(1, succeeded + 2)),)
    row = superuser.execute(ROW, (tenant.id, user["id"])).fetchone()
    assert row is not None and row[1] == succeeded + 1
