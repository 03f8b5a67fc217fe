"""Rows read as JSON (``to_jsonb``): the same shape an event's ``state`` records.

Services answer with the row exactly as its latest event recorded it, so a
query selects ``to_jsonb(t.*)`` (one column) and these helpers unwrap it:
inside an open tenant transaction (:func:`one_json`, :func:`all_json`), or as
a whole read-only tenant transaction sent in one message (:func:`read_one_json`,
:func:`read_all_json`, over :func:`~reference.platform.tenancy.tenant_read`),
for the hot reads that are a single query.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, LiteralString
from uuid import UUID

from psycopg import sql

from reference.platform.pool import Pool
from reference.platform.tenancy import TenantTransaction, tenant_read

# A constant SQL text, or one composed with quoted identifiers.
Query = LiteralString | sql.Composed


async def one_json(tx: TenantTransaction, query: Query, parameters: Any) -> dict[str, Any] | None:
    """The first column of the first row (a JSON object), or None when no row matches."""
    cursor = await tx.connection.execute(query, parameters)
    row = await cursor.fetchone()
    return None if row is None else dict(row[0])


async def all_json(tx: TenantTransaction, query: Query, parameters: Any) -> list[dict[str, Any]]:
    """The first column of every row (JSON objects), in the query's order."""
    cursor = await tx.connection.execute(query, parameters)
    return [dict(row[0]) for row in await cursor.fetchall()]


async def read_one_json(
    pool: Pool, tenant_id: UUID, query: LiteralString, parameters: Sequence[Any]
) -> dict[str, Any] | None:
    """:func:`one_json` of a query read in its own one-message tenant transaction."""
    rows = await tenant_read(pool, tenant_id, query, parameters)
    return dict(rows[0][0]) if rows else None


async def read_all_json(
    pool: Pool, tenant_id: UUID, query: LiteralString, parameters: Sequence[Any]
) -> list[dict[str, Any]]:
    """:func:`all_json` of a query read in its own one-message tenant transaction."""
    return [dict(row[0]) for row in await tenant_read(pool, tenant_id, query, parameters)]
