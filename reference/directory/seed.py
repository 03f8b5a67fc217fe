"""Directory's seed step: the two seed tenants, their users, roles and role assignments.

Written through :class:`~reference.directory.model.Directory`, so every seeded
row has its event (performed by ``installer``). Idempotent: what exists is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import NAMESPACE_URL, UUID, uuid5

from psycopg import AsyncConnection
from psycopg.rows import TupleRow

from reference.directory.model import Directory
from reference.platform.seeding import SEED_ACTOR, TENANT_A, TENANT_B, SeedTenant
from reference.platform.tenancy import TenantTransaction, tenant_scope


@dataclass(frozen=True)
class SeedUser:
    username: str
    display_name: str
    roles: tuple[str, ...]


SEED_ROLES = {
    TENANT_A: {"admin": "manages the directory", "clinician": "treats patients"},
    TENANT_B: {"admin": "manages the directory", "pharmacist": "dispenses medicines"},
}
SEED_USERS = {
    TENANT_A: (
        SeedUser("alice", "Alice Martin", ("admin", "clinician")),
        SeedUser("bob", "Bob Keller", ("clinician",)),
        SeedUser("carol", "Carol Nguyen", ()),
    ),
    TENANT_B: (
        SeedUser("dave", "Dave Okafor", ("admin",)),
        SeedUser("erin", "Erin Rossi", ("pharmacist",)),
    ),
}


def seed_user_id(tenant: SeedTenant, username: str) -> UUID:
    """The fixed id of a seed user (the same in every installation)."""
    return uuid5(NAMESPACE_URL, f"fitgate:seed:{tenant.id}:user:{username}")


async def seed(connection: AsyncConnection[TupleRow]) -> None:
    directory = Directory()
    for tenant in (TENANT_A, TENANT_B):
        async with tenant_scope(connection, tenant.id) as tx:
            await _seed_tenant(directory, tx, tenant)


async def _seed_tenant(directory: Directory, tx: TenantTransaction, tenant: SeedTenant) -> None:
    if await directory.tenants.find(tx, tenant.id) is None:
        await directory.create_tenant(tx, tenant.name, SEED_ACTOR)
    role_ids: dict[str, UUID] = {}
    for name, description in SEED_ROLES[tenant].items():
        role = await directory.find_role_by_name(tx, name)
        if role is None:
            role = (
                await directory.create_role(tx, name=name, description=description, actor=SEED_ACTOR)
            ).state
        role_ids[name] = UUID(role["id"])
    for seed_user in SEED_USERS[tenant]:
        user = await directory.find_user_by_username(tx, seed_user.username)
        if user is None:
            user = (
                await directory.create_user(
                    tx,
                    username=seed_user.username,
                    display_name=seed_user.display_name,
                    email=f"{seed_user.username}@{tenant.name}.example",
                    actor=SEED_ACTOR,
                    user_id=seed_user_id(tenant, seed_user.username),
                )
            ).state
        assigned = {a["role_name"] for a in await directory.roles_of_user(tx, UUID(user["id"]))}
        for role_name in seed_user.roles:
            if role_name not in assigned:
                await directory.assign_role(tx, UUID(user["id"]), role_ids[role_name], SEED_ACTOR)
