"""How a simulated person gets credentials: a real two-factor login at auth, renewed by refresh.

Every person has their own credential (:mod:`loadtests.people` opens their
account and enrols their authenticator when they arrive), so concurrent people
never compete for a TOTP time step: auth accepts each step once per credential.
A person logs in with password and the code their authenticator shows
(``POST /v1/login``), and renews the access token with the refresh token
(``POST /v1/token/refresh``) before it expires, as an app would.

Minted tokens (:func:`token_from_installed_key`: signed with the installed key,
exactly as auth signs them, read through ``FITGATE_LOAD_DATABASE_URL``) are for
benchmarks that need one token for many users, never for the scenarios.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fitness.load.scenario_environment import ADMIN_TOKEN_VARIABLE, LOAD_DATABASE_VARIABLE
from loadtests.platform_user import PlatformUser
from reference.platform.access_tokens import issue_access_token, private_key_from_pem
from reference.platform.settings import DEFAULT_AUDIENCE, DEFAULT_ISSUER
from reference.platform.test_tokens import NEWEST_SIGNING_KEY
from reference.platform.totp import STEP_S, code_at_step, time_step

TENANT_HEADER = "X-Tenant-ID"
AUTH = "auth"
LOGIN = "/v1/login"
REFRESH = "/v1/token/refresh"
MINTED_TOKEN_TTL_S = 300  # as long as auth's access tokens live
_RENEW_AFTER = 0.8  # of the lifetime: renew before the token expires


@dataclass
class Login:
    """What a person logs in with; ``last_step`` is the latest TOTP time step they used.

    Auth takes a code of the previous, current or next step, each step once per
    credential. A person uses the current step's code, or, when that one is
    spent, the next one (as a phone whose clock runs a little ahead shows it):
    never the previous one, which a step boundary passing during the request
    would make too old.
    """

    password: str
    totp_secret: str = ""
    last_step: int = -1

    def code_ready(self) -> bool:
        """Whether a code is usable now without waiting."""
        return self.last_step <= time_step()

    def use_code(self) -> str:
        """A code not used before (waiting for one if both usable steps are spent), marked as used."""
        step = max(self.last_step + 1, time_step())
        while step > time_step() + 1:
            time.sleep(STEP_S - time.time() % STEP_S + 0.05)  # gevent's sleep under locust
        self.last_step = step
        return code_at_step(self.totp_secret, step)


@dataclass(frozen=True)
class Person:
    """Someone who signs in: their tenant, user id, roles, and (for real logins) their login."""

    tenant_id: UUID
    username: str
    user_id: str
    roles: tuple[str, ...]
    login: Login | None = None


@dataclass(frozen=True)
class Credentials:
    """The headers a person's requests carry, and what renews them."""

    headers: dict[str, str]
    renew_at: float  # time.monotonic() after which the credentials are renewed
    access_token: str | None = None
    refresh_token: str | None = None
    session_id: str | None = None

    def current(self) -> bool:
        return time.monotonic() < self.renew_at

    @classmethod
    def from_grant(cls, grant: dict[str, Any]) -> Credentials:
        """From auth's answer to a login or a refresh."""
        token = str(grant["access_token"])
        return cls(
            bearer(token),
            time.monotonic() + float(grant["expires_in"]) * _RENEW_AFTER,
            token,
            str(grant["refresh_token"]),
            str(grant["session_id"]),
        )


SignIn = Callable[[PlatformUser, Person], Credentials]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def authenticated(body: Any) -> str | None:
    """A body check: the login gave a session's tokens."""
    if isinstance(body, dict) and body.get("status") == "authenticated" and body.get("access_token"):
        return None
    status = body.get("status") if isinstance(body, dict) else None
    return f"the login did not give tokens (status {status})"


def log_in(user: PlatformUser, person: Person) -> Credentials:
    """Password and a fresh TOTP code at auth: a new session's tokens."""
    if person.login is None:
        raise RuntimeError(f"{person.username} has no login (people arrive through loadtests.people)")
    body = {
        "tenant_id": str(person.tenant_id),
        "username": person.username,
        "password": person.login.password,
        "code": person.login.use_code(),
    }
    grant = user.call("POST", LOGIN, service=AUTH, json=body, check=authenticated)
    return Credentials.from_grant(grant)


def refresh(user: PlatformUser, credentials: Credentials) -> Credentials:
    """A new access token and a rotated refresh token for the same session."""
    grant = user.call("POST", REFRESH, service=AUTH, json={"refresh_token": credentials.refresh_token})
    return Credentials.from_grant(grant)


def token_from_installed_key(user: PlatformUser, person: Person) -> Credentials:
    """An access token minted from the installed key (no auth, no session): for benchmarks."""
    kid, key = _signing_key()
    token = issue_access_token(
        private_key=key,
        kid=kid,
        tenant_id=person.tenant_id,
        subject=person.user_id,
        roles=person.roles,
        issuer=os.environ.get("FITGATE_TOKEN_ISSUER", DEFAULT_ISSUER),
        audience=os.environ.get("FITGATE_TOKEN_AUDIENCE", DEFAULT_AUDIENCE),
        ttl_s=MINTED_TOKEN_TTL_S,
    )
    return Credentials(bearer(token), time.monotonic() + MINTED_TOKEN_TTL_S * _RENEW_AFTER, token)


# How every scenario signs a person in.
SIGN_IN: SignIn = log_in


def platform_admin_headers(tenant_id: UUID | None = None) -> dict[str, str]:
    """Headers of a platform operator's request (the admin token), in ``tenant_id`` if given."""
    token = os.environ.get(ADMIN_TOKEN_VARIABLE)
    if not token:
        raise RuntimeError(f"the platform operator's requests need {ADMIN_TOKEN_VARIABLE}")
    headers = bearer(token)
    if tenant_id is not None:
        headers[TENANT_HEADER] = str(tenant_id)
    return headers


class Session:
    """A signed-in person: their request headers, renewed (refresh, else a new login) before they expire."""

    def __init__(self, user: PlatformUser, person: Person, sign_in: SignIn | None = None) -> None:
        self.user = user
        self.person = person
        self._sign_in = sign_in or SIGN_IN
        self._credentials = self._sign_in(user, person)

    @property
    def credentials(self) -> Credentials:
        if not self._credentials.current():
            if self._credentials.refresh_token is not None:
                self._credentials = refresh(self.user, self._credentials)
            else:
                self._credentials = self._sign_in(self.user, self.person)
        return self._credentials

    @property
    def headers(self) -> dict[str, str]:
        return self.credentials.headers

    def refresh(self) -> Credentials:
        """Renew now with the refresh token (as an app does on its own schedule)."""
        self._credentials = refresh(self.user, self._credentials)
        return self._credentials


_key: tuple[str, Ed25519PrivateKey] | None = None


def _signing_key() -> tuple[str, Ed25519PrivateKey]:
    """The newest active signing key, read once per process."""
    global _key
    if _key is None:
        url = os.environ.get(LOAD_DATABASE_VARIABLE)
        if not url:
            raise RuntimeError(
                f"minting tokens needs {LOAD_DATABASE_VARIABLE} (the installed database's URL)"
            )
        with psycopg.connect(url) as connection:
            row = connection.execute(NEWEST_SIGNING_KEY).fetchone()
        if row is None:
            raise RuntimeError("auth.signing_keys holds no active key: was the platform installed?")
        _key = (str(row[0]), private_key_from_pem(str(row[1])))
    return _key
