"""Minting access tokens in tests, from the signing key the installer generated.

For tests of every service (and load tests): no running auth service needed.
The token is exactly what auth issues, signed with the newest unretired key in
``auth.signing_keys``, so services verify it with the published public key.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import psycopg

from reference.platform.access_tokens import issue_access_token, private_key_from_pem
from reference.platform.settings import DEFAULT_AUDIENCE, DEFAULT_ISSUER

NEWEST_SIGNING_KEY = (
    "SELECT kid, private_key FROM auth.signing_keys WHERE retired_at IS NULL "
    "ORDER BY created_at DESC, kid LIMIT 1"
)


def mint_test_access_token(
    database_url: str,
    *,
    tenant_id: UUID,
    user_id: UUID | str,
    roles: Sequence[str] = (),
    ttl_s: int = 300,
    issuer: str = DEFAULT_ISSUER,
    audience: str = DEFAULT_AUDIENCE,
    now: int | None = None,
) -> str:
    """A valid access token for ``user_id`` in ``tenant_id`` with ``roles``.

    ``database_url`` must reach ``auth.signing_keys`` (a superuser URL of the
    installed database). ``ttl_s`` and ``now`` let a test make expired tokens.
    """
    with psycopg.connect(database_url) as connection:
        row = connection.execute(NEWEST_SIGNING_KEY).fetchone()
    if row is None:
        raise LookupError("auth.signing_keys holds no active key: was the platform installed?")
    kid, pem = row
    return issue_access_token(
        private_key=private_key_from_pem(str(pem)),
        kid=str(kid),
        tenant_id=tenant_id,
        subject=str(user_id),
        roles=roles,
        issuer=issuer,
        audience=audience,
        ttl_s=ttl_s,
        now=now,
    )
