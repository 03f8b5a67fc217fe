"""Auth's HTTP API.

- Anyone: ``POST /v1/login``, ``POST /v1/token/refresh``, ``POST /v1/logout``,
  ``GET /.well-known/jwks.json``.
- A resource server (any access token, answered for its own tenant only; or the
  platform admin token, any tenant): ``POST /v1/token/introspect`` (RFC 7662).
- The holder of an enrolment token: ``POST /v1/me/second-factor`` and its confirmation.
- A logged-in user (access token): ``PUT /v1/me/password``, ``/v1/me/sessions``,
  and their own ``/v1/sessions/{session_id}``.
- A tenant administrator (the ``admin`` role, or the platform admin token with
  ``X-Tenant-ID``): passwords, credentials, second factors and sessions of the
  tenant's users. Writes return the aggregate with its version as ``ETag`` and
  honour ``If-Match`` (a stale version is 409).
"""

# No ``from __future__ import annotations`` here: FastAPI must resolve the dependency
# annotations made inside the router factories, which only evaluated annotations allow.

import json
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from reference.auth.api_models import (
    Authenticated,
    Credential,
    EnrolmentRequired,
    Introspection,
    IntrospectionRequest,
    Justification,
    Jwks,
    LoginRequest,
    LogoutRequest,
    NewPassword,
    PasswordChange,
    RefreshRequest,
    RevokedSessions,
    SecondFactorConfirmation,
    SecondFactorEnrolment,
    Session,
    TokenGrant,
)
from reference.auth.authenticator import Client, GrantedTokens, user_id_of
from reference.auth.service import AuthService
from reference.platform.access_tokens import AccessTokenClaims
from reference.platform.api_models import Event
from reference.platform.callers import (
    Caller,
    Credentials,
    Runtime,
    TenantCaller,
    bearer_token,
    is_admin_token,
)
from reference.platform.errors import InvalidInput, NotFound
from reference.platform.event_store import Actor
from reference.platform.request_parameters import IfMatch, PageSize, expected_version, with_etag
from reference.platform.tenancy import global_read, tenant_transaction

ADMIN_ROLE = "admin"
PUBLISHED_KEYS = (
    "SELECT jwk FROM auth.signing_public_keys WHERE expires_at IS NULL OR expires_at > now() "
    "ORDER BY created_at DESC, kid"
)
JWKS_MAX_AGE_S = 300
SessionStatus = Annotated[Literal["active", "revoked"] | None, Query(alias="status")]
_FORM = "application/x-www-form-urlencoded"


def auth_routers(service: AuthService) -> list[APIRouter]:
    """The routers of the auth API, working on ``service``."""
    return [_tokens(service), _keys(), _self_service(service), _administration(service)]


def _client(request: Request) -> Client:
    address = request.client.host if request.client is not None else None
    return Client(address, getattr(request.state, "request_id", None))


