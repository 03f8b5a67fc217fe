"""Concurrent changes: seats are never oversubscribed, one of two racing updates gets 409, no event is lost.

Over HTTP, many requests race for the last seats of a license; under the hood, a
second assignment provably waits for the first one's license lock and then sees
its seat (the deterministic interleaving test, on two database connections).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from uuid import UUID

import httpx
import psycopg
import pytest

from fitness.database import with_user
from reference.license.model import Licensing, SeatsExhausted, TransactionBehind, in_license_order
from reference.platform.event_store import Actor
from reference.platform.pool import SESSION_OPTIONS, create_pool
from reference.platform.settings import Settings
from reference.platform.tenancy import tenant_scope
from tests.reference.conftest import TenantCaller, Tokens
from tests.reference.test_directory_concurrency import at_once
from tests.reference.test_license_api import assign, grant, operator, users

Connection = psycopg.Connection[tuple[object, ...]]
ASSIGNED = (
    "SELECT count(*) FROM license.seat_assignments "
    "WHERE tenant_id = %s AND license_id = %s AND status = 'assigned'"
)
SEAT_EVENTS = (
    "SELECT count(*) FILTER (WHERE e.event_name = 'SeatAssigned'), "
    "count(*) FILTER (WHERE e.event_name = 'SeatReleased') "
    "FROM license.domain_event e JOIN license.seat_assignments s "
    "ON s.tenant_id = e.tenant_id AND s.id = e.aggregate_id "
    "WHERE e.tenant_id = %s AND e.kind = 'SeatAssignment' AND s.license_id = %s"
)
LICENSE_VERSIONS = (
    "SELECT array_agg(version ORDER BY version) FROM license.domain_event "
    "WHERE tenant_id = %s AND kind = 'License' AND aggregate_id = %s"
)
# The backend of a session waiting for a lock held by another one.
WAITING_FOR_A_LOCK = "SELECT count(*) FROM pg_stat_activity WHERE pid = %s AND wait_event_type = 'Lock'"


def race(url: str, requests: list[Callable[[httpx.Client], httpx.Response]]) -> list[httpx.Response]:
    """Send every request at once, each on its own connection."""
    clients = [httpx.Client(base_url=url, timeout=30) for _ in requests]
    try:
        return at_once(
            [lambda c=client, r=request: r(c) for client, request in zip(clients, requests, strict=True)]
        )  # type: ignore[misc]
    finally:
        for client in clients:
            client.close()


@pytest.mark.parametrize(("seats", "already", "contenders"), [(3, 2, 8), (4, 0, 10)])
def test_concurrent_assignments_never_oversubscribe(
    platform_services: Any,
    directory: httpx.Client,
    licenses: httpx.Client,
    tokens: Tokens,
    superuser: Connection,
    new_tenant: Callable[[], TenantCaller],
    seats: int,
    already: int,
    contenders: int,
) -> None:
    tenant = new_tenant()
    people = users(directory, tenant, *(f"user-{i}" for i in range(already + contenders)))
    license = grant(licenses, tokens, tenant, seats=seats)
    for user in people[:already]:
        assign(licenses, tenant, license["id"], user)
    path = f"/v1/licenses/{license['id']}/seats"
    responses = race(
        platform_services("license").url,
        [
            lambda c, u=user: c.post(path, json={"user_id": u}, headers=tenant.admin)  # type: ignore[misc]
            for user in people[already:]
        ],
    )
    free = seats - already
    assert sorted(r.status_code for r in responses) == [201] * free + [409] * (contenders - free)
    assert {r.json()["error"] for r in responses if r.status_code == 409} == {"seats_exhausted"}
    assert superuser.execute(ASSIGNED, (tenant.id, license["id"])).fetchone() == (seats,)
    assert superuser.execute(SEAT_EVENTS, (tenant.id, license["id"])).fetchone() == (seats, 0)


def test_one_user_racing_for_two_seats_gets_one(
    platform_services: Any,
    directory: httpx.Client,
    licenses: httpx.Client,
    tokens: Tokens,
    superuser: Connection,
    new_tenant: Callable[[], TenantCaller],
) -> None:
    tenant = new_tenant()
    (user,) = users(directory, tenant, "eager")
    license = grant(licenses, tokens, tenant, seats=5)
    path = f"/v1/licenses/{license['id']}/seats"
    responses = race(
        platform_services("license").url,
        [lambda c: c.post(path, json={"user_id": user}, headers=tenant.admin) for _ in range(4)],
    )
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409]
    assert {r.json()["error"] for r in responses if r.status_code == 409} == {"seat_already_held"}
    assert superuser.execute(ASSIGNED, (tenant.id, license["id"])).fetchone() == (1,)


def test_concurrent_seat_count_changes_of_one_version(
    platform_services: Any,
    licenses: httpx.Client,
    tokens: Tokens,
    superuser: Connection,
    new_tenant: Callable[[], TenantCaller],
) -> None:
    tenant = new_tenant()
    license = grant(licenses, tokens, tenant, seats=3)
    path = f"/v1/licenses/{license['id']}/seat-count"
    headers = {**operator(tokens, tenant.id), "If-Match": '"1"'}
    responses = race(
        platform_services("license").url,
        [lambda c, n=n: c.put(path, json={"seats": n}, headers=headers) for n in (7, 9)],  # type: ignore[misc]
    )
    assert sorted(r.status_code for r in responses) == [200, 409]
    winner = next(r for r in responses if r.status_code == 200).json()
    assert next(r for r in responses if r.status_code == 409).json()["error"] == "version_conflict"
    assert superuser.execute(LICENSE_VERSIONS, (tenant.id, license["id"])).fetchone() == ([1, 2],)
    row = superuser.execute(
        "SELECT seats, version FROM license.licenses WHERE tenant_id = %s AND id = %s",
        (tenant.id, license["id"]),
    ).fetchone()
    assert row == (winner["seats"], 2)


def test_concurrent_releases_of_one_seat(
    platform_services: Any,
    directory: httpx.Client,
    licenses: httpx.Client,
    tokens: Tokens,
    superuser: Connection,
    new_tenant: Callable[[], TenantCaller],
) -> None:
    tenant = new_tenant()
    (user,) = users(directory, tenant, "leaving")
    license = grant(licenses, tokens, tenant, seats=2)
    seat = assign(licenses, tenant, license["id"], user)
    path = f"/v1/licenses/{license['id']}/seats/{seat['id']}"
    responses = race(platform_services("license").url, [lambda c: c.delete(path, headers=tenant.admin)] * 3)
    assert sorted(r.status_code for r in responses) == [200, 409, 409]
    assert superuser.execute(SEAT_EVENTS, (tenant.id, license["id"])).fetchone() == (1, 1)


def test_revoking_while_seats_are_assigned_leaves_no_seat_held(
    platform_services: Any,
    directory: httpx.Client,
    licenses: httpx.Client,
    tokens: Tokens,
    superuser: Connection,
    new_tenant: Callable[[], TenantCaller],
) -> None:
    tenant = new_tenant()
    people = users(directory, tenant, *(f"member-{i}" for i in range(6)))
    license = grant(licenses, tokens, tenant, seats=10)
    path = f"/v1/licenses/{license['id']}"
    requests: list[Callable[[httpx.Client], httpx.Response]] = [
        lambda c, u=user: c.post(f"{path}/seats", json={"user_id": u}, headers=tenant.admin)  # type: ignore[misc]
        for user in people
    ]
    requests.insert(3, lambda c: c.post(f"{path}/revoke", headers=operator(tokens, tenant.id)))
    responses = race(platform_services("license").url, requests)
    assert responses[3].status_code == 200
    assigned = [r for r in responses if r.status_code == 201]
    refused = [r for r in responses if r.status_code == 409]
    assert len(assigned) + len(refused) == len(people)
    assert {r.json()["error"] for r in refused} <= {"license_revoked"}
    assert superuser.execute(ASSIGNED, (tenant.id, license["id"])).fetchone() == (0,)
    assert superuser.execute(SEAT_EVENTS, (tenant.id, license["id"])).fetchone() == (len(assigned),) * 2


def test_the_second_assignment_waits_for_the_first_and_sees_its_seat(
    platform_database: str,
    directory: httpx.Client,
    licenses: httpx.Client,
    tokens: Tokens,
    new_tenant: Callable[[], TenantCaller],
) -> None:
    """Deterministic interleaving: the license row lock, not luck, keeps the last seat single."""
    tenant = new_tenant()
    first_user, second_user = (UUID(u) for u in users(directory, tenant, "first", "second"))
    license_id = UUID(grant(licenses, tokens, tenant, seats=1)["id"])
    url = with_user(platform_database, "license_service")
    licensing = Licensing()
    actor = Actor("concurrency-test")

    async def scenario() -> None:
        first = await psycopg.AsyncConnection.connect(url, autocommit=True, options=SESSION_OPTIONS)
        second = await psycopg.AsyncConnection.connect(url, autocommit=True, options=SESSION_OPTIONS)
        observer = await psycopg.AsyncConnection.connect(platform_database, autocommit=True)
        async with first, second, observer:

            async def assign_second() -> Exception | None:
                try:
                    async with tenant_scope(second, tenant.id) as tx:
                        await licensing.assign_seat(tx, license_id, second_user, actor)
                except SeatsExhausted as refused:
                    return refused
                return None

            async with tenant_scope(first, tenant.id) as tx:
                await licensing.assign_seat(tx, license_id, first_user, actor)
                waiting = asyncio.create_task(assign_second())
                # The second transaction must be blocked on the license lock the first holds.
                for _ in range(200):
                    cursor = await observer.execute(WAITING_FOR_A_LOCK, (second.info.backend_pid,))
                    if (await cursor.fetchone()) == (1,):
                        break
                    await asyncio.sleep(0.01)
                else:
                    pytest.fail("the second assignment did not wait for the first one's license lock")
                assert not waiting.done()
            # The first commits here; only now can the second go on, and it finds no seat left.
            outcome = await asyncio.wait_for(waiting, timeout=10)
            assert isinstance(outcome, SeatsExhausted), outcome

    asyncio.run(scenario())


def test_a_change_that_began_before_a_competitor_is_run_again(
    platform_database: str,
    directory: httpx.Client,
    licenses: httpx.Client,
    tokens: Tokens,
    superuser: Connection,
    new_tenant: Callable[[], TenantCaller],
) -> None:
    """A transaction that began before another one's seat change must not date its events earlier.

    The first transaction begins, the second assigns the last seat and commits, then the first
    tries to assign too: it is behind (its events would be dated before the seat it saw taken),
    so it gives up; run by :func:`in_license_order`, a new transaction finds the seats exhausted.
    """
    tenant = new_tenant()
    early, late = (UUID(u) for u in users(directory, tenant, "early", "late"))
    license_id = UUID(grant(licenses, tokens, tenant, seats=1)["id"])
    url = with_user(platform_database, "license_service")
    licensing = Licensing()
    actor = Actor("concurrency-test")

    async def scenario() -> None:
        first = await psycopg.AsyncConnection.connect(url, autocommit=True, options=SESSION_OPTIONS)
        second = await psycopg.AsyncConnection.connect(url, autocommit=True, options=SESSION_OPTIONS)
        async with first, second:
            with pytest.raises(TransactionBehind):
                async with tenant_scope(first, tenant.id) as behind:
                    async with tenant_scope(second, tenant.id) as ahead:
                        await licensing.assign_seat(ahead, license_id, late, actor)
                    await licensing.assign_seat(behind, license_id, early, actor)
        pool = create_pool(Settings(service="license", role="license_service", database_url=url))
        await pool.open(wait=True)
        try:
            with pytest.raises(SeatsExhausted):
                await in_license_order(
                    pool, tenant.id, lambda tx: licensing.assign_seat(tx, license_id, early, actor)
                )
        finally:
            await pool.close()

    asyncio.run(scenario())
    assert superuser.execute(ASSIGNED, (tenant.id, license_id)).fetchone() == (1,)
