"""tenant_read: one query in a tenant-scoped transaction, sent as one message."""

from __future__ import annotations

import psycopg
import pytest

from reference.platform.pool import Pool
from reference.platform.seeding import TENANT_A, TENANT_B
from reference.platform.tenancy import tenant_read
from tests.reference.test_kernel_events import COUNT_USERS, CURRENT_TENANT, run

USERNAMES = "SELECT username FROM directory.users WHERE username LIKE %s ORDER BY username"
TENANT_SEEN = "SELECT current_setting('app.tenant_id', true)"


def test_reads_only_the_tenants_rows_and_leaves_no_tenant_behind(fitgate_installed_database: str) -> None:
    async def check(pool: Pool) -> None:
        assert await tenant_read(pool, TENANT_A.id, COUNT_USERS) == [(3,)]
        assert await tenant_read(pool, TENANT_B.id, COUNT_USERS) == [(2,)]
        assert await tenant_read(pool, TENANT_A.id, USERNAMES, ("%o%",)) == [("bob",), ("carol",)]
        assert await tenant_read(pool, TENANT_A.id, TENANT_SEEN) == [(str(TENANT_A.id),)]
        async with pool.connection() as connection:  # the same (only) connection, back from the pool
            assert connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
            assert (await (await connection.execute(CURRENT_TENANT)).fetchone())[0] in ("", None)  # type: ignore[index]
            assert await (await connection.execute(COUNT_USERS)).fetchone() == (0,)

    run(check, fitgate_installed_database)


def test_parameters_are_quoted_not_pasted(fitgate_installed_database: str) -> None:
    async def check(pool: Pool) -> None:
        hostile = "x'; SELECT set_config('app.tenant_id', '', false); --"
        assert await tenant_read(pool, TENANT_A.id, USERNAMES, (hostile,)) == []
        assert await tenant_read(pool, TENANT_A.id, COUNT_USERS) == [(3,)]

    run(check, fitgate_installed_database)


def test_a_failing_query_leaves_a_usable_pool(fitgate_installed_database: str) -> None:
    async def check(pool: Pool) -> None:
        with pytest.raises(psycopg.errors.DivisionByZero):
            await tenant_read(pool, TENANT_A.id, "SELECT 1 / 0")
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            await tenant_read(pool, TENANT_A.id, "UPDATE directory.users SET display_name = 'x' RETURNING id")
        assert await tenant_read(pool, TENANT_B.id, COUNT_USERS) == [(2,)]
        async with pool.connection() as connection:
            assert (await (await connection.execute(CURRENT_TENANT)).fetchone())[0] in ("", None)  # type: ignore[index]

    run(check, fitgate_installed_database)
