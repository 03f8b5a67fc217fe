"""Seed data: the two platform-wide seed tenants and the installer's seed-step contract.

A service package may have a module ``seed`` with
``async def seed(connection: psycopg.AsyncConnection) -> None``. The installer
calls it after all migrations, on a connection that has done
``SET ROLE <service role>``: seeds write only what the service itself could,
through the same code (and so with the same events) as its endpoints. A seed
step must be idempotent: the installer runs it again on every re-install.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from reference.platform.event_store import Actor


@dataclass(frozen=True)
class SeedTenant:
    """A tenant every installed platform has (directory creates it; other services seed into it)."""

    id: UUID
    name: str


TENANT_A = SeedTenant(UUID("a0000000-0000-4000-8000-00000000000a"), "clinic-north")
TENANT_B = SeedTenant(UUID("b0000000-0000-4000-8000-00000000000b"), "pharmacy-south")
SEED_TENANTS = (TENANT_A, TENANT_B)
SEED_ACTOR = Actor("installer")
