"""Time-based one-time codes (RFC 6238 TOTP over RFC 4226 HOTP), as authenticator apps make them.

The parameters every common authenticator app accepts: HMAC-SHA1, 6 digits, a
30-second time step, secrets of 20 random bytes written in base32 (32
characters). Auth verifies codes with these functions; tests and load tests
use them to compute the code an authenticator app would show, so they live in
the kernel rather than in the auth service.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from urllib.parse import quote, urlencode

DIGITS = 6
STEP_S = 30
SECRET_BYTES = 20  # 160 bits: RFC 4226's recommended key length for HMAC-SHA1
ALGORITHM = "SHA1"


def new_secret() -> str:
    """A fresh random secret in base32 (upper case, no padding)."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii").rstrip("=")


def time_step(at: float | None = None) -> int:
    """The RFC 6238 time step (``T``) of the moment ``at`` (now if None)."""
    return int((time.time() if at is None else at) // STEP_S)


def code_at_step(secret: str, step: int, digits: int = DIGITS) -> str:
    """The code of ``step``: HOTP (RFC 4226 section 5.3) with the step as the counter."""
    mac = hmac.new(_key(secret), step.to_bytes(8, "big"), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    binary = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(binary % 10**digits).zfill(digits)


def code_at(secret: str, at: float | None = None) -> str:
    """The code an authenticator app shows at the moment ``at`` (now if None)."""
    return code_at_step(secret, time_step(at))


def matching_step(secret: str, code: str, *, at: float | None = None, drift_steps: int = 1) -> int | None:
    """The time step whose code is ``code``, within ``drift_steps`` of now (clock drift), or None.

    Every candidate is compared in constant time, so the answer's timing does not
    tell which step matched.
    """
    if len(code) != DIGITS or not code.isascii() or not code.isdigit():
        return None
    current = time_step(at)
    found: int | None = None
    for step in range(current - drift_steps, current + drift_steps + 1):
        if hmac.compare_digest(code_at_step(secret, step), code) and found is None:
            found = step
    return found


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads (usually from a QR code)."""
    label = quote(f"{issuer}:{account}", safe="@:")
    query = urlencode(
        {"secret": secret, "issuer": issuer, "algorithm": ALGORITHM, "digits": DIGITS, "period": STEP_S},
        quote_via=quote,
    )
    return f"otpauth://totp/{label}?{query}"


def _key(secret: str) -> bytes:
    padded = secret.upper() + "=" * (-len(secret) % 8)
    return base64.b32decode(padded)
