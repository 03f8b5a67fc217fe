"""Logging in, refreshing, logging out and introspecting: auth's flows over its aggregates.

Login is two short transactions around the password check, so that no
database connection waits on argon2: the first reads the user (directory) and
the credential with its secrets; the second locks the credential row, checks
the lock and the second factor, and records the outcome: ``LoginFailed`` (and
``CredentialLocked`` at the policy's threshold), or ``SessionStarted``. Because
the row is locked, concurrent guesses against one credential are counted one by
one: parallel requests cannot slip past the lockout.

Every failure answers the same 401 ("the username, password or code is
wrong"), whichever part was wrong, so a response never confirms a password
without its code. A locked credential answers 401 ``credential_locked`` with
``Retry-After``, without checking anything. A user whose password is right but
who has no confirmed second factor gets no session: an enrolment token (10
minutes, accepted only by the enrolment endpoints) to enrol and confirm a TOTP
factor, then logs in with password and code like everyone else.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from reference.auth.identity import Identity
from reference.auth.model import POLICY, Auth, LockedCredential
from reference.auth.passwords import PasswordHashing, check_password_policy
from reference.auth.policy import AuthPolicy
from reference.auth.tokens import (
    REFRESH_TOKEN_PREFIX,
    RefreshToken,
    TokenIssuer,
    new_refresh_token,
    parse_refresh_token,
)
from reference.platform.access_tokens import AccessTokenClaims, TokenVerifier
from reference.platform.aggregates import Change
from reference.platform.errors import Conflict, InvalidInput, NotFound, PlatformError, Unauthenticated
from reference.platform.event_store import Actor
from reference.platform.pool import Pool
from reference.platform.tenancy import TenantTransaction, tenant_transaction
from reference.platform.totp import matching_step, new_secret, provisioning_uri

WRONG_CREDENTIALS = "the username, password or code is wrong"
INVALID_REFRESH_TOKEN = "the refresh token is invalid, expired or revoked"
_log = logging.getLogger("fitgate.auth")


class CredentialLocked(PlatformError):
    """Too many failed logins: the credential refuses every login until the lock ends."""

    status = 401
    code = "credential_locked"

    def __init__(self, until: datetime, now: datetime) -> None:
        retry_after = max(1, math.ceil((until - now).total_seconds()))
        super().__init__(
            f"too many failed logins: the credential is locked until {until.isoformat()}",
            headers={"Retry-After": str(retry_after)},
        )


@dataclass(frozen=True)
class Client:
    """Where a request came from and which request it is: recorded in the events it causes."""

    address: str | None
    request_id: str | None

    def details(self) -> dict[str, str]:
        return {} if self.address is None else {"client_address": self.address[:100]}

    def actor(self, performed_by: str) -> Actor:
        return Actor(performed_by, self.request_id)


@dataclass(frozen=True)
class GrantedTokens:
    """A session's tokens, from a login or a refresh."""

    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    session_id: UUID


@dataclass(frozen=True)
class EnrolmentRequired:
    """The password was right, but there is no confirmed second factor yet."""

    enrolment_token: str
    expires_in: int


@dataclass(frozen=True)
class Enrolment:
    """A new TOTP secret, shown once, and the change that recorded it."""

    secret: str
    uri: str
    change: Change


@dataclass(frozen=True)
class _Refused:
    """A decision taken inside a transaction that must commit before the request fails."""

    error: PlatformError