def _tokens(service: AuthService) -> APIRouter:
    router = APIRouter(tags=["tokens"])

    @router.post("/v1/login", response_model=Authenticated | EnrolmentRequired)
    async def login(body: LoginRequest, request: Request) -> dict[str, Any]:
        """Log in with password and TOTP code: a session's access and refresh tokens.

        A user without a confirmed second factor gets an enrolment token instead
        (``status: second_factor_enrolment_required``). Any wrong part answers the
        same 401, and counts towards the lockout (5 failures in 15 minutes lock
        the credential for 15 minutes: 401 ``credential_locked`` with Retry-After).
        """
        request.state.tenant_id = body.tenant_id
        outcome = await service.authenticator.login(
            body.tenant_id, body.username, body.password, body.code, _client(request)
        )
        if isinstance(outcome, GrantedTokens):
            return {"status": "authenticated", **_grant(outcome)}
        return {
            "status": "second_factor_enrolment_required",
            "enrolment_token": outcome.enrolment_token,
            "expires_in": outcome.expires_in,
        }

    @router.post("/v1/token/refresh", response_model=TokenGrant)
    async def refresh(body: RefreshRequest, request: Request) -> dict[str, Any]:
        """A new access token and a new refresh token; the presented one is spent.

        Presenting a spent refresh token again revokes its whole session: one of
        its two holders is not the user.
        """
        return _grant(await service.authenticator.refresh(body.refresh_token, _client(request)))

    @router.post("/v1/logout", status_code=status.HTTP_204_NO_CONTENT)
    async def logout(body: LogoutRequest, request: Request) -> Response:
        """End the session of a refresh token. Like RFC 7009, answers 204 whatever the token was."""
        await service.authenticator.logout(body.refresh_token, _client(request))
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @router.post(
        "/v1/token/introspect",
        response_model=Introspection,
        response_model_exclude_none=True,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    media: {"schema": IntrospectionRequest.model_json_schema()}
                    for media in (_FORM, "application/json")
                },
            }
        },
    )
    async def introspect(request: Request, runtime: Runtime, credentials: Credentials) -> JSONResponse:
        """RFC 7662 introspection: is this access or refresh token usable now, and its claims.

        Usable means: signature, issuer, audience and lifetime valid, its session
        neither revoked nor expired, and its user still active in the directory.
        The caller authenticates with an access token (answers concern its own
        tenant only) or the platform admin token.
        """
        token = bearer_token(credentials)
        caller_tenant: UUID | None = None
        if not is_admin_token(token, runtime.settings):
            caller_tenant = (await runtime.verifier.verify(token)).tenant_id
            request.state.tenant_id = caller_tenant
        body = await _introspection_request(request)
        # Built here field by field: returned as it is, not validated again against the model.
        return JSONResponse(await service.authenticator.introspect(body.token, caller_tenant))

    return router


def _keys() -> APIRouter:
    router = APIRouter(tags=["keys"])

    @router.get("/.well-known/jwks.json", response_model=Jwks)
    async def jwks(runtime: Runtime, response: Response) -> dict[str, Any]:
        """The public keys that verify access tokens (RFC 7517), newest first."""
        keys = [dict(row[0]) for row in await global_read(runtime.pool, PUBLISHED_KEYS)]
        response.headers["Cache-Control"] = f"public, max-age={JWKS_MAX_AGE_S}"
        return {"keys": keys}

    return router


def _self_service(service: AuthService) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["self-service"])

    async def user_claims(request: Request, runtime: Runtime, credentials: Credentials) -> AccessTokenClaims:
        claims = await runtime.verifier.verify(bearer_token(credentials))
        request.state.tenant_id = claims.tenant_id
        return claims

    async def enrolment_claims(request: Request, credentials: Credentials) -> AccessTokenClaims:
        claims = await service.issuer.verify_enrolment_token(bearer_token(credentials))
        request.state.tenant_id = claims.tenant_id
        return claims

    UserClaims = Annotated[AccessTokenClaims, Depends(user_claims)]
    EnrolmentClaims = Annotated[AccessTokenClaims, Depends(enrolment_claims)]

    @router.put("/me/password", response_model=Credential)
    async def change_password(
        body: PasswordChange, claims: UserClaims, request: Request, response: Response
    ) -> dict[str, Any]:
        """Change your password (CredentialSet). A wrong current password counts as a failed login."""
        change = await service.authenticator.change_own_password(
            claims, body.current_password, body.new_password, _client(request)
        )
        return with_etag(response, change.state)

    @router.post(
        "/me/second-factor", status_code=status.HTTP_201_CREATED, response_model=SecondFactorEnrolment
    )
    async def enrol(claims: EnrolmentClaims, request: Request, response: Response) -> dict[str, Any]:
        """Enrol a TOTP authenticator (SecondFactorEnrolled): its secret is shown this once.

        Needs the enrolment token of ``POST /v1/login``. Enrolling again before
        confirming replaces the secret.
        """
        enrolment = await service.authenticator.enrol_second_factor(claims, _client(request))
        with_etag(response, enrolment.change.state)
        return {
            "secret": enrolment.secret,
            "otpauth_uri": enrolment.uri,
            "credential": enrolment.change.state,
        }

    @router.post("/me/second-factor/confirmation", response_model=Credential)
    async def confirm(
        body: SecondFactorConfirmation, claims: EnrolmentClaims, request: Request, response: Response
    ) -> dict[str, Any]:
        """Confirm the enrolled authenticator with its current code (SecondFactorConfirmed).

        Then log in with password and a later code. A wrong code counts as a failed login.
        """
        change = await service.authenticator.confirm_second_factor(claims, body.code, _client(request))
        return with_etag(response, change.state)

    @router.get("/me/sessions", response_model=list[Session])
    async def my_sessions(
        claims: UserClaims, runtime: Runtime, session_status: SessionStatus = "active", limit: PageSize = 100
    ) -> list[dict[str, Any]]:
        """Your sessions, newest first (active ones unless ``status`` says otherwise)."""
        async with tenant_transaction(runtime.pool, claims.tenant_id) as tx:
            return await service.auth.sessions_of_user(
                tx, user_id_of(claims), status=session_status, limit=limit
            )

    @router.delete("/me/sessions", response_model=RevokedSessions)
    async def revoke_my_sessions(claims: UserClaims, runtime: Runtime, request: Request) -> dict[str, Any]:
        """Log out everywhere: revoke all your active sessions (one SessionRevoked each)."""
        actor = Actor(claims.subject, getattr(request.state, "request_id", None))
        async with tenant_transaction(runtime.pool, claims.tenant_id) as tx:
            changes = await service.auth.revoke_sessions_of_user(tx, user_id_of(claims), actor)
        return {"revoked": [change.state for change in changes]}

    return router


