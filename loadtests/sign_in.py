"""How a simulated person gets credentials: the one place that changes when real logins exist.

Until the auth service serves logins, a person's access token is minted here
exactly as auth signs it (EdDSA, with the newest signing key the installer
generated, read once per process from ``FITGATE_LOAD_DATABASE_URL``, which
``fitgate load`` sets on local runs). Without that variable (a deployed
platform whose database the load generator cannot read) people act through the
platform admin token (``FITGATE_ADMIN_TOKEN``) with ``X-Tenant-ID``.

Switching to real logins is one change: point ``SIGN_IN`` at a function that
logs the person in against auth (password and TOTP, ``POST /v1/token``) and
returns their :class:`Credentials`; every scenario signs in through ``SIGN_IN``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from locust import User

from fitness.load.scenario_environment import ADMIN_TOKEN_VARIABLE, LOAD_DATABASE_VARIABLE
from reference.platform.access_tokens import issue_access_token, private_key_from_pem
from reference.platform.settings import DEFAULT_AUDIENCE, DEFAULT_ISSUER
from reference.platform.test_tokens import NEWEST_SIGNING_KEY

TENANT_HEADER = "X-Tenant-ID"
TOKEN_TTL_S = 300  # as long as auth's access tokens live
_RENEW_AFTER = 0.8  # of the lifetime: sign in again before the token expires


@dataclass(frozen=True)
class Person:
    """Someone who signs in: their tenant, user id and roles."""

    tenant_id: UUID
    username: str
    user_id: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Credentials:
    """The headers a person's requests carry, and when to sign in again."""

    headers: dict[str, str]
    renew_at: float  # time.monotonic() after which the credentials are renewed

    def current(self) -> bool:
        return time.monotonic() < self.renew_at


SignIn = Callable[[User, Person], Credentials]


def token_from_installed_key(user: User, person: Person) -> Credentials:
    """An access token signed with the installed key, as auth would issue it at login."""
    kid, key = _signing_key()
    token = issue_access_token(
        private_key=key,
        kid=kid,
        tenant_id=person.tenant_id,
        subject=person.user_id,
        roles=person.roles,
        issuer=os.environ.get("FITGATE_TOKEN_ISSUER", DEFAULT_ISSUER),
        audience=os.environ.get("FITGATE_TOKEN_AUDIENCE", DEFAULT_AUDIENCE),
        ttl_s=TOKEN_TTL_S,
    )
    return Credentials({"Authorization": f"Bearer {token}"}, time.monotonic() + TOKEN_TTL_S * _RENEW_AFTER)


def through_platform_admin(user: User, person: Person) -> Credentials:
    """The platform admin token acting in the person's tenant (every role; no user identity)."""
    return Credentials(platform_admin_headers(person.tenant_id), float("inf"))


def sign_in_without_auth(user: User, person: Person) -> Credentials:
    """Today's sign-in: a token from the installed key where it can be read, else the admin token."""
    if os.environ.get(LOAD_DATABASE_VARIABLE):
        return token_from_installed_key(user, person)
    if os.environ.get(ADMIN_TOKEN_VARIABLE):
        return through_platform_admin(user, person)
    raise RuntimeError(
        f"cannot sign in: set {LOAD_DATABASE_VARIABLE} (a URL of the installed database, to mint tokens) "
        f"or {ADMIN_TOKEN_VARIABLE} (the platform admin token)"
    )


# The one line to change once auth serves logins.
SIGN_IN: SignIn = sign_in_without_auth


def platform_admin_headers(tenant_id: UUID | None = None) -> dict[str, str]:
    """Headers of a platform operator's request (the admin token), in ``tenant_id`` if given."""
    headers = {"Authorization": f"Bearer {os.environ.get(ADMIN_TOKEN_VARIABLE, '')}"}
    if tenant_id is not None:
        headers[TENANT_HEADER] = str(tenant_id)
    return headers


class Session:
    """A signed-in person: their request headers, renewed by signing in again when they expire."""

    def __init__(self, user: User, person: Person) -> None:
        self.user = user
        self.person = person
        self._credentials = SIGN_IN(user, person)

    @property
    def headers(self) -> dict[str, str]:
        if not self._credentials.current():
            self._credentials = SIGN_IN(self.user, self.person)
        return self._credentials.headers


_key: tuple[str, Ed25519PrivateKey] | None = None


def _signing_key() -> tuple[str, Ed25519PrivateKey]:
    """The newest active signing key, read once per process."""
    global _key
    if _key is None:
        with psycopg.connect(os.environ[LOAD_DATABASE_VARIABLE]) as connection:
            row = connection.execute(NEWEST_SIGNING_KEY).fetchone()
        if row is None:
            raise RuntimeError("auth.signing_keys holds no active key: was the platform installed?")
        _key = (str(row[0]), private_key_from_pem(str(row[1])))
    return _key
