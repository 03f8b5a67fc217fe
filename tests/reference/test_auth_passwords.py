"""The password policy, argon2id hashing, auth's policy settings and the refresh-token format."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import pytest

from reference.auth.passwords import PasswordHashing, check_password_policy
from reference.auth.policy import AuthPolicy
from reference.auth.tokens import new_refresh_token, parse_refresh_token, refresh_token_digest
from reference.platform.errors import InvalidInput, SettingsError


@pytest.mark.parametrize(
    ("password", "fragment"),
    [
        ("short", "at least 12"),
        ("x" * 129, "at most 128"),
        ("tab\tinside-it-all", "control"),
        ("abababababab", "different characters"),
        ("Password2024!", "commonly used"),
        ("!!Welcome1234!!", "commonly used"),
        ("QWERTYUIOPASDF", "commonly used"),
        ("987654321098", "commonly used"),
        ("abcdefghijklm", "commonly used"),
        ("i-am-alice-the-admin", "username"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password: str, fragment: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_password_policy(password, username="alice")
    assert refused.value.field == "password" and fragment in refused.value.message


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",
        "Tr0ub4dor&3-extended",
        "ünïcödé pass phrase",
        "12 monkeys ate my lunch",
    ],
)
def test_pass_phrases_and_any_characters_are_accepted(password: str) -> None:
    assert check_password_policy(password, username="alice")


def test_passwords_are_normalised_before_checking_and_hashing() -> None:
    composed, decomposed = "caf\u00e9 au lait tous les jours", "cafe\u0301 au lait tous les jours"
    assert check_password_policy(decomposed, username=None) == composed

    async def roundtrip() -> tuple[bool, bool, bool]:
        hashing = PasswordHashing(concurrency=2)
        stored = await hashing.hash(check_password_policy(composed, username=None))
        return (
            await hashing.verify(stored, decomposed),
            await hashing.verify(stored, "something else entirely"),
            await hashing.verify(None, composed),
        )

    assert asyncio.run(roundtrip()) == (True, False, False)


def test_hashes_are_argon2id_with_owasp_parameters() -> None:
    stored = asyncio.run(PasswordHashing(concurrency=1).hash("correct horse battery staple"))
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_policy_settings() -> None:
    assert AuthPolicy.from_environment({}) == AuthPolicy()
    custom = AuthPolicy.from_environment(
        {"FITGATE_AUTH_LOCKOUT_THRESHOLD": "3", "FITGATE_AUTH_SESSION_SECONDS": "3600"}
    )
    assert (custom.lockout_threshold, custom.session_lifetime_s) == (3, 3600)
    for value in ("0", "-2", "many"):
        with pytest.raises(SettingsError, match="FITGATE_AUTH_LOCKOUT_SECONDS"):
            AuthPolicy.from_environment({"FITGATE_AUTH_LOCKOUT_SECONDS": value})


def test_refresh_tokens_name_their_tenant_and_session() -> None:
    tenant_id, session_id = uuid4(), uuid4()
    token = new_refresh_token(tenant_id, session_id)
    parsed = parse_refresh_token(token.token)
    assert parsed == token and (parsed.tenant_id, parsed.session_id) == (tenant_id, session_id)
    assert parsed.digest == refresh_token_digest(token.token) and len(parsed.digest) == 64
    assert new_refresh_token(tenant_id, session_id).token != token.token
    for garbage in ("", "frt_", "frt_!!!", token.token[:-2], "xrt_" + token.token[4:], token.token + "AA"):
        assert parse_refresh_token(garbage) is None