def _administration(service: AuthService) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["administration"])

    @router.put(
        "/users/{user_id}/password",
        response_model=Credential,
        responses={201: {"model": Credential, "description": "the user's first credential"}},
    )
    async def set_password(
        user_id: UUID,
        body: NewPassword,
        caller: TenantCaller,
        response: Response,
        if_match: IfMatch = None,
    ) -> dict[str, Any]:
        """Set a user's password (CredentialSet), creating their credential on first use (201).

        The user must exist and be active in the directory. The password must meet
        the policy (see the ``password`` field); the user then enrols a second
        factor at their first login.
        """
        caller.require_role(ADMIN_ROLE)
        change, created = await service.authenticator.set_password(
            caller.tenant_id,
            user_id,
            body.password,
            expected_version=expected_version(if_match),
            actor=caller.actor,
        )
        if created:
            response.status_code = status.HTTP_201_CREATED
        return with_etag(response, change.state)

    @router.get("/users/{user_id}/credential", response_model=Credential)
    async def get_credential(
        user_id: UUID, caller: TenantCaller, runtime: Runtime, response: Response
    ) -> dict[str, Any]:
        """A user's credential: second factor, failed logins, lock. Never a secret."""
        caller.require_role(ADMIN_ROLE)
        async with tenant_transaction(runtime.pool, caller.tenant_id) as tx:
            return with_etag(response, await service.auth.get_credential(tx, user_id))

    @router.get("/users/{user_id}/credential/history", response_model=list[Event])
    async def credential_history(
        user_id: UUID, caller: TenantCaller, runtime: Runtime
    ) -> list[dict[str, Any]]:
        """Every event of the credential, oldest first: passwords set, factors, failures, locks."""
        caller.require_role(ADMIN_ROLE)
        async with tenant_transaction(runtime.pool, caller.tenant_id) as tx:
            return [event.as_json() for event in await service.auth.credential_history(tx, user_id)]

    @router.post("/users/{user_id}/credential/unlock", response_model=Credential)
    async def unlock(
        user_id: UUID,
        caller: TenantCaller,
        runtime: Runtime,
        response: Response,
        body: Annotated[Justification | None, Body()] = None,
        if_match: IfMatch = None,
    ) -> dict[str, Any]:
        """Lift a lockout before it ends (CredentialUnlocked); 409 if the credential is not locked."""
        caller.require_role(ADMIN_ROLE)
        async with tenant_transaction(runtime.pool, caller.tenant_id) as tx:
            change = await service.auth.unlock(
                tx,
                user_id,
                reason=body.reason if body else None,
                expected_version=expected_version(if_match),
                actor=caller.actor,
            )
        return with_etag(response, change.state)

    @router.delete("/users/{user_id}/second-factor", response_model=Credential)
    async def remove_second_factor(
        user_id: UUID,
        caller: TenantCaller,
        runtime: Runtime,
        response: Response,
        body: Annotated[Justification | None, Body()] = None,
        if_match: IfMatch = None,
    ) -> dict[str, Any]:
        """Remove a user's second factor (SecondFactorRemoved), e.g. a lost phone.

        Their next login with the password gets an enrolment token to enrol a new one.
        """
        caller.require_role(ADMIN_ROLE)
        async with tenant_transaction(runtime.pool, caller.tenant_id) as tx:
            change = await service.auth.remove_second_factor(
                tx,
                user_id,
                reason=body.reason if body else None,
                expected_version=expected_version(if_match),
                actor=caller.actor,
            )
        return with_etag(response, change.state)

    @router.get("/users/{user_id}/sessions", response_model=list[Session])
    async def sessions_of_user(
        user_id: UUID,
        caller: TenantCaller,
        runtime: Runtime,
        session_status: SessionStatus = "active",
        limit: PageSize = 100,
    ) -> list[dict[str, Any]]:
        """A user's sessions, newest first (active ones unless ``status`` says otherwise)."""
        caller.require_role(ADMIN_ROLE)
        async with tenant_transaction(runtime.pool, caller.tenant_id) as tx:
            await service.auth.get_credential(tx, user_id)
            return await service.auth.sessions_of_user(tx, user_id, status=session_status, limit=limit)

    @router.delete("/users/{user_id}/sessions", response_model=RevokedSessions)
    async def revoke_sessions_of_user(
        user_id: UUID, caller: TenantCaller, runtime: Runtime
    ) -> dict[str, Any]:
        """Revoke every active session of a user (one SessionRevoked each)."""
        caller.require_role(ADMIN_ROLE)
        async with tenant_transaction(runtime.pool, caller.tenant_id) as tx:
            await service.auth.get_credential(tx, user_id)
            changes = await service.auth.revoke_sessions_of_user(tx, user_id, caller.actor)
        return {"revoked": [change.state for change in changes]}

    @router.get("/sessions/{session_id}", response_model=Session)
    async def get_session(
        session_id: UUID, caller: TenantCaller, runtime: Runtime, response: Response
    ) -> dict[str, Any]:
        """One session: an administrator's, or the caller's own."""
        async with tenant_transaction(runtime.pool, caller.tenant_id) as tx:
            session = await service.auth.get_session(tx, session_id)
        _require_owner_or_admin(caller, session)
        return with_etag(response, session)

    @router.delete("/sessions/{session_id}", response_model=Session)
    async def revoke_session(
        session_id: UUID, caller: TenantCaller, runtime: Runtime, response: Response, if_match: IfMatch = None
    ) -> dict[str, Any]:
        """Revoke one session (SessionRevoked): an administrator, or the session's own user.

        Its refresh token stops working at once, and introspection reports its
        access tokens inactive; 409 if it is already revoked.
        """
        async with tenant_transaction(runtime.pool, caller.tenant_id) as tx:
            session = await service.auth.get_session(tx, session_id)
            _require_owner_or_admin(caller, session)
            change = await service.auth.revoke_session(
                tx,
                session_id,
                reason="revoked",
                expected_version=expected_version(if_match),
                actor=caller.actor,
            )
        return with_etag(response, change.state)

    return router


