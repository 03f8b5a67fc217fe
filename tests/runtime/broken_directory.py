"""TEST ONLY: the directory app wrapped to leave a tenant on a pooled connection, for the runtime guard.

A test config names it in place of ``reference.directory.app:app``
(``services.directory.app: tests.runtime.broken_directory:app``); production
never does. Before answering ``GET /v1/tenant`` it sets the caller's tenant
(``X-Tenant-ID``) for the whole session on one of the service's own pooled
connections, "to save a round trip", and gives the connection back to the pool
with the tenant still set (the leak ADR-0002 forbids).
"""

from __future__ import annotations

from typing import Any

from reference.directory.app import app as directory_app

SET_TENANT_FOR_THE_SESSION = "SELECT set_config('app.tenant_id', %s, false)"


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http" and scope.get("path") == "/v1/tenant":
        tenant = dict(scope["headers"]).get(b"x-tenant-id", b"").decode()
        pool = directory_app.state.runtime.pool
        async with pool.connection() as connection:  # back to the pool with the tenant set
            await connection.execute(SET_TENANT_FOR_THE_SESSION, (tenant,))
    await directory_app(scope, receive, send)
