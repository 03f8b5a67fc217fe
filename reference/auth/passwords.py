"""Passwords: the policy a new one must meet, and argon2id hashing off the event loop.

The policy follows NIST SP 800-63B (5.1.1.2), which found that length and a
blocklist protect users, while composition rules ("one upper-case letter, one
digit, one symbol") and forced periodic changes only push them to predictable
patterns. A password:

- has 12 to 128 characters after Unicode NFKC normalisation (NIST's minimum is
  8; 12 because these accounts reach patient data, and pass phrases make it
  easy). Any printable character counts, spaces included; nothing else is
  required;
- is not a commonly used password, nor one of them with digits or symbols
  around it ("Password2024!"), nor a run such as ``123456789012``;
- has at least 5 different characters, and does not contain the username.

Hashes are argon2id with OWASP's recommended parameters (2 passes over 19 MiB,
one lane): about 50 ms on one core, so a login costs little while an offline
guess costs the same. Parameters are stored in each hash, so raising them
later still verifies older hashes.
"""

from __future__ import annotations

import asyncio
import secrets
import string
import unicodedata
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from reference.platform.errors import InvalidInput

MIN_LENGTH = 12
MAX_LENGTH = 128  # hashing cost must not be an attacker's lever
MIN_DISTINCT_CHARACTERS = 5
POLICY_SUMMARY = (
    f"{MIN_LENGTH} to {MAX_LENGTH} characters (a pass phrase is a good choice), at least "
    f"{MIN_DISTINCT_CHARACTERS} different ones, not a commonly used password, not a run like "
    "123456789012, and not containing the username; no other rules"
)
_AROUND_THE_WORD = string.digits + string.punctuation + string.whitespace
_RUNS = ("0123456789" * 3, "abcdefghijklmnopqrstuvwxyz" * 2, "qwertyuiopasdfghjklzxcvbnm")


def _common_passwords() -> frozenset[str]:
    text = resources.files("reference.auth").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(
        line.strip().casefold() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


COMMON_PASSWORDS = _common_passwords()


def normalised(password: str) -> str:
    """The password as it is checked and hashed: NFKC, so one phrase typed two ways is one password."""
    return unicodedata.normalize("NFKC", password)


def check_password_policy(password: str, *, username: str | None, field: str = "password") -> str:
    """The normalised password, or :class:`InvalidInput` on ``field`` saying which rule it breaks."""
    value = normalised(password)
    if len(value) < MIN_LENGTH:
        raise InvalidInput(field, f"must have at least {MIN_LENGTH} characters ({POLICY_SUMMARY})")
    if len(value) > MAX_LENGTH:
        raise InvalidInput(field, f"must have at most {MAX_LENGTH} characters")
    if any(unicodedata.category(c).startswith("C") for c in value):
        raise InvalidInput(field, "must not contain control or unassigned characters")
    folded = value.casefold()
    if len(set(folded)) < MIN_DISTINCT_CHARACTERS:
        raise InvalidInput(field, f"must have at least {MIN_DISTINCT_CHARACTERS} different characters")
    core = folded.strip(_AROUND_THE_WORD)
    if folded in COMMON_PASSWORDS or core in COMMON_PASSWORDS or _is_run(folded):
        raise InvalidInput(field, "is a commonly used password, or one with digits or symbols added")
    if username and len(username) >= 3 and username.casefold() in folded:
        raise InvalidInput(field, "must not contain the username")
    return value


def _is_run(folded: str) -> bool:
    compact = "".join(c for c in folded if not c.isspace())
    return any(compact in run or compact in run[::-1] for run in _RUNS)


class PasswordHashing:
    """argon2id hashing in worker threads, at most ``concurrency`` at once (each takes 19 MiB)."""

    def __init__(self, concurrency: int) -> None:
        self._hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
        self._slots = asyncio.Semaphore(concurrency)
        # Verified when there is no credential, so an unknown username takes as long as a known one.
        self._decoy = self._hasher.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        """The argon2id hash of ``password`` (already normalised by the policy check)."""
        async with self._slots:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether ``password`` matches; with no hash, the same work against a decoy, and False."""
        candidate = normalised(password)
        async with self._slots:
            matches = await asyncio.to_thread(self._matches, password_hash or self._decoy, candidate)
        return matches and password_hash is not None

    def _matches(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
