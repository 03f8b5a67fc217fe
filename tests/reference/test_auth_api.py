"""Every auth endpoint over HTTP, against the service running as its own process."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import UUID, uuid4

import httpx
import jwt
import psycopg

from reference.platform import totp
from reference.platform.seeding import SEED_CREDENTIALS, TENANT_A, seed_credential
from reference.platform.test_tokens import mint_test_access_token
from tests.reference.auth_flows import (
    TEST_PASSWORD,
    Authenticators,
    LoginUser,
    create_test_user,
    logged_in,
    login,
)
from tests.reference.conftest import TenantCaller, Tokens, bearer
from tests.reference.test_directory_api import assert_error

Connection = psycopg.Connection[tuple[object, ...]]
WRONG = "the username, password or code is wrong"


def verified_claims(auth: httpx.Client, token: str) -> dict[str, Any]:
    """The token's claims, verified with the key the JWKS endpoint publishes for its kid."""
    keys = {key["kid"]: key for key in auth.get("/.well-known/jwks.json").json()["keys"]}
    kid = jwt.get_unverified_header(token)["kid"]
    key = jwt.PyJWK(keys[kid])
    return dict(
        jwt.decode(token, key, algorithms=["EdDSA"], audience="fitgate-platform", issuer="fitgate-auth")
    )


def introspect(auth: httpx.Client, token: str, caller: str, **form: str) -> dict[str, Any]:
    response = auth.post("/v1/token/introspect", data={"token": token, **form}, headers=bearer(caller))
    assert response.status_code == 200, response.text
    return dict(response.json())


def credential(auth: httpx.Client, tenant: TenantCaller, user_id: UUID | str) -> dict[str, Any]:
    response = auth.get(f"/v1/users/{user_id}/credential", headers=tenant.admin)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_probes_openapi_and_jwks(auth: httpx.Client, superuser: Connection) -> None:
    assert auth.get("/healthz").json() == {"status": "alive"}
    assert auth.get("/readyz").json() == {"status": "ready", "role": "auth_service"}
    paths = set(auth.get("/openapi.json").json()["paths"])
    assert {
        "/v1/login",
        "/v1/token/refresh",
        "/v1/token/introspect",
        "/v1/logout",
        "/.well-known/jwks.json",
    } <= paths
    jwks = auth.get("/.well-known/jwks.json")
    assert jwks.headers["cache-control"] == "public, max-age=300"
    published = superuser.execute("SELECT jwk FROM auth.signing_public_keys").fetchall()
    assert jwks.json()["keys"] == [row[0] for row in published]
    assert all(key["kty"] == "OKP" and key["crv"] == "Ed25519" for key in jwks.json()["keys"])


def test_seeded_users_log_in_with_password_and_code(
    auth: httpx.Client, directory: httpx.Client, authenticators: Authenticators, superuser: Connection
) -> None:
    for seeded in SEED_CREDENTIALS:
        body = logged_in(auth, authenticators, seeded)
        assert body["token_type"] == "Bearer" and body["expires_in"] == 300
        assert body["refresh_token"].startswith("frt_") and body["refresh_expires_in"] == 7200
        claims = verified_claims(auth, body["access_token"])
        user_id, roles = superuser.execute(
            "SELECT u.id::text, "
            "coalesce(array_agg(r.name ORDER BY r.name) FILTER (WHERE r.name IS NOT NULL), '{}') "
            "FROM directory.users u LEFT JOIN directory.role_assignments a "
            "ON a.tenant_id = u.tenant_id AND a.user_id = u.id AND a.status = 'active' "
            "LEFT JOIN directory.roles r ON r.tenant_id = a.tenant_id AND r.id = a.role_id "
            "WHERE u.tenant_id = %s AND u.username = %s GROUP BY u.id",
            (seeded.tenant.id, seeded.username),
        ).fetchone()  # type: ignore[misc]
        assert claims["sub"] == user_id and claims["tenant_id"] == str(seeded.tenant.id)
        assert claims["roles"] == roles
        assert claims["sid"] == body["session_id"] and isinstance(claims["seats"], list)
        assert claims["exp"] - claims["iat"] == 300
        # The token is exactly what every other service verifies.
        listed = directory.get("/v1/users", headers=bearer(body["access_token"]))
        assert listed.status_code == 200
        assert {u["tenant_id"] for u in listed.json()["items"]} == {str(seeded.tenant.id)}
    alice = next(c for c in SEED_CREDENTIALS if c.username == "alice")
    assert verified_claims(auth, logged_in(auth, authenticators, alice)["access_token"])["roles"] == [
        "admin",
        "clinician",
    ]


