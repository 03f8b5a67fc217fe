"""Rows read as JSON (``to_jsonb``): the same shape an event's ``state`` records.

Services answer with the row exactly as its latest event recorded it, so a
query selects ``to_jsonb(t.*)`` (one column) and these helpers unwrap it.
"""

from __future__ import annotations

from typing import Any, LiteralString

from psycopg import sql

from reference.platform.tenancy import TenantTransaction

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
