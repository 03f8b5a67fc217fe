"""Time-based one-time codes against RFC 6238's own test vectors, and the drift window."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import pytest

from reference.platform import totp

# RFC 6238, appendix B: the SHA-1 seed "12345678901234567890", 8-digit codes.
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()
RFC_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


@pytest.mark.parametrize(("at", "code"), RFC_VECTORS)
def test_rfc_6238_vectors(at: int, code: str) -> None:
    assert totp.code_at_step(RFC_SECRET, totp.time_step(at), digits=8) == code
    assert totp.code_at(RFC_SECRET, at) == code[-6:]


def test_codes_match_within_one_step_of_drift_only() -> None:
    secret = totp.new_secret()
    at = 1_700_000_000.0
    step = totp.time_step(at)
    for offset in (-1, 0, 1):
        assert totp.matching_step(secret, totp.code_at_step(secret, step + offset), at=at) == step + offset
    for offset in (-3, -2, 2, 3):
        code = totp.code_at_step(secret, step + offset)
        nearby = {totp.code_at_step(secret, step + o) for o in (-1, 0, 1)}
        assert totp.matching_step(secret, code, at=at) is None or code in nearby
    for malformed in ("", "12345", "1234567", "12345a", "١٢٣٤٥٦"):
        assert totp.matching_step(secret, malformed, at=at) is None


def test_secrets_and_provisioning_uri() -> None:
    secret = totp.new_secret()
    assert len(secret) == 32 and set(secret) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    assert totp.new_secret() != secret
    uri = urlsplit(totp.provisioning_uri(secret, account="alice@clinic", issuer="fitgate auth"))
    assert (uri.scheme, uri.netloc, uri.path) == ("otpauth", "totp", "/fitgate%20auth:alice@clinic")
    assert parse_qs(uri.query) == {
        "secret": [secret],
        "issuer": ["fitgate auth"],
        "algorithm": ["SHA1"],
        "digits": ["6"],
        "period": ["30"],
    }