def test_every_wrong_part_answers_the_same_401(
    auth: httpx.Client,
    directory: httpx.Client,
    authenticators: Authenticators,
    new_tenant: Callable[[], TenantCaller],
) -> None:
    tenant = new_tenant()
    user = create_test_user(directory, auth, authenticators, tenant, "wrongparts")
    other = create_test_user(directory, auth, authenticators, tenant, "leaver")
    directory.post(f"/v1/users/{other.id}/deactivate", headers=tenant.admin)
    base = {"tenant_id": str(tenant.id), "username": user.username, "password": user.password}
    attempts = [
        {**base, "password": "not-the-password-at-all", "code": authenticators.code(user.secret)},
        {**base, "code": totp.code_at_step(user.secret, totp.time_step() + 5)},
        base,
        {**base, "username": "nobody-here", "code": "123456"},
        {**base, "tenant_id": str(uuid4()), "code": "123456"},
        {**base, "username": other.username, "code": authenticators.code(other.secret)},
    ]
    for body in attempts:
        response = auth.post("/v1/login", json=body)
        assert_error(response, 401, "unauthenticated")
        assert response.json()["message"] == WRONG
    # Only the attempts against the existing, active credential count.
    counted = credential(auth, tenant, user.id)
    assert counted["failed_logins"] == 3 and counted["locked_until"] is None
    assert credential(auth, tenant, other.id)["failed_logins"] == 0


def test_lockout_and_unlock(
    auth: httpx.Client,
    directory: httpx.Client,
    authenticators: Authenticators,
    new_tenant: Callable[[], TenantCaller],
) -> None:
    tenant = new_tenant()
    user = create_test_user(directory, auth, authenticators, tenant, "locksmith")
    wrong = {"tenant_id": str(tenant.id), "username": user.username, "password": "guess-guess-guess-1"}
    for attempt in range(1, 6):
        assert_error(auth.post("/v1/login", json=wrong), 401, "unauthenticated")
        state = credential(auth, tenant, user.id)
        if attempt < 5:
            assert (state["failed_logins"], state["locked_until"]) == (attempt, None)
    assert state["locked_until"] is not None and state["failed_logins"] == 0
    refused = login(auth, authenticators, user)
    assert_error(refused, 401, "credential_locked")
    assert 880 <= int(refused.headers["retry-after"]) <= 900
    assert_error(auth.post("/v1/login", json=wrong), 401, "credential_locked")
    assert credential(auth, tenant, user.id)["version"] == state["version"], (
        "refusals while locked change nothing"
    )
    history = auth.get(f"/v1/users/{user.id}/credential/history", headers=tenant.admin).json()
    assert [e["event_name"] for e in history[-6:]] == ["LoginFailed"] * 5 + ["CredentialLocked"]
    assert history[-1]["payload"] == {
        "performed_by": "auth-policy",
        "request_id": history[-1]["payload"]["request_id"],
        "locked_until": history[-1]["payload"]["locked_until"],
        "failed_logins": 5,
        "client_address": "127.0.0.1",
    }
    stale = auth.post(
        f"/v1/users/{user.id}/credential/unlock",
        headers={**tenant.admin, "If-Match": f'"{state["version"] - 1}"'},
    )
    assert_error(stale, 409, "version_conflict")
    unlocked = auth.post(
        f"/v1/users/{user.id}/credential/unlock", json={"reason": "called the helpdesk"}, headers=tenant.admin
    )
    assert unlocked.status_code == 200 and unlocked.json()["locked_until"] is None
    assert unlocked.headers["etag"] == f'"{state["version"] + 1}"'
    assert_error(auth.post(f"/v1/users/{user.id}/credential/unlock", headers=tenant.admin), 409, "conflict")
    assert logged_in(auth, authenticators, user)["status"] == "authenticated"


