"""How a simulated person arrives: an account, roles, a password and an authenticator of their own.

The platform operator (the admin token, acting in the person's tenant) opens
the person's directory account with the roles they need and sets their first
password at auth; the person then logs in with it, gets an enrolment token,
enrols a TOTP authenticator and confirms it with its code. From then on they
log in with password and code like everyone (:mod:`loadtests.sign_in`).

Each person has their own credential: auth takes each TOTP time step once per
credential, so people sharing a seeded login would refuse each other's codes.
Every request is a real one, named by its endpoint template, and counts in the
budgets of the service it goes to.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from loadtests.platform_user import PlatformUser
from loadtests.sign_in import AUTH, LOGIN, Login, Person, bearer, platform_admin_headers
from reference.platform.seeding import SeedTenant

DIRECTORY = "directory"
ROLES = "/v1/roles"
USERS = "/v1/users"
USER_ROLES = "/v1/users/{user_id}/roles"
SET_PASSWORD = "/v1/users/{user_id}/password"
ENROL = "/v1/me/second-factor"
CONFIRM = "/v1/me/second-factor/confirmation"


def unique_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def new_password() -> str:
    """A password auth's policy accepts: long, random, never containing the username."""
    return f"load {secrets.token_urlsafe(15)}"


def new_account(username: str) -> dict[str, str]:
    """The body of ``POST /v1/users`` for a new account."""
    return {"username": username, "display_name": username.title(), "email": f"{username}@load.example"}


def roles_by_name(user: PlatformUser, headers: Mapping[str, str]) -> dict[str, str]:
    """The tenant's roles (name -> id), as its directory lists them."""
    page = user.call("GET", ROLES, service=DIRECTORY, headers=headers, params={"limit": 100})
    return {role["name"]: role["id"] for role in page["items"]}


def onboard(user: PlatformUser, tenant: SeedTenant, prefix: str, roles: Sequence[str]) -> Person:
    """A new person of ``tenant`` holding ``roles``, with a password and a confirmed authenticator."""
    operator = platform_admin_headers(tenant.id)
    role_ids = roles_by_name(user, operator)
    body = new_account(unique_name(prefix))
    account = user.call("POST", USERS, service=DIRECTORY, expect=(201,), headers=operator, json=body)
    for role in roles:
        user.call(
            "POST",
            USER_ROLES,
            service=DIRECTORY,
            expect=(201,),
            headers=operator,
            json={"role_id": role_ids[role]},
            user_id=account["id"],
        )
    person = Person(tenant.id, account["username"], account["id"], tuple(roles), Login(new_password()))
    set_password(user, operator, person, expect=(201,))
    enrol_authenticator(user, person)
    return person


def set_password(
    user: PlatformUser, headers: Mapping[str, str], person: Person, *, expect: tuple[int, ...] = (200,)
) -> None:
    """An administrator sets the person's password (201 the first time: it creates the credential)."""
    assert person.login is not None
    user.call(
        "PUT",
        SET_PASSWORD,
        service=AUTH,
        expect=expect,
        headers=headers,
        json={"password": person.login.password},
        user_id=person.user_id,
    )


def enrol_authenticator(user: PlatformUser, person: Person) -> None:
    """Log in with the password alone, enrol a TOTP authenticator and confirm it with its code."""
    assert person.login is not None
    body = {
        "tenant_id": str(person.tenant_id),
        "username": person.username,
        "password": person.login.password,
    }
    answer = user.call("POST", LOGIN, service=AUTH, json=body, check=_enrolment_required)
    enrolment_headers = bearer(answer["enrolment_token"])
    enrolment = user.call("POST", ENROL, service=AUTH, expect=(201,), headers=enrolment_headers)
    person.login.totp_secret = enrolment["secret"]
    user.call(
        "POST", CONFIRM, service=AUTH, headers=enrolment_headers, json={"code": person.login.use_code()}
    )


def _enrolment_required(body: Any) -> str | None:
    if isinstance(body, dict) and body.get("status") == "second_factor_enrolment_required":
        return None
    return "the login did not ask for a second factor to be enrolled"
