"""Access tokens carry auth's session and seats claims, and verification insists on their shape."""

from __future__ import annotations

import asyncio
import time
from typing import Any, cast
from uuid import uuid4

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from reference.platform.access_tokens import LEEWAY_S, PublicKeyCache, TokenVerifier, issue_access_token
from reference.platform.errors import Unauthenticated

KEY = Ed25519PrivateKey.generate()


class OneKey:
    """The verifier's key source, holding one key (the database-backed cache is tested elsewhere)."""

    ttl_s = 30.0

    async def key(self, kid: str) -> Ed25519PublicKey | None:
        return KEY.public_key() if kid == "k1" else None


VERIFIER = TokenVerifier(cast(PublicKeyCache, OneKey()), "iss", "aud")


def issue(**extra: Any) -> str:
    return issue_access_token(
        private_key=KEY,
        kid="k1",
        tenant_id=uuid4(),
        subject="u",
        roles=["b", "a"],
        issuer="iss",
        audience="aud",
        **extra,
    )


def test_session_and_seats_claims() -> None:
    claims = asyncio.run(VERIFIER.verify(issue(session_id="s-1", seats=["l2", "l1", "l2"])))
    assert (claims.session_id, claims.seats, claims.roles) == (
        "s-1",
        frozenset({"l1", "l2"}),
        frozenset({"a", "b"}),
    )
    raw = jwt.decode(issue(session_id="s-1", seats=["l2", "l1"]), options={"verify_signature": False})
    assert raw["sid"] == "s-1" and raw["seats"] == ["l1", "l2"]
    plain = asyncio.run(VERIFIER.verify(issue()))
    assert (plain.session_id, plain.seats) == (None, frozenset())
    assert "sid" not in jwt.decode(issue(), options={"verify_signature": False})


@pytest.mark.parametrize("claims", [{"seats": "l1"}, {"seats": [1]}, {"sid": 7}, {"roles": "admin"}])
def test_malformed_claims_are_refused(claims: dict[str, Any]) -> None:
    payload = jwt.decode(issue(), options={"verify_signature": False}) | claims
    token = jwt.encode(payload, KEY, algorithm="EdDSA", headers={"kid": "k1", "typ": "at+jwt"})
    with pytest.raises(Unauthenticated, match="invalid roles, seats or sid"):
        asyncio.run(VERIFIER.verify(token))


class CountingKeys(OneKey):
    """One key, counting how often verification asked for it."""

    def __init__(self) -> None:
        self.asked = 0

    async def key(self, kid: str) -> Ed25519PublicKey | None:
        self.asked += 1
        return await super().key(kid)


def test_a_verified_token_is_remembered_until_it_expires() -> None:
    keys = CountingKeys()
    verifier = TokenVerifier(cast(PublicKeyCache, keys), "iss", "aud")
    token = issue()
    first = asyncio.run(verifier.verify(token))
    assert asyncio.run(verifier.verify(token)) == first and keys.asked == 1
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(Unauthenticated):
        asyncio.run(verifier.verify(tampered))
    with pytest.raises(Unauthenticated):
        asyncio.run(verifier.verify(tampered))
    assert keys.asked == 3, "a token that failed is checked again every time"
    expired = issue_access_token(
        private_key=KEY,
        kid="k1",
        tenant_id=uuid4(),
        subject="u",
        roles=[],
        issuer="iss",
        audience="aud",
        ttl_s=1,
        now=int(time.time()) - LEEWAY_S - 2,
    )
    with pytest.raises(Unauthenticated, match="expired"):
        asyncio.run(verifier.verify(expired))