def test_enrolment_confirmation_and_replay(
    auth: httpx.Client,
    directory: httpx.Client,
    authenticators: Authenticators,
    new_tenant: Callable[[], TenantCaller],
) -> None:
    tenant = new_tenant()
    created = directory.post(
        "/v1/users",
        json={"username": "newcomer", "display_name": "N", "email": "n@x.example"},
        headers=tenant.admin,
    ).json()
    set_password = auth.put(
        f"/v1/users/{created['id']}/password", json={"password": TEST_PASSWORD}, headers=tenant.admin
    )
    assert set_password.status_code == 201 and set_password.headers["etag"] == '"1"'
    assert (set_password.json()["second_factor"], set_password.json()["password_set_by"]) == (
        "none",
        "administrator",
    )
    body = {"tenant_id": str(tenant.id), "username": "newcomer", "password": TEST_PASSWORD}
    first = auth.post("/v1/login", json={**body, "code": "123456"})
    assert first.status_code == 200
    assert first.json()["status"] == "second_factor_enrolment_required" and first.json()["expires_in"] == 600
    enrolment_token = first.json()["enrolment_token"]
    enrolment = bearer(enrolment_token)
    # An enrolment token is no access token: no service accepts it, introspection calls it inactive.
    assert_error(directory.get("/v1/users", headers=enrolment), 401, "unauthenticated")
    assert_error(
        auth.put("/v1/me/password", json={"current_password": "x", "new_password": "y"}, headers=enrolment),
        401,
        "unauthenticated",
    )
    assert introspect(auth, enrolment_token, tenant.admin["Authorization"][7:]) == {"active": False}
    assert_error(auth.post("/v1/me/second-factor"), 401, "unauthenticated")

    enrolled = auth.post("/v1/me/second-factor", headers=enrolment)
    assert enrolled.status_code == 201
    uri = urlsplit(enrolled.json()["otpauth_uri"])
    query = parse_qs(uri.query)
    assert (uri.scheme, uri.netloc, uri.path) == ("otpauth", "totp", "/fitgate-auth:newcomer")
    assert query["secret"] == [enrolled.json()["secret"]] and query["issuer"] == ["fitgate-auth"]
    assert (query["digits"], query["period"], query["algorithm"]) == (["6"], ["30"], ["SHA1"])
    assert enrolled.json()["credential"]["second_factor"] == "pending"
    again = auth.post("/v1/me/second-factor", headers=enrolment)
    secret = again.json()["secret"]
    assert secret != enrolled.json()["secret"], "enrolling again before confirming replaces the secret"
    stale_code = authenticators.code(enrolled.json()["secret"])
    rejected = auth.post("/v1/me/second-factor/confirmation", json={"code": stale_code}, headers=enrolment)
    assert_error(rejected, 422, "invalid_input", "code")
    assert_error(
        auth.post("/v1/me/second-factor/confirmation", json={"code": "12345"}, headers=enrolment),
        422,
        "invalid_input",
        "code",
    )
    code = authenticators.code(secret)
    confirmed = auth.post("/v1/me/second-factor/confirmation", json={"code": code}, headers=enrolment)
    assert confirmed.status_code == 200
    assert confirmed.json()["second_factor"] == "confirmed"
    assert confirmed.json()["second_factor_confirmed_step"] == totp.matching_step(secret, code)
    assert_error(auth.post("/v1/me/second-factor", headers=enrolment), 409, "conflict")

    # The confirming code is spent; a later one logs in, once.
    assert_error(auth.post("/v1/login", json={**body, "code": code}), 401, "unauthenticated")
    user = LoginUser(tenant.id, UUID(created["id"]), "newcomer", TEST_PASSWORD, secret)
    fresh = authenticators.code(secret)
    assert auth.post("/v1/login", json={**body, "code": fresh}).json()["status"] == "authenticated"
    replayed = auth.post("/v1/login", json={**body, "code": fresh})
    assert_error(replayed, 401, "unauthenticated")
    history = auth.get(f"/v1/users/{user.id}/credential/history", headers=tenant.admin).json()
    assert [e["payload"].get("reason") for e in history if e["event_name"] == "LoginFailed"] == [
        "second_factor",
        "second_factor_reused",
        "second_factor_reused",
    ]


