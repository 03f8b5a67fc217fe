"""Run a test's coroutine with a kernel pool of one service role's connections (the real server)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fitness.database import with_user
from reference.platform.pool import Pool, create_pool
from reference.platform.settings import Settings


def run_with_pool(
    test: Callable[[Pool], Awaitable[None]], database_url: str, service: str = "directory", pool_size: int = 1
) -> None:
    """Run ``test`` with a pool of ``<service>_service`` connections to ``database_url``."""

    async def main() -> None:
        role = f"{service}_service"
        settings = Settings(
            service=service,
            role=role,
            database_url=with_user(database_url, role),
            pool_min_size=1,
            pool_max_size=pool_size,
        )
        pool = create_pool(settings)
        await pool.open(wait=True)
        try:
            await test(pool)
        finally:
            await pool.close()

    asyncio.run(main())