class Authenticator:
    """The flows of auth, shared by all requests of the process."""

    def __init__(
        self,
        *,
        pool: Pool,
        auth: Auth,
        identity: Identity,
        hashing: PasswordHashing,
        issuer: TokenIssuer,
        verifier: TokenVerifier,
        policy: AuthPolicy,
        issuer_name: str,
        audience: str,
    ) -> None:
        self._pool = pool
        self._auth = auth
        self._identity = identity
        self._hashing = hashing
        self._issuer = issuer
        self._verifier = verifier
        self._policy = policy
        self._issuer_name = issuer_name
        self._audience = audience

    # Login

    async def login(
        self, tenant_id: UUID, username: str, password: str, code: str | None, client: Client
    ) -> GrantedTokens | EnrolmentRequired:
        async with tenant_transaction(self._pool, tenant_id) as tx:
            user = await self._identity.user_named(tx, username)
            subject = None if user is None else await self._auth.login_subject(tx, user.id)
        password_ok = await self._hashing.verify(subject.password_hash if subject else None, password)
        if user is None or subject is None or not user.active:
            _log.info("login refused", extra={"fields": {"reason": "no active user with a credential"}})
            raise Unauthenticated(WRONG_CREDENTIALS)
        async with tenant_transaction(self._pool, tenant_id) as tx:
            credential = await self._auth.lock_credential(tx, user.id)
            outcome: _Refused | GrantedTokens | EnrolmentRequired
            if credential is None or not _same_secrets(credential.state, subject.state):
                outcome = _Refused(Unauthenticated(WRONG_CREDENTIALS))  # changed while we hashed
            elif credential.is_locked():
                assert credential.locked_until is not None
                outcome = _Refused(CredentialLocked(credential.locked_until, credential.now))
            elif not password_ok:
                outcome = await self._fail(tx, credential, "password", client)
            elif credential.state["second_factor"] != "confirmed":
                token = await self._issuer.enrolment_token(
                    tenant_id=tenant_id, user_id=user.id, ttl_s=self._policy.enrolment_token_ttl_s
                )
                outcome = EnrolmentRequired(token, self._policy.enrolment_token_ttl_s)
            else:
                outcome = await self._second_factor(tx, credential, subject.totp_secret, code, client)
        if isinstance(outcome, _Refused):
            raise outcome.error
        return outcome

    async def _second_factor(
        self,
        tx: TenantTransaction,
        credential: LockedCredential,
        secret: str | None,
        code: str | None,
        client: Client,
    ) -> _Refused | GrantedTokens:
        step = matching_step(secret, code) if secret and code else None
        if step is None:
            return await self._fail(tx, credential, "second_factor", client)
        if step <= await self._auth.last_second_factor_step(tx, credential):
            return await self._fail(tx, credential, "second_factor_reused", client)
        user_id = UUID(credential.state["user_id"])
        session_id = uuid4()
        refresh = new_refresh_token(tx.tenant_id, session_id)
        roles = await self._identity.roles(tx, user_id)
        seats = await self._identity.seats(tx, user_id)
        change = await self._auth.start_session(
            tx,
            session_id=session_id,
            credential=credential,
            refresh_token_hash=refresh.digest,
            second_factor_step=step,
            lifetime=timedelta(seconds=self._policy.session_lifetime_s),
            refresh_idle=timedelta(seconds=self._policy.refresh_idle_s),
            actor=client.actor(str(user_id)),
            client=client.details(),
        )
        return await self._grant(tx.tenant_id, user_id, roles, seats, refresh, change.state, credential.now)

    async def _fail(
        self, tx: TenantTransaction, credential: LockedCredential, reason: str, client: Client
    ) -> _Refused:
        changes = await self._auth.record_failed_login(
            tx,
            credential,
            reason=reason,
            threshold=self._policy.lockout_threshold,
            window=timedelta(seconds=self._policy.lockout_window_s),
            lock_for=timedelta(seconds=self._policy.lockout_duration_s),
            client=client.details(),
            request_id=client.request_id,
        )
        _log.info(
            "login failed",
            extra={
                "fields": {"reason": reason, "locked": len(changes) > 1, "user_id": credential.state["id"]}
            },
        )
        return _Refused(Unauthenticated(WRONG_CREDENTIALS))

    async def _grant(
        self,
        tenant_id: UUID,
        user_id: UUID,
        roles: list[str],
        seats: list[str],
        refresh: RefreshToken,
        session: dict[str, Any],
        now: datetime,
    ) -> GrantedTokens:
        access_token = await self._issuer.access_token(
            tenant_id=tenant_id,
            user_id=user_id,
            roles=roles,
            seats=seats,
            session_id=refresh.session_id,
            ttl_s=self._policy.access_token_ttl_s,
        )
        refresh_expires = datetime.fromisoformat(session["refresh_expires_at"])
        return GrantedTokens(
            access_token=access_token,
            expires_in=self._policy.access_token_ttl_s,
            refresh_token=refresh.token,
            refresh_expires_in=max(0, int((refresh_expires - now).total_seconds())),
            session_id=refresh.session_id,
        )

    # Refresh and logout

    async def refresh(self, token: str, client: Client) -> GrantedTokens:
        """A new access token and a rotated refresh token; replaying an old one revokes the session."""
        presented = parse_refresh_token(token)
        if presented is None:
            raise Unauthenticated(INVALID_REFRESH_TOKEN)
        async with tenant_transaction(self._pool, presented.tenant_id) as tx:
            outcome = await self._rotate(tx, presented, client)
        if isinstance(outcome, _Refused):
            raise outcome.error
        return outcome

    async def _rotate(
        self, tx: TenantTransaction, presented: RefreshToken, client: Client
    ) -> _Refused | GrantedTokens:
        session = await self._auth.session_with_now(tx, presented.session_id)
        if session is None:
            return _Refused(Unauthenticated(INVALID_REFRESH_TOKEN))
        if presented.digest != session.state["refresh_token_hash"]:
            if not await self._auth.was_refresh_token_of(tx, session.id, presented.digest):
                return _Refused(Unauthenticated(INVALID_REFRESH_TOKEN))
            # A rotated token came back: whoever holds the current one may have stolen it.
            if session.state["status"] == "active":
                await self._auth.revoke_session(
                    tx,
                    session.id,
                    reason="refresh_token_reused",
                    expected_version=int(session.state["version"]),
                    actor=client.actor(POLICY),
                    details=client.details(),
                )
            _log.warning("refresh token reused", extra={"fields": {"session_id": str(session.id)}})
            return _Refused(Unauthenticated(INVALID_REFRESH_TOKEN))
        if not session.refreshable:
            return _Refused(Unauthenticated(INVALID_REFRESH_TOKEN))
        user = await self._identity.user(tx, session.user_id)
        if user is None or not user.active:
            return _Refused(Unauthenticated("the user of this session is no longer active"))
        rotated = new_refresh_token(tx.tenant_id, session.id)
        roles = await self._identity.roles(tx, user.id)
        seats = await self._identity.seats(tx, user.id)
        change = await self._auth.refresh_session(
            tx,
            session,
            rotated.digest,
            refresh_idle=timedelta(seconds=self._policy.refresh_idle_s),
            actor=client.actor(str(user.id)),
            client=client.details(),
        )
        return await self._grant(tx.tenant_id, user.id, roles, seats, rotated, change.state, session.now)

    async def logout(self, token: str, client: Client) -> bool:
        """Revoke the session of a current refresh token; False (and nothing changes) for any other."""
        presented = parse_refresh_token(token)
        if presented is None:
            return False
        async with tenant_transaction(self._pool, presented.tenant_id) as tx:
            session = await self._auth.session_with_now(tx, presented.session_id)
            if (
                session is None
                or session.state["status"] != "active"
                or presented.digest != session.state["refresh_token_hash"]
            ):
                return False
            await self._auth.revoke_session(
                tx,
                session.id,
                reason="logout",
                expected_version=int(session.state["version"]),
                actor=client.actor(str(session.user_id)),
                details=client.details(),
            )
        return True

    # Introspection (RFC 7662)

    async def introspect(self, token: str, caller_tenant: UUID | None) -> dict[str, Any]:
        """``{"active": true, ...claims}`` for a usable token; ``{"active": false}`` for anything else.

        ``caller_tenant`` (None for the platform admin) limits the answer to tokens
        of the caller's tenant: another tenant's token is inactive, not an error.
        """
        if token.startswith(REFRESH_TOKEN_PREFIX):
            return await self._introspect_refresh_token(token, caller_tenant)
        try:
            claims = await self._verifier.verify(token)
        except Unauthenticated:
            return {"active": False}
        if claims.session_id is None or (caller_tenant is not None and claims.tenant_id != caller_tenant):
            return {"active": False}
        try:
            session_id = UUID(claims.session_id)
        except ValueError:
            return {"active": False}
        standing = await self._auth.session_standing(self._pool, claims.tenant_id, session_id)
        if standing is None or not standing.active or str(standing.user_id) != claims.subject:
            return {"active": False}
        return _access_token_answer(claims, standing.username, self._issuer_name, self._audience)

    async def _introspect_refresh_token(self, token: str, caller_tenant: UUID | None) -> dict[str, Any]:
        presented = parse_refresh_token(token)
        if presented is None or (caller_tenant is not None and presented.tenant_id != caller_tenant):
            return {"active": False}
        async with tenant_transaction(self._pool, presented.tenant_id) as tx:
            found = await self._auth.refresh_standing(tx, presented.session_id)
        if found is None:
            return {"active": False}
        standing, digest, expires_at, issued_at = found
        if not standing.active or digest != presented.digest:
            return {"active": False}
        return {
            "active": True,
            "token_type": "refresh_token",
            "sub": str(standing.user_id),
            "username": standing.username,
            "tenant_id": str(presented.tenant_id),
            "sid": str(presented.session_id),
            "iss": self._issuer_name,
            "iat": int(issued_at.timestamp()),
            "exp": int(expires_at.timestamp()),
        }

    # Passwords and second factors

    async def set_password(
        self, tenant_id: UUID, user_id: UUID, password: str, *, expected_version: int | None, actor: Actor
    ) -> tuple[Change, bool]:
        """An administrator sets a user's password (creating the credential if needed)."""
        async with tenant_transaction(self._pool, tenant_id) as tx:
            user = await self._identity.user(tx, user_id)
        if user is None:
            raise NotFound(f"user {user_id} not found")
        if not user.active:
            raise Conflict(f"user {user_id} is deactivated: no password can be set")
        password_hash = await self._hashing.hash(check_password_policy(password, username=user.username))
        async with tenant_transaction(self._pool, tenant_id) as tx:
            return await self._auth.set_password(
                tx,
                user_id,
                password_hash,
                set_by="administrator",
                expected_version=expected_version,
                actor=actor,
            )

    async def change_own_password(
        self, claims: AccessTokenClaims, current: str, new: str, client: Client
    ) -> Change:
        """The user changes their password; a wrong current one counts as a failed login."""
        user_id = user_id_of(claims)
        async with tenant_transaction(self._pool, claims.tenant_id) as tx:
            user = await self._identity.user(tx, user_id)
            subject = None if user is None else await self._auth.login_subject(tx, user_id)
        if user is None or subject is None or not user.active:
            raise NotFound("you have no credential")
        password = check_password_policy(new, username=user.username, field="new_password")
        current_ok = await self._hashing.verify(subject.password_hash, current)
        password_hash = await self._hashing.hash(password) if current_ok else ""
        async with tenant_transaction(self._pool, claims.tenant_id) as tx:
            credential = await self._auth.lock_credential(tx, user_id)
            outcome: _Refused | Change
            if credential is None or not _same_secrets(credential.state, subject.state):
                outcome = _Refused(Conflict("the credential changed meanwhile; try again"))
            elif credential.is_locked():
                assert credential.locked_until is not None
                outcome = _Refused(CredentialLocked(credential.locked_until, credential.now))
            elif not current_ok:
                await self._fail(tx, credential, "password", client)
                outcome = _Refused(InvalidInput("current_password", "is not your current password"))
            else:
                outcome, _ = await self._auth.set_password(
                    tx,
                    user_id,
                    password_hash,
                    set_by="user",
                    expected_version=credential.version,
                    actor=client.actor(str(user_id)),
                )
        if isinstance(outcome, _Refused):
            raise outcome.error
        return outcome

    async def enrol_second_factor(self, claims: AccessTokenClaims, client: Client) -> Enrolment:
        """A new TOTP secret for the holder of an enrolment token (pending until confirmed)."""
        user_id = user_id_of(claims)
        secret = new_secret()
        async with tenant_transaction(self._pool, claims.tenant_id) as tx:
            user = await self._identity.user(tx, user_id)
            if user is None or not user.active:
                raise Unauthenticated("the user of this enrolment token is no longer active")
            change = await self._auth.enrol_second_factor(tx, user_id, secret, client.actor(str(user_id)))
        uri = provisioning_uri(secret, account=user.username, issuer=self._issuer_name)
        return Enrolment(secret, uri, change)

    async def confirm_second_factor(self, claims: AccessTokenClaims, code: str, client: Client) -> Change:
        """SecondFactorConfirmed if ``code`` is the pending factor's; a wrong code counts as a failure."""
        user_id = user_id_of(claims)
        async with tenant_transaction(self._pool, claims.tenant_id) as tx:
            credential = await self._auth.lock_credential(tx, user_id)
            if credential is None:
                raise NotFound("you have no credential")
            outcome = await self._confirm(tx, credential, code, client)
        if isinstance(outcome, _Refused):
            raise outcome.error
        return outcome

    async def _confirm(
        self, tx: TenantTransaction, credential: LockedCredential, code: str, client: Client
    ) -> _Refused | Change:
        if credential.is_locked():
            assert credential.locked_until is not None
            return _Refused(CredentialLocked(credential.locked_until, credential.now))
        if credential.state["second_factor"] != "pending":
            return _Refused(Conflict("no second factor is waiting for confirmation: enrol first"))
        user_id = UUID(credential.state["user_id"])
        _, secret = await self._auth.secrets(tx, user_id)
        step = matching_step(secret, code) if secret else None
        if step is None or step <= await self._auth.last_second_factor_step(tx, credential):
            await self._fail(tx, credential, "second_factor", client)
            return _Refused(InvalidInput("code", "is not the current code of the enrolled authenticator"))
        return await self._auth.confirm_second_factor(
            tx, user_id, step, expected_version=credential.version, actor=client.actor(str(user_id))
        )


def _same_secrets(now: dict[str, Any], then: dict[str, Any]) -> bool:
    """Whether the password and second factor read before hashing are still the credential's."""
    keys = ("password_set_at", "second_factor", "second_factor_enrolled_at")
    return all(now[key] == then[key] for key in keys)


def user_id_of(claims: AccessTokenClaims) -> UUID:
    """The user a token speaks for; :class:`Unauthenticated` if its subject is no user id."""
    try:
        return UUID(claims.subject)
    except ValueError:
        raise Unauthenticated("the token's subject is not a user id") from None


def _access_token_answer(
    claims: AccessTokenClaims, username: str, issuer: str, audience: str
) -> dict[str, Any]:
    return {
        "active": True,
        "token_type": "access_token",
        "sub": claims.subject,
        "username": username,
        "tenant_id": str(claims.tenant_id),
        "roles": sorted(claims.roles),
        "seats": sorted(claims.seats),
        "sid": claims.session_id,
        "jti": claims.token_id,
        "iss": issuer,
        "aud": audience,
        "iat": claims.issued_at,
        "exp": claims.expires_at,
    }