def test_passwords_follow_the_policy(
    auth: httpx.Client, directory: httpx.Client, tokens: Tokens, new_tenant: Callable[[], TenantCaller]
) -> None:
    tenant = new_tenant()
    user = directory.post(
        "/v1/users",
        json={"username": "policy", "display_name": "P", "email": "p@x.example"},
        headers=tenant.admin,
    ).json()
    path = f"/v1/users/{user['id']}/password"
    for password, fragment in (
        ("short-one", "at least 12 characters"),
        ("Password2024!", "commonly used"),
        ("  qwertyuiop!!  ", "commonly used"),
        ("123456789012", "commonly used"),
        ("aaaaaabbbbbbcc", "different characters"),
        ("my-policy-is-great", "username"),
        ("x" * 129, "at most 128"),
        ("bell\x07-ringing-often", "control"),
    ):
        response = auth.put(path, json={"password": password}, headers=tenant.admin)
        assert_error(response, 422, "invalid_input", "password")
        assert fragment in response.json()["message"], (password, response.json()["message"])
    assert_error(auth.get(f"/v1/users/{user['id']}/credential", headers=tenant.admin), 404, "not_found")
    created = auth.put(path, json={"password": "four words make a phrase"}, headers=tenant.admin)
    assert created.status_code == 201
    assert_error(
        auth.put(path, json={"password": TEST_PASSWORD}, headers={**tenant.admin, "If-Match": '"7"'}),
        409,
        "version_conflict",
    )
    changed = auth.put(path, json={"password": TEST_PASSWORD}, headers={**tenant.admin, "If-Match": '"1"'})
    assert (changed.status_code, changed.json()["version"], changed.headers["etag"]) == (200, 2, '"2"')
    assert_error(auth.put(path, json={"password": TEST_PASSWORD}, headers=tenant.reader), 403, "forbidden")
    assert_error(
        auth.put(f"/v1/users/{uuid4()}/password", json={"password": TEST_PASSWORD}, headers=tenant.admin),
        404,
        "not_found",
    )
    directory.post(f"/v1/users/{user['id']}/deactivate", headers=tenant.admin)
    assert_error(auth.put(path, json={"password": TEST_PASSWORD}, headers=tenant.admin), 409, "conflict")
    as_platform_admin = bearer(tokens.admin(), **{"X-Tenant-ID": str(tenant.id)})
    assert auth.get(f"/v1/users/{user['id']}/credential", headers=as_platform_admin).json()["version"] == 2


