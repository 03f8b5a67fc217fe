"""Who a user is, as other services publish it: read directly from their tables, never over HTTP.

Directory publishes ``directory.users``, ``directory.roles`` and
``directory.role_assignments``; license publishes ``license.seat_assignments``.
Auth reads them in its own tenant transaction, under row-level security, so a
directory or license outage (their processes down, a deployment, a migration of
their code) never stops a login, a refresh or an introspection: only the
database has to be up.

Until license's migrations are installed, ``license.seat_assignments`` is not
there (or not yet granted to auth): tokens then carry no seats, which grants
nothing, and a warning is logged. Whether it is readable is checked again every
minute, so installing license needs no restart of auth.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from uuid import UUID

from reference.platform.tenancy import TenantTransaction

USER_BY_USERNAME = "SELECT id, status FROM directory.users WHERE tenant_id = %s AND username = %s"
USER_BY_ID = "SELECT username, status FROM directory.users WHERE tenant_id = %s AND id = %s"
ROLES_OF_USER = (
    "SELECT r.name FROM directory.role_assignments AS a "
    "JOIN directory.roles AS r ON r.tenant_id = a.tenant_id AND r.id = a.role_id "
    "WHERE a.tenant_id = %s AND a.user_id = %s AND a.status = 'active' ORDER BY r.name"
)
SEATS_OF_USER = (
    "SELECT license_id FROM license.seat_assignments "
    "WHERE tenant_id = %s AND user_id = %s AND status = 'assigned' ORDER BY license_id"
)
SEATS_READABLE = (
    "SELECT has_schema_privilege(n.oid, 'USAGE') AND has_table_privilege(c.oid, 'SELECT') "
    "FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace "
    "WHERE n.nspname = 'license' AND c.relname = 'seat_assignments'"
)
ACTIVE = "active"
_RECHECK_S = 60.0
_log = logging.getLogger("fitgate.auth.identity")


@dataclass(frozen=True)
class DirectoryUser:
    id: UUID
    username: str
    status: str

    @property
    def active(self) -> bool:
        return self.status == ACTIVE


class Identity:
    """Reads of directory's users and roles and license's seats; one per process."""

    def __init__(self) -> None:
        self._seats_readable: bool | None = None
        self._seats_checked_at = float("-inf")

    async def user_named(self, tx: TenantTransaction, username: str) -> DirectoryUser | None:
        cursor = await tx.connection.execute(USER_BY_USERNAME, (tx.tenant_id, username))
        row = await cursor.fetchone()
        return None if row is None else DirectoryUser(row[0], username, str(row[1]))

    async def user(self, tx: TenantTransaction, user_id: UUID) -> DirectoryUser | None:
        cursor = await tx.connection.execute(USER_BY_ID, (tx.tenant_id, user_id))
        row = await cursor.fetchone()
        return None if row is None else DirectoryUser(user_id, str(row[0]), str(row[1]))

    async def roles(self, tx: TenantTransaction, user_id: UUID) -> list[str]:
        """The names of the user's active roles (the token's ``roles`` claim)."""
        cursor = await tx.connection.execute(ROLES_OF_USER, (tx.tenant_id, user_id))
        return [str(row[0]) for row in await cursor.fetchall()]

    async def seats(self, tx: TenantTransaction, user_id: UUID) -> list[str]:
        """The licenses where the user holds an assigned seat (the token's ``seats`` claim)."""
        if not await self._seats_are_readable(tx):
            return []
        cursor = await tx.connection.execute(SEATS_OF_USER, (tx.tenant_id, user_id))
        return [str(row[0]) for row in await cursor.fetchall()]

    async def _seats_are_readable(self, tx: TenantTransaction) -> bool:
        if self._seats_readable is None or time.monotonic() - self._seats_checked_at > _RECHECK_S:
            cursor = await tx.connection.execute(SEATS_READABLE)
            row = await cursor.fetchone()
            readable = bool(row and row[0])
            if not readable and self._seats_readable is not False:
                _log.warning("license.seat_assignments is not readable: access tokens carry no seats")
            self._seats_readable = readable
            self._seats_checked_at = time.monotonic()
        return self._seats_readable
