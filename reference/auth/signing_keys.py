"""Generating the Ed25519 key pair that signs access tokens (at install time, and on rotation)."""

from __future__ import annotations

import base64
import secrets

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from psycopg import AsyncConnection
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

ACTIVE_KEY = "SELECT kid FROM auth.signing_keys WHERE retired_at IS NULL LIMIT 1"
INSERT_PRIVATE = "INSERT INTO auth.signing_keys (kid, algorithm, private_key) VALUES (%s, 'EdDSA', %s)"
INSERT_PUBLIC = (
    "INSERT INTO auth.signing_public_keys (kid, algorithm, public_key, jwk) VALUES (%s, 'EdDSA', %s, %s)"
)


async def ensure_signing_key(connection: AsyncConnection[TupleRow]) -> str:
    """The kid of an active signing key, generating one if there is none (idempotent)."""
    async with connection.transaction():
        cursor = await connection.execute(ACTIVE_KEY)
        row = await cursor.fetchone()
        if row is not None:
            return str(row[0])
        return await _generate(connection)


async def _generate(connection: AsyncConnection[TupleRow]) -> str:
    private_key = Ed25519PrivateKey.generate()
    public_key = private_key.public_key()
    kid = secrets.token_urlsafe(12)
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    public_pem = public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    jwk = {
        "kty": "OKP",
        "crv": "Ed25519",
        "alg": "EdDSA",
        "use": "sig",
        "kid": kid,
        "x": base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii"),
    }
    await connection.execute(INSERT_PRIVATE, (kid, private_pem))
    await connection.execute(INSERT_PUBLIC, (kid, public_pem, Jsonb(jwk)))
    return kid
