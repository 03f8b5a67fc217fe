"""The connection pool of one service's login role.

Sessions run in UTC, so the timestamps inside event states (``to_jsonb`` of a
row) always read ``...+00:00``. Connections are in autocommit mode so that every
unit of work is an explicit transaction (:mod:`reference.platform.tenancy`); a
stray statement outside one runs with no tenant set and sees no tenant rows.
"""

from __future__ import annotations

from psycopg import AsyncConnection
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool

from reference.platform.settings import Settings

SESSION_OPTIONS = "-c TimeZone=UTC"
Pool = AsyncConnectionPool[AsyncConnection[TupleRow]]


def create_pool(settings: Settings) -> Pool:
    """A closed pool sized by ``settings``; ``await pool.open()`` before use, ``close()`` after."""
    return AsyncConnectionPool(
        settings.database_url,
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        timeout=settings.pool_timeout_s,
        name=f"{settings.service}-pool",
        kwargs={
            "autocommit": True,
            "application_name": f"fitgate-{settings.service}",
            "options": SESSION_OPTIONS,
        },
        open=False,
    )
