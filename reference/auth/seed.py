"""Auth's seed step: a signing key, so that tokens can be issued and verified from the start."""

from __future__ import annotations

from psycopg import AsyncConnection
from psycopg.rows import TupleRow

from reference.auth.signing_keys import ensure_signing_key


async def seed(connection: AsyncConnection[TupleRow]) -> None:
    await ensure_signing_key(connection)
