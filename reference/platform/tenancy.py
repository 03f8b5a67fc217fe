"""Transactions scoped to one tenant: the only way service code touches tenant rows.

The tenant is set with ``set_config('app.tenant_id', id, true)``: local to the
transaction, gone at COMMIT or ROLLBACK, so a pooled connection never carries
one tenant into the next request. Nothing here (or anywhere) sets it for a session.

:func:`tenant_read` is the same transaction for one hot, read-only query, sent
as a single message: ``BEGIN``, the tenant, the query and ``COMMIT`` cost one
round trip and one wake-up of the server instead of four. :func:`global_read`
is its counterpart for global tables (no tenant set).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, LiteralString
from uuid import UUID

from psycopg import AsyncClientCursor, AsyncConnection, sql
from psycopg.rows import TupleRow

from reference.platform.pool import Pool

SET_TENANT = "SELECT set_config('app.tenant_id', %s, true)"
# tenant_read's message: its results are BEGIN's, set_config's, the query's, then COMMIT's.
ONE_MESSAGE_READ = "BEGIN READ ONLY; SELECT set_config('app.tenant_id', %s, true); {query}; COMMIT"
_QUERY_RESULT = 2
# global_read's message: its results are BEGIN's, the query's, then COMMIT's.
ONE_MESSAGE_GLOBAL_READ = "BEGIN READ ONLY; {query}; COMMIT"
_GLOBAL_QUERY_RESULT = 1


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


@functools.cache
def _one_message(template: LiteralString, query: LiteralString) -> sql.Composed:
    """The composed message of ``query`` (a constant of the code, so composed once)."""
    return sql.SQL(template).format(query=sql.SQL(query))


async def tenant_read(
    pool: Pool, tenant_id: UUID, query: LiteralString, parameters: Sequence[Any] = ()
) -> list[TupleRow]:
    """The rows of one read-only ``query`` in a transaction scoped to ``tenant_id``.

    ``query`` takes ``%s`` placeholders (a literal ``%`` is written ``%%``).

    One simple-query message carries the whole transaction, its parameters bound
    on the client by psycopg's quoting, so the server plans the query on every
    call: worth it for small indexed reads on a hot path, where round trips cost
    more than planning. The transaction is READ ONLY: a write fails. A failing
    query leaves the transaction aborted, and the pool rolls the connection back
    before anyone reuses it.
    """
    return await _read(
        pool, _one_message(ONE_MESSAGE_READ, query), (str(tenant_id), *parameters), _QUERY_RESULT
    )


async def global_read(pool: Pool, query: LiteralString, parameters: Sequence[Any] = ()) -> list[TupleRow]:
    """The rows of one read-only ``query`` of global tables, in a transaction sent as one message.

    As :func:`tenant_read`, with no tenant set: tenant rows stay invisible.
    """
    return await _read(pool, _one_message(ONE_MESSAGE_GLOBAL_READ, query), parameters, _GLOBAL_QUERY_RESULT)


async def _read(pool: Pool, message: sql.Composed, parameters: Sequence[Any], result: int) -> list[TupleRow]:
    async with pool.connection() as connection:
        cursor = AsyncClientCursor(connection)
        await cursor.execute(message, parameters)
        for _ in range(result):
            cursor.nextset()
        return await cursor.fetchall()
