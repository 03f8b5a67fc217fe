"""The kernel against real PostgreSQL: tenant transactions, the event store, optimistic concurrency."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

from fitness.database import with_user
from reference.platform.aggregates import AggregateTable
from reference.platform.errors import EventSchemaViolation, UnregisteredEvent, VersionConflict
from reference.platform.event_store import Actor, EventStore
from reference.platform.pool import Pool
from reference.platform.seeding import TENANT_A, TENANT_B
from reference.platform.tenancy import global_transaction, tenant_scope, tenant_transaction
from tests.reference.service_pool import run_with_pool

ACTOR = Actor("kernel-test", "req-1")
COUNT_USERS = "SELECT count(*) FROM directory.users"
CURRENT_TENANT = "SELECT current_setting('app.tenant_id', true)"


def run(test: Callable[[Pool], Awaitable[None]], database_url: str, pool_size: int = 1) -> None:
    """Run ``test`` with a pool of directory_service connections to ``database_url``."""
    run_with_pool(test, database_url, "directory", pool_size)


def users_table() -> AggregateTable:
    return AggregateTable(
        EventStore("directory"), "users", "User", unique_fields={"users_username_unique": "username"}
    )


def new_user(name: str) -> dict[str, Any]:
    return {"username": name, "display_name": name, "email": f"{name}@x.example", "status": "active"}


def test_the_tenant_is_transaction_local(fitgate_installed_database: str) -> None:
    async def check(pool: Pool) -> None:
        async with tenant_transaction(pool, TENANT_A.id) as tx:
            assert await (await tx.connection.execute(CURRENT_TENANT)).fetchone() == (str(TENANT_A.id),)
            assert (await (await tx.connection.execute(COUNT_USERS)).fetchone()) == (3,)
        async with pool.connection() as connection:  # the same (only) connection, back from the pool
            assert (await (await connection.execute(CURRENT_TENANT)).fetchone())[0] in ("", None)  # type: ignore[index]
            assert await (await connection.execute(COUNT_USERS)).fetchone() == (0,)
        async with global_transaction(pool) as connection:
            assert await (await connection.execute(COUNT_USERS)).fetchone() == (0,)
        async with tenant_transaction(pool, TENANT_B.id) as tx:
            assert await (await tx.connection.execute(COUNT_USERS)).fetchone() == (2,)

    run(check, fitgate_installed_database)


def test_an_error_rolls_the_change_and_its_event_back(fitgate_installed_database: str) -> None:
    users = users_table()

    async def check(pool: Pool) -> None:
        with pytest.raises(RuntimeError):
            async with tenant_transaction(pool, TENANT_A.id) as tx:
                await users.create(
                    tx,
                    new_user("rolled-back"),
                    event_name="UserCreated",
                    actor=ACTOR,
                    details=_created("rolled-back"),
                )
                raise RuntimeError("after the write")
        async with tenant_transaction(pool, TENANT_A.id) as tx:
            cursor = await tx.connection.execute(
                "SELECT count(*) FROM directory.users WHERE username = 'rolled-back'"
            )
            assert await cursor.fetchone() == (0,)
            cursor = await tx.connection.execute(
                "SELECT count(*) FROM directory.domain_event WHERE payload->>'username' = 'rolled-back'"
            )
            assert await cursor.fetchone() == (0,)

    run(check, fitgate_installed_database)


def _created(name: str) -> dict[str, str]:
    return {"username": name, "display_name": name, "email": f"{name}@x.example"}


@pytest.mark.parametrize(
    ("event_name", "details", "error"),
    [
        ("UserInvented", _created("a-user"), UnregisteredEvent),  # not in the catalogue
        ("RoleCreated", _created("a-user"), UnregisteredEvent),  # registered, but for another kind
        ("UserCreated", {**_created("a-user"), "shoe_size": 44}, EventSchemaViolation),  # payload schema
        ("UserDeactivated", {}, EventSchemaViolation),  # state schema: a new user is not deactivated
    ],
    ids=["unregistered", "wrong-kind", "payload-schema", "state-schema"],
)
def test_the_writer_refuses_what_the_catalogue_does_not_allow(
    fitgate_installed_database: str, event_name: str, details: dict[str, Any], error: type[Exception]
) -> None:
    users = users_table()

    async def check(pool: Pool) -> None:
        with pytest.raises(error):
            async with tenant_transaction(pool, TENANT_A.id) as tx:
                await users.create(
                    tx, new_user("a-user"), event_name=event_name, actor=ACTOR, details=details
                )
        async with tenant_transaction(pool, TENANT_A.id) as tx:
            cursor = await tx.connection.execute(
                "SELECT count(*) FROM directory.users WHERE username = 'a-user'"
            )
            assert await cursor.fetchone() == (0,)

    run(check, fitgate_installed_database)


def test_the_database_refuses_unregistered_events_too(fitgate_installed_database: str) -> None:
    with psycopg.connect(with_user(fitgate_installed_database, "directory_service")) as connection:
        connection.execute("SELECT set_config('app.tenant_id', %s, true)", (str(TENANT_A.id),))
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            connection.execute(
                "INSERT INTO directory.domain_event (tenant_id, kind, aggregate_id, version, event_name, "
                "event_version, state, payload) VALUES (%s, 'User', %s, 1, 'UserInvented', 1, '{}', "
                '\'{"performed_by": "x"}\')',
                (TENANT_A.id, uuid4()),
            )


def test_events_are_append_only_for_the_service(fitgate_installed_database: str) -> None:
    with psycopg.connect(with_user(fitgate_installed_database, "directory_service")) as connection:
        for statement in (
            "UPDATE directory.domain_event SET payload = '{}'",
            "DELETE FROM directory.domain_event",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                connection.execute(statement)
            connection.rollback()


def test_a_concurrent_update_gets_a_version_conflict(fitgate_installed_database: str) -> None:
    """T1 updates and holds its transaction; T2's update of the same version waits, then conflicts."""
    users = users_table()

    async def check(pool: Pool) -> None:
        async with tenant_transaction(pool, TENANT_A.id) as tx:
            user = (
                await users.create(
                    tx, new_user("raced"), event_name="UserCreated", actor=ACTOR, details=_created("raced")
                )
            ).state
        user_id = UUID(user["id"])
        first_done = asyncio.Event()

        async def rename(tx_name: str, hold: bool) -> Any:
            async with tenant_transaction(pool, TENANT_A.id) as tx:
                change = await users.update(
                    tx,
                    user_id,
                    {"username": tx_name},
                    expected_version=1,
                    event_name="UsernameUpdated",
                    actor=ACTOR,
                    details={"old_username": "raced", "new_username": tx_name},
                )
                if hold:
                    await _until_blocked(pool)
                return change

        first = asyncio.create_task(rename("winner", hold=True))
        await asyncio.sleep(0.05)
        second = asyncio.create_task(_expect_conflict(rename("loser", hold=False), first_done))
        winner = await first
        first_done.set()
        assert winner.version == 2
        assert await second
        async with tenant_transaction(pool, TENANT_A.id) as tx:
            history = await users.store.history(tx, "User", user_id)
        assert [(e.event_name, e.version, e.state["username"]) for e in history] == [
            ("UserCreated", 1, "raced"),
            ("UsernameUpdated", 2, "winner"),
        ]

    run(check, fitgate_installed_database, pool_size=3)


