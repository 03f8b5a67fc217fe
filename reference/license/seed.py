"""License's seed step: for each seed tenant, a license with some seats assigned to seed users.

Written through :class:`~reference.license.model.Licensing`, so every seeded row
has its event (performed by ``installer``). Seed users are found by username in
``directory.users`` (directory seeds before license). Free seats are left on each
license for load tests to assign and release. Idempotent: a tenant whose seed
license exists is left as it is (seats released since stay released).
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import NAMESPACE_URL, UUID, uuid5

from psycopg import AsyncConnection
from psycopg.rows import TupleRow

from reference.license.model import Licensing
from reference.platform.seeding import SEED_ACTOR, TENANT_A, TENANT_B, SeedTenant
from reference.platform.tenancy import TenantTransaction, tenant_scope

# Plan ids of license/migrations/0002_plans.sql.
CLINIC_PLAN = UUID("5e1ec7ed-0000-4000-8000-000000000002")
PHARMACY_PLAN = UUID("5e1ec7ed-0000-4000-8000-000000000003")
VALID_FOR = "3 years"
VALID_UNTIL = "SELECT now() + %s::interval"
ACTIVE_USER_BY_USERNAME = (
    "SELECT id FROM directory.users WHERE tenant_id = %s AND username = %s AND status = 'active'"
)


@dataclass(frozen=True)
class SeedLicense:
    plan_id: UUID
    seats: int
    holders: tuple[str, ...]  # usernames of directory's seed users


SEED_LICENSES = {
    TENANT_A: SeedLicense(CLINIC_PLAN, 25, ("alice", "bob")),
    TENANT_B: SeedLicense(PHARMACY_PLAN, 10, ("dave",)),
}


def seed_license_id(tenant: SeedTenant) -> UUID:
    """The fixed id of a seed tenant's license (the same in every installation)."""
    return uuid5(NAMESPACE_URL, f"fitgate:seed:{tenant.id}:license")


async def seed(connection: AsyncConnection[TupleRow]) -> None:
    licensing = Licensing()
    for tenant in (TENANT_A, TENANT_B):
        async with tenant_scope(connection, tenant.id) as tx:
            await _seed_tenant(licensing, tx, tenant)


async def _seed_tenant(licensing: Licensing, tx: TenantTransaction, tenant: SeedTenant) -> None:
    license_id = seed_license_id(tenant)
    if await licensing.find_license(tx, license_id) is not None:
        return
    wanted = SEED_LICENSES[tenant]
    cursor = await tx.connection.execute(VALID_UNTIL, (VALID_FOR,))
    row = await cursor.fetchone()
    assert row is not None  # a SELECT without FROM returns one row
    await licensing.grant_license(
        tx,
        plan_id=wanted.plan_id,
        seats=wanted.seats,
        valid_from=None,
        valid_until=row[0],
        actor=SEED_ACTOR,
        license_id=license_id,
    )
    for username in wanted.holders:
        cursor = await tx.connection.execute(ACTIVE_USER_BY_USERNAME, (tenant.id, username))
        user = await cursor.fetchone()
        if user is not None:
            await licensing.assign_seat(tx, license_id, user[0], SEED_ACTOR)
