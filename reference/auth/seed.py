"""Auth's seed step: a signing key, and a credential with a confirmed TOTP factor per seed user.

The passwords and TOTP secrets are :data:`reference.platform.seeding.SEED_CREDENTIALS`
(published there for tests and load tests). Every seeded change is written
through :class:`~reference.auth.model.Auth`, so it has its event (performed by
``installer``): CredentialSet, SecondFactorEnrolled, SecondFactorConfirmed.
Directory seeds its users first; a seed user directory does not have is
skipped. Idempotent: an existing credential is kept as it is.
"""

from __future__ import annotations

from psycopg import AsyncConnection
from psycopg.rows import TupleRow

from reference.auth.identity import Identity
from reference.auth.model import Auth
from reference.auth.passwords import PasswordHashing, check_password_policy
from reference.auth.signing_keys import ensure_signing_key
from reference.platform.seeding import SEED_ACTOR, SEED_CREDENTIALS, SeedCredential
from reference.platform.tenancy import TenantTransaction, tenant_scope

# The seed confirms its factors without a code, so it spends no time step: step 0.
SEEDED_CONFIRMATION_STEP = 0


async def seed(connection: AsyncConnection[TupleRow]) -> None:
    await ensure_signing_key(connection)
    auth, identity, hashing = Auth(), Identity(), PasswordHashing(concurrency=1)
    for credential in SEED_CREDENTIALS:
        async with tenant_scope(connection, credential.tenant.id) as tx:
            await _seed_credential(tx, auth, identity, hashing, credential)


async def _seed_credential(
    tx: TenantTransaction, auth: Auth, identity: Identity, hashing: PasswordHashing, seeded: SeedCredential
) -> None:
    user = await identity.user_named(tx, seeded.username)
    if user is None or await auth.credentials.find(tx, user.id) is not None:
        return
    password = check_password_policy(seeded.password, username=seeded.username)
    await auth.set_password(
        tx,
        user.id,
        await hashing.hash(password),
        set_by="administrator",
        expected_version=None,
        actor=SEED_ACTOR,
    )
    enrolled = await auth.enrol_second_factor(tx, user.id, seeded.totp_secret, SEED_ACTOR)
    await auth.confirm_second_factor(
        tx, user.id, SEEDED_CONFIRMATION_STEP, expected_version=enrolled.version, actor=SEED_ACTOR
    )
