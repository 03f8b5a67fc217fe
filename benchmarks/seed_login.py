"""A real sign-in of a seeded user for benchmarks: password and TOTP over HTTP at a running auth."""

from __future__ import annotations

import httpx

from reference.platform import totp
from reference.platform.seeding import TENANT_A, seed_credential


def login_body() -> dict[str, str]:
    """The body of a login of the seed user alice: password and the current TOTP code."""
    alice = seed_credential(TENANT_A, "alice")
    return {
        "tenant_id": str(TENANT_A.id),
        "username": alice.username,
        "password": alice.password,
        "code": totp.code_at(alice.totp_secret),
    }


def log_in(auth_url: str) -> str:
    """An access token of the seed user alice, from a real password and TOTP login."""
    answer = httpx.post(f"{auth_url}/v1/login", json=login_body(), timeout=30)
    answer.raise_for_status()
    return str(answer.json()["access_token"])
