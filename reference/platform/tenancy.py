"""Transactions scoped to one tenant: the only way service code touches tenant rows.

The tenant is set with ``set_config('app.tenant_id', id, true)``: local to the
transaction, gone at COMMIT or ROLLBACK, so a pooled connection never carries
one tenant into the next request. Nothing here (or anywhere) sets it for a session.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import TupleRow

from reference.platform.pool import Pool

SET_TENANT = "SELECT set_config('app.tenant_id', %s, true)"


@dataclass(frozen=True)
class TenantTransaction:
    """An open transaction whose row-level security sees only ``tenant_id``'s rows."""

    connection: AsyncConnection[TupleRow]
    tenant_id: UUID


@contextlib.asynccontextmanager
async def tenant_scope(
    connection: AsyncConnection[TupleRow], tenant_id: UUID
) -> AsyncIterator[TenantTransaction]:
    """Run a transaction on ``connection`` with the tenant set locally; commit, or roll back on error."""
    async with connection.transaction():
        await connection.execute(SET_TENANT, (str(tenant_id),))
        yield TenantTransaction(connection, tenant_id)


@contextlib.asynccontextmanager
async def tenant_transaction(pool: Pool, tenant_id: UUID) -> AsyncIterator[TenantTransaction]:
    """A pooled connection in a transaction scoped to ``tenant_id``; commits, or rolls back on error."""
    async with pool.connection() as connection, tenant_scope(connection, tenant_id) as transaction:
        yield transaction


@contextlib.asynccontextmanager
async def global_transaction(pool: Pool) -> AsyncIterator[AsyncConnection[TupleRow]]:
    """A pooled connection in a transaction with no tenant: for global tables (tenant rows stay invisible)."""
    async with pool.connection() as connection, connection.transaction():
        yield connection
