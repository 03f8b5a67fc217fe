"""The pool guard against real PostgreSQL: a connection returned with the tenant still set is
seen (sync and async pools), one whose tenant was set for its transaction is not."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from fitness.runtime import pool_guard


@pytest.fixture
def leaks() -> Iterator[list[str]]:
    """The guard installed for one test, and taken out again (it patches psycopg_pool)."""
    found: list[str] = []
    originals = ConnectionPool.putconn, AsyncConnectionPool.putconn
    pool_guard.install_pool_guard("app.tenant_id", lambda value: found.append(value) or False)
    yield found
    ConnectionPool.putconn, AsyncConnectionPool.putconn = originals  # type: ignore[method-assign]


def test_a_session_tenant_is_seen_and_a_transaction_tenant_is_not(
    leaks: list[str], fitgate_empty_database: str
) -> None:
    with ConnectionPool(fitgate_empty_database, min_size=1, max_size=1) as pool:
        with pool.connection() as conn, conn.transaction():
            conn.execute("SELECT set_config('app.tenant_id', 'in-transaction', true)")
        assert leaks == []
        with pool.connection() as conn:
            conn.execute("SELECT set_config('app.tenant_id', 'for-the-session', false)")
        assert leaks == ["for-the-session"]
        with pool.connection() as conn:  # the same connection: the leak is real
            value = conn.execute("SELECT current_setting('app.tenant_id', true)").fetchone()
            assert value == ("for-the-session",)


def test_an_open_transaction_is_rolled_back_before_looking(
    leaks: list[str], fitgate_empty_database: str
) -> None:
    with ConnectionPool(fitgate_empty_database, min_size=1, max_size=1) as pool:
        conn = pool.getconn()
        conn.execute("SELECT set_config('app.tenant_id', 'local-only', true)")
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        pool.putconn(conn)
        assert leaks == []


def test_a_discarded_connection_does_not_reach_the_next_request(fitgate_empty_database: str) -> None:
    originals = ConnectionPool.putconn, AsyncConnectionPool.putconn
    pool_guard.install_pool_guard("app.tenant_id", lambda value: True)
    try:
        with ConnectionPool(fitgate_empty_database, min_size=1, max_size=1) as pool:
            with pool.connection() as conn:
                conn.execute("SELECT set_config('app.tenant_id', 'leaked', false)")
            with pool.connection() as conn:
                value = conn.execute("SELECT current_setting('app.tenant_id', true)").fetchone()
        assert value == (None,)
    finally:
        ConnectionPool.putconn, AsyncConnectionPool.putconn = originals  # type: ignore[method-assign]


def test_the_async_pool_is_guarded_too(leaks: list[str], fitgate_empty_database: str) -> None:
    async def scenario() -> None:
        async with AsyncConnectionPool(fitgate_empty_database, min_size=1, max_size=1) as pool:
            async with pool.connection() as conn:
                await conn.execute("SELECT set_config('app.tenant_id', 'async-leak', false)")
            async with pool.connection() as conn:
                await conn.execute("SELECT set_config('app.tenant_id', '', false)")

    asyncio.run(scenario())
    assert leaks == ["async-leak"]


def test_a_leak_is_reported_where_it_happened_not_at_every_return(
    leaks: list[str], fitgate_empty_database: str
) -> None:
    with ConnectionPool(fitgate_empty_database, min_size=1, max_size=1) as pool:
        with pool.connection() as conn:
            conn.execute("SELECT set_config('app.tenant_id', 'tenant-a', false)")
        with pool.connection() as conn:  # innocent code, on the leaking connection
            conn.execute("SELECT 1")
        assert leaks == ["tenant-a"]
        with pool.connection() as conn:  # another tenant left behind: a new leak
            conn.execute("SELECT set_config('app.tenant_id', 'tenant-b', false)")
        with pool.connection() as conn:  # cleared: clean again
            conn.execute("SELECT set_config('app.tenant_id', '', false)")
        with pool.connection() as conn:  # and leaking again: reported again
            conn.execute("SELECT set_config('app.tenant_id', 'tenant-a', false)")
    assert leaks == ["tenant-a", "tenant-b", "tenant-a"]