def test_users_change_their_own_password(
    auth: httpx.Client,
    directory: httpx.Client,
    authenticators: Authenticators,
    tokens: Tokens,
    new_tenant: Callable[[], TenantCaller],
) -> None:
    tenant = new_tenant()
    user = create_test_user(directory, auth, authenticators, tenant, "changer")
    access = bearer(logged_in(auth, authenticators, user)["access_token"])
    new = "a brand new pass phrase"
    wrong = auth.put(
        "/v1/me/password", json={"current_password": "not it at all", "new_password": new}, headers=access
    )
    assert_error(wrong, 422, "invalid_input", "current_password")
    assert credential(auth, tenant, user.id)["failed_logins"] == 1, (
        "a wrong current password is a failed login"
    )
    weak = auth.put(
        "/v1/me/password",
        json={"current_password": user.password, "new_password": "changer-1234567"},
        headers=access,
    )
    assert_error(weak, 422, "invalid_input", "new_password")
    changed = auth.put(
        "/v1/me/password", json={"current_password": user.password, "new_password": new}, headers=access
    )
    assert changed.status_code == 200 and changed.json()["password_set_by"] == "user"
    assert_error(login(auth, authenticators, user), 401, "unauthenticated")
    renewed = LoginUser(user.tenant_id, user.id, user.username, new, user.secret)
    assert logged_in(auth, authenticators, renewed)["status"] == "authenticated"
    platform_admin = bearer(tokens.admin(), **{"X-Tenant-ID": str(tenant.id)})
    refused = auth.put(
        "/v1/me/password", json={"current_password": "a", "new_password": new}, headers=platform_admin
    )
    assert_error(refused, 401, "unauthenticated")


