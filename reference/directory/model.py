"""The directory's aggregates and every change to them, each with its one domain event.

Methods take a :class:`~reference.platform.tenancy.TenantTransaction`, so row-level
security already limits them to the caller's tenant: another tenant's user, role
or assignment is simply not found. The ``read_*`` methods answer the hot reads
that are a single query, each in a read-only tenant transaction of its own sent
as one message (:func:`~reference.platform.tenancy.tenant_read`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from reference.platform.aggregates import DATABASE_NOW, AggregateTable, Change
from reference.platform.errors import Conflict, NotFound
from reference.platform.event_store import Actor, EventStore, RecordedEvent
from reference.platform.json_rows import one_json, read_all_json, read_one_json
from reference.platform.pool import Pool
from reference.platform.tenancy import TenantTransaction, tenant_read

SCHEMA = "directory"
ROLE = "directory_service"

READ_TENANT = "SELECT to_jsonb(t.*) FROM directory.tenants AS t WHERE t.tenant_id = %s AND t.id = %s"
READ_USER = "SELECT to_jsonb(u.*) FROM directory.users AS u WHERE u.tenant_id = %s AND u.id = %s"
READ_ROLE = "SELECT to_jsonb(r.*) FROM directory.roles AS r WHERE r.tenant_id = %s AND r.id = %s"
# Parameters: tenant, status twice, after twice, limit.
LIST_USERS = (
    "SELECT to_jsonb(u.*) FROM directory.users AS u "
    "WHERE u.tenant_id = %s "
    "AND (%s::text IS NULL OR u.status = %s) "
    "AND (%s::text IS NULL OR u.username > %s) "
    "ORDER BY u.username LIMIT %s"
)
FIND_USER_BY_USERNAME = (
    "SELECT to_jsonb(u.*) FROM directory.users AS u WHERE u.tenant_id = %s AND u.username = %s"
)
# Parameters: tenant, after twice, limit.
LIST_ROLES = (
    "SELECT to_jsonb(r.*) FROM directory.roles AS r WHERE r.tenant_id = %s "
    "AND (%s::text IS NULL OR r.name > %s) ORDER BY r.name LIMIT %s"
)
FIND_ROLE_BY_NAME = "SELECT to_jsonb(r.*) FROM directory.roles AS r WHERE r.tenant_id = %s AND r.name = %s"
FIND_ASSIGNMENT = (
    "SELECT to_jsonb(a.*) FROM directory.role_assignments AS a "
    "WHERE a.tenant_id = %s AND a.user_id = %s AND a.role_id = %s"
)
# No row: no such user; one row of NULLs: a user without roles.
ROLES_OF_EXISTING_USER = (
    "SELECT to_jsonb(a.*), r.name FROM directory.users AS u "
    "LEFT JOIN (directory.role_assignments AS a "
    "JOIN directory.roles AS r ON r.tenant_id = a.tenant_id AND r.id = a.role_id) "
    "ON a.tenant_id = u.tenant_id AND a.user_id = u.id AND a.status = 'active' "
    "WHERE u.tenant_id = %s AND u.id = %s ORDER BY r.name"
)
ACTIVE_ROLES_OF_USER = (
    "SELECT to_jsonb(a.*), r.name FROM directory.role_assignments AS a "
    "JOIN directory.roles AS r ON r.tenant_id = a.tenant_id AND r.id = a.role_id "
    "WHERE a.tenant_id = %s AND a.user_id = %s AND a.status = 'active' ORDER BY r.name"
)


@dataclass
class Directory:
    """The directory schema's aggregates; one instance per process (it caches the event catalogue)."""

    store: EventStore = field(default_factory=lambda: EventStore(SCHEMA))

    def __post_init__(self) -> None:
        self.tenants = AggregateTable(self.store, "tenants", "Tenant")
        self.users = AggregateTable(
            self.store,
            "users",
            "User",
            unique_fields={"users_username_unique": "username"},
            references={"users_tenant_fk": "tenant"},
        )
        self.roles = AggregateTable(
            self.store,
            "roles",
            "Role",
            unique_fields={"roles_name_unique": "name"},
            references={"roles_tenant_fk": "tenant"},
        )
        self.assignments = AggregateTable(
            self.store,
            "role_assignments",
            "RoleAssignment",
            unique_fields={"role_assignments_pair_unique": "role_id"},
            references={"role_assignments_user_fk": "user", "role_assignments_role_fk": "role"},
        )

    # Tenants

    async def create_tenant(self, tx: TenantTransaction, name: str, actor: Actor) -> Change:
        """TenantCreated: the tenant of ``tx`` (its id is the transaction's tenant id)."""
        if await self.tenants.find(tx, tx.tenant_id) is not None:
            raise Conflict(f"tenant {tx.tenant_id} already exists")
        return await self.tenants.create(
            tx,
            {"name": name, "status": "active"},
            event_name="TenantCreated",
            actor=actor,
            details={"name": name},
            aggregate_id=tx.tenant_id,
        )

    async def read_tenant(self, pool: Pool, tenant_id: UUID) -> dict[str, Any]:
        return _found(
            await read_one_json(pool, tenant_id, READ_TENANT, (tenant_id, tenant_id)), "Tenant", tenant_id
        )

    # Users

    async def create_user(
        self,
        tx: TenantTransaction,
        *,
        username: str,
        display_name: str,
        email: str,
        actor: Actor,
        user_id: UUID | None = None,
    ) -> Change:
        """UserCreated: a new active user; 409 if the username is taken in this tenant."""
        if await self.tenants.find(tx, tx.tenant_id) is None:
            raise NotFound(f"tenant {tx.tenant_id} not found")
        details = {"username": username, "display_name": display_name, "email": email}
        return await self.users.create(
            tx,
            {**details, "status": "active"},
            event_name="UserCreated",
            actor=actor,
            details=details,
            aggregate_id=user_id,
        )

    async def get_user(self, tx: TenantTransaction, user_id: UUID) -> dict[str, Any]:
        return await self.users.get(tx, user_id)

    async def read_user(self, pool: Pool, tenant_id: UUID, user_id: UUID) -> dict[str, Any]:
        return _found(await read_one_json(pool, tenant_id, READ_USER, (tenant_id, user_id)), "User", user_id)

    async def find_user_by_username(self, tx: TenantTransaction, username: str) -> dict[str, Any] | None:
        return await one_json(tx, FIND_USER_BY_USERNAME, (tx.tenant_id, username))

    async def list_users(
        self, pool: Pool, tenant_id: UUID, *, status: str | None, after: str | None, limit: int
    ) -> list[dict[str, Any]]:
        """Users ordered by username, from just after ``after``."""
        parameters = (tenant_id, status, status, after, after, limit)
        return await read_all_json(pool, tenant_id, LIST_USERS, parameters)

    async def rename_user(
        self,
        tx: TenantTransaction,
        user_id: UUID,
        username: str,
        *,
        expected_version: int | None,
        actor: Actor,
    ) -> Change | None:
        """UsernameUpdated; None when the username is already ``username`` (nothing changes, no event)."""
        user = await self.users.get(tx, user_id)
        if user["username"] == username:
            return None
        return await self.users.update(
            tx,
            user_id,
            {"username": username},
            expected_version=expected_version if expected_version is not None else user["version"],
            event_name="UsernameUpdated",
            actor=actor,
            details={"old_username": user["username"], "new_username": username},
        )

    async def deactivate_user(
        self,
        tx: TenantTransaction,
        user_id: UUID,
        *,
        reason: str | None,
        expected_version: int | None,
        actor: Actor,
    ) -> Change:
        """UserDeactivated; 409 if the user is already deactivated."""
        user = await self.users.get(tx, user_id)
        if user["status"] == "deactivated":
            raise Conflict(f"user {user_id} is already deactivated")
        return await self.users.update(
            tx,
            user_id,
            {"status": "deactivated", "deactivated_at": DATABASE_NOW},
            expected_version=expected_version if expected_version is not None else user["version"],
            event_name="UserDeactivated",
            actor=actor,
            details={} if reason is None else {"reason": reason},
        )

    async def user_history(self, tx: TenantTransaction, user_id: UUID) -> list[RecordedEvent]:
        await self.users.get(tx, user_id)
        return await self.store.history(tx, "User", user_id)

    async def user_at(self, tx: TenantTransaction, user_id: UUID, at: datetime) -> dict[str, Any]:
        """The user as it was at ``at``, from its events; 404 if it did not exist yet."""
        event = await self.store.state_at(tx, "User", user_id, at)
        if event is None:
            raise NotFound(f"User {user_id} not found at {at.isoformat()}")
        return event.state

    # Roles

    async def create_role(
        self, tx: TenantTransaction, *, name: str, description: str, actor: Actor
    ) -> Change:
        """RoleCreated; 409 if the name is taken in this tenant."""
        if await self.tenants.find(tx, tx.tenant_id) is None:
            raise NotFound(f"tenant {tx.tenant_id} not found")
        details = {"name": name, "description": description}
        return await self.roles.create(tx, details, event_name="RoleCreated", actor=actor, details=details)

    async def read_role(self, pool: Pool, tenant_id: UUID, role_id: UUID) -> dict[str, Any]:
        return _found(await read_one_json(pool, tenant_id, READ_ROLE, (tenant_id, role_id)), "Role", role_id)

    async def find_role_by_name(self, tx: TenantTransaction, name: str) -> dict[str, Any] | None:
        return await one_json(tx, FIND_ROLE_BY_NAME, (tx.tenant_id, name))

    async def list_roles(
        self, pool: Pool, tenant_id: UUID, *, after: str | None, limit: int
    ) -> list[dict[str, Any]]:
        return await read_all_json(pool, tenant_id, LIST_ROLES, (tenant_id, after, after, limit))

    # Role assignments

    async def assign_role(
        self, tx: TenantTransaction, user_id: UUID, role_id: UUID, actor: Actor
    ) -> tuple[Change, bool]:
        """RoleAssigned; returns the change and whether the assignment is new (not a re-assignment)."""
        user = await self.users.get(tx, user_id)
        if user["status"] != "active":
            raise Conflict(f"user {user_id} is deactivated: roles cannot be assigned")
        role = await self.roles.get(tx, role_id)
        details = {"user_id": user_id, "role_id": role_id, "role_name": role["name"]}
        existing = await one_json(tx, FIND_ASSIGNMENT, (tx.tenant_id, user_id, role_id))
        if existing is None:
            change = await self.assignments.create(
                tx,
                {"user_id": user_id, "role_id": role_id, "status": "active"},
                event_name="RoleAssigned",
                actor=actor,
                details=details,
            )
            return change, True
        if existing["status"] == "active":
            raise Conflict(f"role {role['name']} is already assigned to user {user_id}")
        change = await self.assignments.update(
            tx,
            UUID(existing["id"]),
            {"status": "active"},
            expected_version=existing["version"],
            event_name="RoleAssigned",
            actor=actor,
            details=details,
        )
        return change, False

    async def revoke_role(self, tx: TenantTransaction, user_id: UUID, role_id: UUID, actor: Actor) -> Change:
        """RoleRevoked; 404 if the role is not currently assigned to the user."""
        existing = await one_json(tx, FIND_ASSIGNMENT, (tx.tenant_id, user_id, role_id))
        if existing is None or existing["status"] != "active":
            raise NotFound(f"role {role_id} is not assigned to user {user_id}")
        role = await self.roles.get(tx, role_id)
        return await self.assignments.update(
            tx,
            UUID(existing["id"]),
            {"status": "revoked"},
            expected_version=existing["version"],
            event_name="RoleRevoked",
            actor=actor,
            details={"user_id": user_id, "role_id": role_id, "role_name": role["name"]},
        )

    async def roles_of_user(self, tx: TenantTransaction, user_id: UUID) -> list[dict[str, Any]]:
        """The user's active assignments, each with its role's name."""
        await self.users.get(tx, user_id)
        cursor = await tx.connection.execute(ACTIVE_ROLES_OF_USER, (tx.tenant_id, user_id))
        return [{**dict(state), "role_name": name} for state, name in await cursor.fetchall()]

    async def read_roles_of_user(self, pool: Pool, tenant_id: UUID, user_id: UUID) -> list[dict[str, Any]]:
        """:meth:`roles_of_user` in one query and one round trip."""
        rows = await tenant_read(pool, tenant_id, ROLES_OF_EXISTING_USER, (tenant_id, user_id))
        if not rows:
            raise NotFound(f"User {user_id} not found")
        return [{**dict(state), "role_name": name} for state, name in rows if state is not None]


def _found(state: dict[str, Any] | None, kind: str, aggregate_id: UUID) -> dict[str, Any]:
    if state is None:
        raise NotFound(f"{kind} {aggregate_id} not found")
    return state