def _require_owner_or_admin(caller: Caller, session: dict[str, Any]) -> None:
    if caller.is_platform_admin or ADMIN_ROLE in caller.roles:
        return
    if caller.actor.performed_by != session["user_id"]:
        # Someone else's session of the same tenant: as good as absent.
        raise NotFound(f"session {session['id']} not found")


def _grant(tokens: GrantedTokens) -> dict[str, Any]:
    return {
        "token_type": "Bearer",
        "access_token": tokens.access_token,
        "expires_in": tokens.expires_in,
        "refresh_token": tokens.refresh_token,
        "refresh_expires_in": tokens.refresh_expires_in,
        "session_id": tokens.session_id,
    }


async def _introspection_request(request: Request) -> IntrospectionRequest:
    """The body as RFC 7662 sends it (form-encoded), or as JSON."""
    raw = await request.body()
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if media == "application/json":
            fields: Any = json.loads(raw or b"null")
        else:
            form = parse_qs(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
            fields = {key: values[-1] for key, values in form.items()}
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("body", f"is not valid {media or _FORM}") from None
    if not isinstance(fields, dict):
        raise InvalidInput("body", "must be an object with a token field")
    try:
        return IntrospectionRequest.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "body"
        raise InvalidInput(field, first["msg"]) from None