def test_refresh_rotates_and_a_replayed_token_revokes_the_session(
    auth: httpx.Client,
    directory: httpx.Client,
    authenticators: Authenticators,
    new_tenant: Callable[[], TenantCaller],
) -> None:
    tenant = new_tenant()
    user = create_test_user(directory, auth, authenticators, tenant, "rotator", roles=("nurse",))
    first = logged_in(auth, authenticators, user)
    second = auth.post("/v1/token/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    grant = second.json()
    assert grant["refresh_token"] != first["refresh_token"] and grant["session_id"] == first["session_id"]
    claims = verified_claims(auth, grant["access_token"])
    assert (claims["roles"], claims["sid"]) == (["nurse"], first["session_id"])
    caller = grant["access_token"]
    assert introspect(auth, first["access_token"], caller)["active"] is True, "older access tokens stay valid"
    third = auth.post("/v1/token/refresh", json={"refresh_token": grant["refresh_token"]}).json()
    session = auth.get(f"/v1/sessions/{first['session_id']}", headers=bearer(third["access_token"]))
    assert (session.json()["version"], session.json()["status"]) == (3, "active")
    assert "refresh_token_hash" not in session.json()

    # Someone else's session of the same user, untouched by what follows.
    bystander = logged_in(auth, authenticators, user)
    forged = bystander["refresh_token"][:-6] + (
        "AAAAAA" if not bystander["refresh_token"].endswith("AAAAAA") else "BBBBBB"
    )
    assert_error(auth.post("/v1/token/refresh", json={"refresh_token": forged}), 401, "unauthenticated")

    replayed = auth.post("/v1/token/refresh", json={"refresh_token": first["refresh_token"]})
    assert_error(replayed, 401, "unauthenticated")
    revoked = auth.get(f"/v1/sessions/{first['session_id']}", headers=tenant.admin).json()
    assert (revoked["status"], revoked["revoked_reason"]) == ("revoked", "refresh_token_reused")
    assert_error(
        auth.post("/v1/token/refresh", json={"refresh_token": third["refresh_token"]}), 401, "unauthenticated"
    )
    assert introspect(auth, third["access_token"], bystander["access_token"]) == {"active": False}
    assert (
        auth.get(f"/v1/sessions/{bystander['session_id']}", headers=tenant.admin).json()["status"] == "active"
    )
    assert (
        auth.post("/v1/token/refresh", json={"refresh_token": bystander["refresh_token"]}).status_code == 200
    )
    for garbage in ("frt_", "frt_AAAA", "not-a-token", "frt_" + "A" * 86):
        assert_error(auth.post("/v1/token/refresh", json={"refresh_token": garbage}), 401, "unauthenticated")
    assert_error(auth.post("/v1/token/refresh", json={}), 422, "invalid_input", "refresh_token")


def test_logout_ends_the_session(
    auth: httpx.Client,
    directory: httpx.Client,
    authenticators: Authenticators,
    new_tenant: Callable[[], TenantCaller],
) -> None:
    tenant = new_tenant()
    user = create_test_user(directory, auth, authenticators, tenant, "leaving")
    body = logged_in(auth, authenticators, user)
    assert auth.post("/v1/logout", json={"refresh_token": body["refresh_token"]}).status_code == 204
    assert_error(
        auth.post("/v1/token/refresh", json={"refresh_token": body["refresh_token"]}), 401, "unauthenticated"
    )
    assert introspect(auth, body["access_token"], tenant.admin["Authorization"][7:]) == {"active": False}
    session = auth.get(f"/v1/sessions/{body['session_id']}", headers=tenant.admin).json()
    assert (session["status"], session["revoked_reason"], session["version"]) == ("revoked", "logout", 2)
    assert auth.post("/v1/logout", json={"refresh_token": body["refresh_token"]}).status_code == 204
    assert auth.post("/v1/logout", json={"refresh_token": "garbage"}).status_code == 204
    assert auth.get(f"/v1/sessions/{body['session_id']}", headers=tenant.admin).json()["version"] == 2
    assert_error(auth.post("/v1/logout", json={}), 422, "invalid_input", "refresh_token")


def test_introspection(
    auth: httpx.Client,
    directory: httpx.Client,
    authenticators: Authenticators,
    tokens: Tokens,
    platform_database: str,
    new_tenant: Callable[[], TenantCaller],
) -> None:
    tenant, elsewhere = new_tenant(), new_tenant()
    user = create_test_user(directory, auth, authenticators, tenant, "inspected", roles=("nurse",))
    body = logged_in(auth, authenticators, user)
    resource_server = tenant.reader["Authorization"][7:]
    answer = introspect(auth, body["access_token"], resource_server)
    claims = verified_claims(auth, body["access_token"])
    assert answer == {
        "active": True,
        "token_type": "access_token",
        "sub": str(user.id),
        "username": "inspected",
        "tenant_id": str(tenant.id),
        "roles": ["nurse"],
        "seats": [],
        "sid": body["session_id"],
        "jti": claims["jti"],
        "iss": "fitgate-auth",
        "aud": "fitgate-platform",
        "iat": claims["iat"],
        "exp": claims["exp"],
    }
    as_json = auth.post(
        "/v1/token/introspect", json={"token": body["access_token"]}, headers=bearer(resource_server)
    )
    assert as_json.json() == answer
    assert introspect(auth, body["access_token"], tokens.admin())["active"] is True
    refresh = introspect(auth, body["refresh_token"], resource_server, token_type_hint="refresh_token")
    assert (
        refresh["active"] is True
        and refresh["token_type"] == "refresh_token"
        and refresh["sid"] == body["session_id"]
    )
    assert refresh["exp"] - refresh["iat"] == 7200

    # Another tenant's resource server learns nothing about this tenant's tokens.
    foreign = elsewhere.reader["Authorization"][7:]
    assert introspect(auth, body["access_token"], foreign) == {"active": False}
    assert introspect(auth, body["refresh_token"], foreign) == {"active": False}
    no_session = mint_test_access_token(platform_database, tenant_id=tenant.id, user_id=user.id)
    expired = mint_test_access_token(
        platform_database, tenant_id=tenant.id, user_id=user.id, now=int(time.time()) - 3600, ttl_s=60
    )
    tampered = body["access_token"][:-4] + ("AAAA" if not body["access_token"].endswith("AAAA") else "BBBB")
    for token in (no_session, expired, tampered, "garbage", "frt_garbage"):
        assert introspect(auth, token, resource_server) == {"active": False}
    # Deactivated in the directory: the session is no longer usable.
    directory.post(f"/v1/users/{user.id}/deactivate", headers=tenant.admin)
    assert introspect(auth, body["access_token"], resource_server) == {"active": False}
    assert introspect(auth, body["refresh_token"], resource_server) == {"active": False}
    assert_error(
        auth.post("/v1/token/refresh", json={"refresh_token": body["refresh_token"]}), 401, "unauthenticated"
    )

    assert_error(
        auth.post("/v1/token/introspect", data={"token": body["access_token"]}), 401, "unauthenticated"
    )
    assert_error(
        auth.post("/v1/token/introspect", data={"token": "x"}, headers=bearer(body["refresh_token"])),
        401,
        "unauthenticated",
    )
    assert_error(
        auth.post("/v1/token/introspect", data={}, headers=bearer(resource_server)),
        422,
        "invalid_input",
        "token",
    )
    assert_error(
        auth.post(
            "/v1/token/introspect",
            data={"token": "x", "token_type_hint": "id_token"},
            headers=bearer(resource_server),
        ),
        422,
        "invalid_input",
        "token_type_hint",
    )
    not_json = auth.post(
        "/v1/token/introspect",
        content=b"{nope",
        headers={**bearer(resource_server), "content-type": "application/json"},
    )
    assert_error(not_json, 422, "invalid_input", "body")


def test_sessions_are_listed_and_revoked(
    auth: httpx.Client,
    directory: httpx.Client,
    authenticators: Authenticators,
    new_tenant: Callable[[], TenantCaller],
) -> None:
    tenant = new_tenant()
    user = create_test_user(directory, auth, authenticators, tenant, "traveller")
    colleague = create_test_user(directory, auth, authenticators, tenant, "colleague")
    laptop, phone = logged_in(auth, authenticators, user), logged_in(auth, authenticators, user)
    mine = bearer(laptop["access_token"])
    listed = auth.get("/v1/me/sessions", headers=mine).json()
    assert [s["id"] for s in listed] == [phone["session_id"], laptop["session_id"]]
    assert auth.get(f"/v1/users/{user.id}/sessions", headers=tenant.admin).json() == listed
    assert_error(auth.get(f"/v1/users/{user.id}/sessions", headers=mine), 403, "forbidden")
    theirs = bearer(logged_in(auth, authenticators, colleague)["access_token"])
    assert_error(auth.get(f"/v1/sessions/{phone['session_id']}", headers=theirs), 404, "not_found")
    assert_error(auth.delete(f"/v1/sessions/{phone['session_id']}", headers=theirs), 404, "not_found")
    assert auth.get(f"/v1/sessions/{phone['session_id']}", headers=mine).headers["etag"] == '"1"'
    assert_error(
        auth.delete(f"/v1/sessions/{phone['session_id']}", headers={**mine, "If-Match": '"2"'}),
        409,
        "version_conflict",
    )
    revoked = auth.delete(f"/v1/sessions/{phone['session_id']}", headers={**mine, "If-Match": '"1"'})
    assert revoked.status_code == 200 and revoked.json()["revoked_reason"] == "revoked"
    assert_error(auth.delete(f"/v1/sessions/{phone['session_id']}", headers=mine), 409, "conflict")
    assert [
        s["id"] for s in auth.get("/v1/me/sessions", params={"status": "revoked"}, headers=mine).json()
    ] == [phone["session_id"]]
    everywhere = auth.delete("/v1/me/sessions", headers=mine).json()["revoked"]
    assert [s["id"] for s in everywhere] == [laptop["session_id"]]
    assert introspect(auth, laptop["access_token"], tenant.reader["Authorization"][7:]) == {"active": False}
    again = logged_in(auth, authenticators, colleague)
    by_admin = auth.delete(f"/v1/users/{colleague.id}/sessions", headers=tenant.admin).json()["revoked"]
    assert len(by_admin) == 2 and {s["status"] for s in by_admin} == {"revoked"}
    assert_error(
        auth.post("/v1/token/refresh", json={"refresh_token": again["refresh_token"]}), 401, "unauthenticated"
    )
    assert auth.delete(f"/v1/users/{colleague.id}/sessions", headers=tenant.admin).json() == {"revoked": []}
    assert_error(auth.get(f"/v1/users/{uuid4()}/sessions", headers=tenant.admin), 404, "not_found")
    assert_error(auth.get(f"/v1/sessions/{uuid4()}", headers=tenant.admin), 404, "not_found")
    assert_error(
        auth.get("/v1/me/sessions", params={"status": "gone"}, headers=mine), 422, "invalid_input", "status"
    )


def test_removing_a_second_factor_sends_the_user_back_to_enrolment(
    auth: httpx.Client,
    directory: httpx.Client,
    authenticators: Authenticators,
    new_tenant: Callable[[], TenantCaller],
) -> None:
    tenant = new_tenant()
    user = create_test_user(directory, auth, authenticators, tenant, "lostphone")
    path = f"/v1/users/{user.id}/second-factor"
    assert_error(auth.delete(path, headers=tenant.reader), 403, "forbidden")
    removed = auth.request("DELETE", path, json={"reason": "phone lost"}, headers=tenant.admin)
    assert removed.status_code == 200 and removed.json()["second_factor"] == "none"
    assert removed.json()["second_factor_confirmed_step"] is None
    assert_error(auth.delete(path, headers=tenant.admin), 404, "not_found")
    again = auth.post(
        "/v1/login",
        json={
            "tenant_id": str(tenant.id),
            "username": user.username,
            "password": user.password,
            "code": "123456",
        },
    )
    assert again.json()["status"] == "second_factor_enrolment_required"


def test_input_is_validated_naming_the_field(
    auth: httpx.Client, new_tenant: Callable[[], TenantCaller]
) -> None:
    tenant = new_tenant()
    good = {"tenant_id": str(tenant.id), "username": "someone", "password": "whatever-it-is"}
    for field, value in (("tenant_id", "nope"), ("code", "12ab56"), ("username", ""), ("password", "")):
        assert_error(auth.post("/v1/login", json={**good, field: value}), 422, "invalid_input", field)
    assert_error(auth.post("/v1/login", json={**good, "extra": 1}), 422, "invalid_input", "extra")
    assert_error(
        auth.post("/v1/login", json={"username": "x", "password": "y"}), 422, "invalid_input", "tenant_id"
    )
    assert_error(
        auth.get("/v1/users/not-a-uuid/credential", headers=tenant.admin), 422, "invalid_input", "user_id"
    )
    assert_error(
        auth.put(
            f"/v1/users/{uuid4()}/password",
            json={"password": "x"},
            headers={**tenant.admin, "If-Match": "soon"},
        ),
        422,
        "invalid_input",
        "If-Match",
    )


def test_admin_endpoints_need_the_admin_role(
    auth: httpx.Client,
    directory: httpx.Client,
    authenticators: Authenticators,
    new_tenant: Callable[[], TenantCaller],
) -> None:
    tenant = new_tenant()
    user = create_test_user(directory, auth, authenticators, tenant, "plain")
    for method, path in (
        ("GET", f"/v1/users/{user.id}/credential"),
        ("GET", f"/v1/users/{user.id}/credential/history"),
        ("POST", f"/v1/users/{user.id}/credential/unlock"),
        ("DELETE", f"/v1/users/{user.id}/second-factor"),
        ("GET", f"/v1/users/{user.id}/sessions"),
        ("DELETE", f"/v1/users/{user.id}/sessions"),
    ):
        assert_error(auth.request(method, path, headers=tenant.reader), 403, "forbidden")


def test_seed_credentials_are_published_for_tests() -> None:
    assert seed_credential(TENANT_A, "alice").password == "amber-violet-harbour-42"
    assert {c.username for c in SEED_CREDENTIALS} == {"alice", "bob", "carol", "dave", "erin"}


def test_every_endpoint_has_a_declared_latency_budget(auth: httpx.Client, fitgate_config: Any) -> None:
    spec = auth.get("/openapi.json").json()["paths"]
    endpoints = {
        f"{method.upper()} {path}"
        for path, methods in spec.items()
        for method in methods
        if path not in ("/healthz", "/readyz")
    }
    assert set(fitgate_config.services["auth"].budgets) == endpoints