async def _until_blocked(pool: Pool) -> None:
    """Wait until another backend is blocked on a lock (the second update waits for this transaction)."""
    async with pool.connection() as connection:
        for _ in range(200):
            cursor = await connection.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            if (await cursor.fetchone()) != (0,):
                return
            await asyncio.sleep(0.01)
    raise AssertionError("the second update never waited for the first")


async def _expect_conflict(update: Awaitable[Any], first_done: asyncio.Event) -> bool:
    try:
        await update
    except VersionConflict as conflict:
        assert first_done.is_set(), "the conflict must come after the first transaction committed"
        assert conflict.current_version == 2
        return True
    return False


@pytest.fixture
def user_created_v2(fitgate_installed_database: str) -> str:
    """A database where UserCreated has a version 2 and v1 events are upcast by a SQL function."""
    with psycopg.connect(fitgate_installed_database, autocommit=True) as connection, connection.transaction():
        connection.execute("SET LOCAL ROLE directory_owner")
        connection.execute(
            "CREATE FUNCTION directory.user_created_v1_to_v2(payload jsonb, state jsonb, "
            "OUT payload jsonb, OUT state jsonb) LANGUAGE sql IMMUTABLE "
            'AS $$ SELECT $1 || \'{"source": "before-v2"}\', $2 $$'
        )
        connection.execute(
            "GRANT EXECUTE ON FUNCTION directory.user_created_v1_to_v2(jsonb, jsonb) TO directory_service"
        )
        connection.execute(
            "INSERT INTO directory.event_types SELECT event_name, 2, kind, "
            "jsonb_set(payload_schema, '{properties,source}', '{\"type\": \"string\"}'), state_schema, NULL "
            "FROM directory.event_types WHERE event_name = 'UserCreated' AND event_version = 1"
        )
        connection.execute(
            "UPDATE directory.event_types SET upcaster = 'user_created_v1_to_v2' "
            "WHERE event_name = 'UserCreated' AND event_version = 1"
        )
    return fitgate_installed_database


def test_old_event_versions_are_upcast_on_read(user_created_v2: str) -> None:
    store = EventStore("directory")

    async def check(pool: Pool) -> None:
        async with tenant_transaction(pool, TENANT_A.id) as tx:
            cursor = await tx.connection.execute("SELECT id FROM directory.users WHERE username = 'alice'")
            alice = (await cursor.fetchone())[0]  # type: ignore[index]
            history = await store.history(tx, "User", alice)
        assert history[0].event_name == "UserCreated"
        assert history[0].event_version == 2
        assert history[0].payload["source"] == "before-v2"
        assert history[0].payload["performed_by"] == "installer"

    run(check, user_created_v2)


def test_a_missing_upcaster_is_an_error_not_a_silent_old_version(fitgate_installed_database: str) -> None:
    with psycopg.connect(fitgate_installed_database, autocommit=True) as connection:
        connection.execute(
            "INSERT INTO directory.event_types "
            "SELECT event_name, 2, kind, payload_schema, state_schema, NULL "
            "FROM directory.event_types WHERE event_name = 'UserCreated'"
        )
    store = EventStore("directory")

    async def check(pool: Pool) -> None:
        async with pool.connection() as connection, tenant_scope(connection, TENANT_A.id) as tx:
            cursor = await connection.execute("SELECT id FROM directory.users WHERE username = 'alice'")
            alice = (await cursor.fetchone())[0]  # type: ignore[index]
            with pytest.raises(UnregisteredEvent, match="no upcaster"):
                await store.history(tx, "User", alice)

    run(check, fitgate_installed_database)
