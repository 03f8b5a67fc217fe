"""Signed access tokens: EdDSA (Ed25519) JWTs, issued by auth, verified by every service.

A token's header carries ``alg: EdDSA``, ``typ: at+jwt`` and the ``kid`` of its
signing key; its claims are ``iss``, ``aud``, ``sub`` (the user id), ``tenant_id``,
``roles`` (role names), ``iat``, ``exp`` and ``jti``, and, in tokens auth issues
at login, ``sid`` (the auth session, so that introspection can tell a revoked
session) and ``seats`` (the ids of the licenses where the user holds an assigned
seat). Services verify with the
public keys auth publishes in the global table ``auth.signing_public_keys``,
read directly from the database (never over HTTP) and cached briefly, so
verification keeps working while auth is down. A token that verified is
remembered (by its exact text) until it expires or the key cache's lifetime
passes, whichever is first: a client sends the same token with every request,
and its signature needs checking once, not every time.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import jwt
import psycopg
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from psycopg_pool import PoolTimeout

from reference.platform.errors import Unauthenticated, Unavailable
from reference.platform.pool import Pool
from reference.platform.tenancy import global_transaction

ALGORITHM = "EdDSA"
TOKEN_TYPE = "at+jwt"
LEEWAY_S = 30
READ_PUBLIC_KEYS = (
    "SELECT kid, public_key FROM auth.signing_public_keys "
    "WHERE algorithm = 'EdDSA' AND (expires_at IS NULL OR expires_at > now())"
)
_log = logging.getLogger("fitgate.access_tokens")
# An unknown kid triggers a reload at most this often, so forged kids cannot hammer the database.
_MIN_RELOAD_INTERVAL_S = 1.0
# Verified tokens remembered at most (the least recently used are forgotten first).
_REMEMBERED_TOKENS = 10_000


@dataclass(frozen=True)
class AccessTokenClaims:
    """The verified content of an access token."""

    tenant_id: UUID
    subject: str
    roles: frozenset[str]
    token_id: str
    issued_at: int
    expires_at: int
    session_id: str | None = None
    seats: frozenset[str] = frozenset()


def issue_access_token(
    *,
    private_key: Ed25519PrivateKey,
    kid: str,
    tenant_id: UUID,
    subject: str,
    roles: Sequence[str],
    issuer: str,
    audience: str,
    ttl_s: int = 300,
    now: int | None = None,
    session_id: str | None = None,
    seats: Sequence[str] | None = None,
) -> str:
    """A signed access token for ``subject`` in ``tenant_id`` with ``roles``, valid ``ttl_s`` seconds.

    ``session_id`` and ``seats`` add the ``sid`` and ``seats`` claims (auth's logins set both).
    """
    issued_at = int(time.time()) if now is None else now
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "tenant_id": str(tenant_id),
        "roles": sorted(set(roles)),
        "iat": issued_at,
        "exp": issued_at + ttl_s,
        "jti": str(uuid.uuid4()),
    }
    if session_id is not None:
        claims["sid"] = session_id
    if seats is not None:
        claims["seats"] = sorted(set(seats))
    return jwt.encode(claims, private_key, algorithm=ALGORITHM, headers={"kid": kid, "typ": TOKEN_TYPE})


def private_key_from_pem(pem: str) -> Ed25519PrivateKey:
    """Load an Ed25519 private key stored as PKCS#8 PEM (``auth.signing_keys.private_key``)."""
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 private key")
    return key


def public_key_from_pem(pem: str) -> Ed25519PublicKey:
    """Load an Ed25519 public key stored as SubjectPublicKeyInfo PEM."""
    key = serialization.load_pem_public_key(pem.encode("ascii"))
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


class PublicKeyCache:
    """The published verification keys, reloaded after ``ttl_s`` or when an unknown kid shows up."""

    def __init__(self, pool: Pool, ttl_s: float) -> None:
        self._pool = pool
        self._ttl_s = ttl_s
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()

    @property
    def ttl_s(self) -> float:
        """How long a key read from the database is trusted without reading it again."""
        return self._ttl_s

    async def key(self, kid: str) -> Ed25519PublicKey | None:
        """The public key ``kid``, or None if auth publishes no such (unexpired) key."""
        age = time.monotonic() - self._loaded_at
        if age > self._ttl_s or (kid not in self._keys and age > _MIN_RELOAD_INTERVAL_S):
            await self._reload()
        return self._keys.get(kid)

    async def _reload(self) -> None:
        async with self._lock:
            if time.monotonic() - self._loaded_at <= _MIN_RELOAD_INTERVAL_S:
                return  # another request just reloaded
            try:
                async with global_transaction(self._pool) as connection:
                    cursor = await connection.execute(READ_PUBLIC_KEYS)
                    rows = await cursor.fetchall()
            except (psycopg.Error, PoolTimeout) as exc:
                if not self._keys:
                    raise Unavailable("the token verification keys cannot be read") from exc
                # Keep verifying with the keys we have; try the database again shortly.
                _log.warning("verification keys not refreshed", extra={"fields": {"error": str(exc)}})
                self._loaded_at = time.monotonic() - self._ttl_s + _MIN_RELOAD_INTERVAL_S
                return
            self._keys = {str(kid): public_key_from_pem(str(pem)) for kid, pem in rows}
            self._loaded_at = time.monotonic()


class TokenVerifier:
    """Checks signature, issuer, audience and lifetime; raises :class:`Unauthenticated` otherwise."""

    def __init__(self, keys: PublicKeyCache, issuer: str, audience: str) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._verified: OrderedDict[str, tuple[AccessTokenClaims, float]] = OrderedDict()

    async def verify(self, token: str) -> AccessTokenClaims:
        """The token's claims, from memory if this exact token verified recently."""
        now = time.time()
        remembered = self._verified.get(token)
        if remembered is not None:
            claims, until = remembered
            if now < until:
                self._verified.move_to_end(token)
                return claims
            del self._verified[token]
        claims = await self._verify(token)
        # Forgotten when it expires, or when a key that was withdrawn must stop verifying it.
        self._verified[token] = (claims, min(claims.expires_at + LEEWAY_S, now + self._keys.ttl_s))
        if len(self._verified) > _REMEMBERED_TOKENS:
            self._verified.popitem(last=False)
        return claims

    async def _verify(self, token: str) -> AccessTokenClaims:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("the access token is malformed") from None
        kid = header.get("kid")
        if header.get("alg") != ALGORITHM or not isinstance(kid, str):
            raise Unauthenticated("the access token is not an EdDSA token with a key id")
        key = await self._keys.key(kid)
        if key is None:
            raise Unauthenticated("the access token is signed with an unknown key")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                leeway=LEEWAY_S,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the access token has expired") from None
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"the access token is invalid: {exc}") from None
        try:
            tenant_id = UUID(str(claims["tenant_id"]))
            roles = _strings(claims.get("roles", []), "roles")
            seats = _strings(claims.get("seats", []), "seats")
            session_id = claims.get("sid")
            if session_id is not None and not isinstance(session_id, str):
                raise ValueError("sid")
        except (KeyError, ValueError):
            raise Unauthenticated(
                "the access token has no valid tenant_id, or an invalid roles, seats or sid claim"
            ) from None
        return AccessTokenClaims(
            tenant_id=tenant_id,
            subject=str(claims["sub"]),
            roles=frozenset(roles),
            token_id=str(claims.get("jti", "")),
            issued_at=int(claims["iat"]),
            expires_at=int(claims["exp"]),
            session_id=session_id,
            seats=frozenset(seats),
        )


def _strings(value: object, claim: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(claim)
    return value
