"""Seed data: the two seed tenants, the seed users' login secrets, and the seed-step contract.

A service package may have a module ``seed`` with
``async def seed(connection: psycopg.AsyncConnection) -> None``. The installer
calls it after all migrations, on a connection that has done
``SET ROLE <service role>``: seeds write only what the service itself could,
through the same code (and so with the same events) as its endpoints. A seed
step must be idempotent: the installer runs it again on every re-install.

:data:`SEED_CREDENTIALS` are the passwords and TOTP secrets auth seeds for the
users directory seeds, published here so that tests and load tests can log in
(computing codes with :func:`reference.platform.totp.code_at`) without importing
any service. They are demonstration data, known to anyone who reads this file:
a real deployment runs its migrations, never these seeds.
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


@dataclass(frozen=True)
class SeedCredential:
    """A seed user's login: password and confirmed TOTP second factor (base32 secret)."""

    tenant: SeedTenant
    username: str
    password: str
    totp_secret: str


SEED_CREDENTIALS = (
    SeedCredential(TENANT_A, "alice", "amber-violet-harbour-42", "UEIS5FVUBM2EKWCLTMNE3LDCKRZKQLOS"),
    SeedCredential(TENANT_A, "bob", "copper-meadow-lantern-17", "VCLQUNDEYFC6YWG3RHYRUS2UEOK6OU4A"),
    SeedCredential(TENANT_A, "carol", "silver-orchid-canyon-58", "PVEZK5FCYTTT3NXRQJOMMM2SZVB7DBUE"),
    SeedCredential(TENANT_B, "dave", "cobalt-willow-summit-93", "37OIM3LEXO25XXUOHNUNITXTAI26XAQ2"),
    SeedCredential(TENANT_B, "erin", "scarlet-pebble-river-26", "QI2SR5A7HYNDQ5FMPZ3JBAD7KO7K47HV"),
)


def seed_credential(tenant: SeedTenant, username: str) -> SeedCredential:
    """The seed credential of ``username`` in ``tenant``."""
    for credential in SEED_CREDENTIALS:
        if credential.tenant == tenant and credential.username == username:
            return credential
    raise LookupError(f"no seed credential for {username} in {tenant.name}")
