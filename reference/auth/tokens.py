"""The tokens auth hands out: access tokens, enrolment tokens and refresh tokens.

- **Access tokens** are the kernel's EdDSA JWTs
  (:func:`reference.platform.access_tokens.issue_access_token`), signed with the
  newest unretired key of ``auth.signing_keys``, with the session (``sid``) and
  the user's license seats (``seats``).
- **Enrolment tokens** are the same kind of JWT for another audience
  (``<issuer>#second-factor-enrolment``): every other service refuses them, and
  auth accepts them only at its second-factor enrolment endpoints. A user who
  has no confirmed second factor gets one instead of a session.
- **Refresh tokens** are opaque: ``frt_`` and the base64url of the tenant id,
  the session id and 32 random bytes. Only their SHA-256 is stored; the ids in
  them say where to look, the random part is what proves possession.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from psycopg_pool import PoolTimeout

from reference.platform.access_tokens import (
    AccessTokenClaims,
    PublicKeyCache,
    TokenVerifier,
    issue_access_token,
    private_key_from_pem,
)
from reference.platform.errors import Unauthenticated, Unavailable
from reference.platform.pool import Pool
from reference.platform.settings import Settings
from reference.platform.tenancy import global_transaction

CURRENT_SIGNING_KEY = (
    "SELECT k.kid, k.private_key FROM auth.signing_keys AS k "
    "JOIN auth.signing_public_keys AS p ON p.kid = k.kid "
    "WHERE k.retired_at IS NULL AND (p.expires_at IS NULL OR p.expires_at > now()) "
    "ORDER BY k.created_at DESC, k.kid LIMIT 1"
)
REFRESH_TOKEN_PREFIX = "frt_"
_REFRESH_SECRET_BYTES = 32
_REFRESH_TOKEN_BYTES = 16 + 16 + _REFRESH_SECRET_BYTES
_SIGNING_KEY_CACHE_S = 60.0
_log = logging.getLogger("fitgate.auth.tokens")


def enrolment_audience(issuer: str) -> str:
    """The audience of enrolment tokens: no service but auth's enrolment endpoints accepts it."""
    return f"{issuer}#second-factor-enrolment"


@dataclass(frozen=True)
class RefreshToken:
    """A refresh token and what it names."""

    token: str
    tenant_id: UUID
    session_id: UUID

    @property
    def digest(self) -> str:
        """What is stored: the hex SHA-256 of the whole token."""
        return refresh_token_digest(self.token)


def new_refresh_token(tenant_id: UUID, session_id: UUID) -> RefreshToken:
    """A fresh refresh token for ``session_id``."""
    raw = tenant_id.bytes + session_id.bytes + secrets.token_bytes(_REFRESH_SECRET_BYTES)
    token = REFRESH_TOKEN_PREFIX + base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
    return RefreshToken(token, tenant_id, session_id)


def parse_refresh_token(token: str) -> RefreshToken | None:
    """The refresh token's tenant and session, or None if it is not one auth could have issued."""
    if not token.startswith(REFRESH_TOKEN_PREFIX) or len(token) > 200:
        return None
    body = token[len(REFRESH_TOKEN_PREFIX) :]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(raw) != _REFRESH_TOKEN_BYTES:
        return None
    return RefreshToken(token, UUID(bytes=raw[:16]), UUID(bytes=raw[16:32]))


def refresh_token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


class SigningKey:
    """The current signing key, read from ``auth.signing_keys`` and kept for a minute.

    A rotated key is picked up within the minute; if the database cannot be read
    when the minute is up, the key in hand keeps signing.
    """

    def __init__(self, pool: Pool) -> None:
        self._pool = pool
        self._key: tuple[str, Ed25519PrivateKey] | None = None
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()

    async def current(self) -> tuple[str, Ed25519PrivateKey]:
        """``(kid, private key)``; :class:`Unavailable` if no key could ever be read."""
        if self._key is None or time.monotonic() - self._loaded_at > _SIGNING_KEY_CACHE_S:
            await self._reload()
        assert self._key is not None  # _reload sets it or raises
        return self._key

    async def _reload(self) -> None:
        async with self._lock:
            if self._key is not None and time.monotonic() - self._loaded_at <= _SIGNING_KEY_CACHE_S:
                return
            try:
                async with global_transaction(self._pool) as connection:
                    cursor = await connection.execute(CURRENT_SIGNING_KEY)
                    row = await cursor.fetchone()
            except (psycopg.Error, PoolTimeout) as exc:
                if self._key is None:
                    raise Unavailable("the signing key cannot be read") from exc
                _log.warning("signing key not refreshed", extra={"fields": {"error": str(exc)}})
                self._loaded_at = time.monotonic() - _SIGNING_KEY_CACHE_S + 1.0
                return
            if row is None:
                raise Unavailable("auth.signing_keys holds no published, unretired key")
            self._key = (str(row[0]), private_key_from_pem(str(row[1])))
            self._loaded_at = time.monotonic()


class TokenIssuer:
    """Signs access and enrolment tokens; verifies enrolment tokens."""

    def __init__(self, settings: Settings, signing_key: SigningKey, public_keys: PublicKeyCache) -> None:
        self._settings = settings
        self._signing_key = signing_key
        self._enrolment = TokenVerifier(
            public_keys, settings.token_issuer, enrolment_audience(settings.token_issuer)
        )

    async def access_token(
        self,
        *,
        tenant_id: UUID,
        user_id: UUID,
        roles: Sequence[str],
        seats: Sequence[str],
        session_id: UUID,
        ttl_s: int,
    ) -> str:
        kid, key = await self._signing_key.current()
        return issue_access_token(
            private_key=key,
            kid=kid,
            tenant_id=tenant_id,
            subject=str(user_id),
            roles=roles,
            issuer=self._settings.token_issuer,
            audience=self._settings.token_audience,
            ttl_s=ttl_s,
            session_id=str(session_id),
            seats=seats,
        )

    async def enrolment_token(self, *, tenant_id: UUID, user_id: UUID, ttl_s: int) -> str:
        kid, key = await self._signing_key.current()
        return issue_access_token(
            private_key=key,
            kid=kid,
            tenant_id=tenant_id,
            subject=str(user_id),
            roles=(),
            issuer=self._settings.token_issuer,
            audience=enrolment_audience(self._settings.token_issuer),
            ttl_s=ttl_s,
        )

    async def verify_enrolment_token(self, token: str) -> AccessTokenClaims:
        """The claims of a valid enrolment token; :class:`Unauthenticated` for anything else."""
        try:
            return await self._enrolment.verify(token)
        except Unauthenticated as exc:
            raise Unauthenticated(
                f"an enrolment token from POST /v1/login is required ({exc.message})"
            ) from None
