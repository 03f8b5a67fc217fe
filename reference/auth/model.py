"""Auth's aggregates, Credential and Session, and every change to them with its one domain event.

Methods take a :class:`~reference.platform.tenancy.TenantTransaction`, so
row-level security already limits them to one tenant: another tenant's
credential or session is simply not found. A credential's secrets (the argon2
hash, the TOTP secret) are written to ``auth.credential_secrets`` in the same
transaction as the Credential event that records the change, and never into
the event itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from reference.platform.aggregates import DATABASE_NOW, AggregateTable, Change
from reference.platform.errors import Conflict, NotFound, require_version
from reference.platform.event_store import Actor, EventStore, RecordedEvent
from reference.platform.json_rows import all_json
from reference.platform.pool import Pool
from reference.platform.tenancy import TenantTransaction, tenant_read

SCHEMA = "auth"
ROLE = "auth_service"
CREDENTIAL = "Credential"
SESSION = "Session"
# performed_by of changes nobody authenticated made: a failed login, and what the policy does about it.
ANONYMOUS = Actor("anonymous")
POLICY = "auth-policy"

LOGIN_SUBJECT = (
    "SELECT to_jsonb(c.*), s.password_hash, s.totp_secret FROM auth.credentials AS c "
    "JOIN auth.credential_secrets AS s ON s.tenant_id = c.tenant_id AND s.credential_id = c.id "
    "WHERE c.tenant_id = %s AND c.id = %s"
)
LOCK_CREDENTIAL = (
    "SELECT to_jsonb(c.*), now() FROM auth.credentials AS c WHERE c.tenant_id = %s AND c.id = %s FOR UPDATE"
)
SECRETS = (
    "SELECT password_hash, totp_secret FROM auth.credential_secrets "
    "WHERE tenant_id = %s AND credential_id = %s"
)
INSERT_SECRETS = (
    "INSERT INTO auth.credential_secrets (tenant_id, credential_id, password_hash) VALUES (%s, %s, %s)"
)
UPDATE_PASSWORD_HASH = (
    "UPDATE auth.credential_secrets SET password_hash = %s, updated_at = now() "
    "WHERE tenant_id = %s AND credential_id = %s"
)
UPDATE_TOTP_SECRET = (
    "UPDATE auth.credential_secrets SET totp_secret = %s, updated_at = now() "
    "WHERE tenant_id = %s AND credential_id = %s"
)
LAST_SECOND_FACTOR_STEP = (
    "SELECT max(second_factor_step) FROM auth.sessions WHERE tenant_id = %s AND credential_id = %s"
)
SESSION_WITH_NOW = "SELECT to_jsonb(s.*), now() FROM auth.sessions AS s WHERE s.tenant_id = %s AND s.id = %s"
# Was this refresh token ever the session's? Each SessionStarted/SessionRefreshed state holds the hash.
ISSUED_REFRESH_TOKEN = (
    "SELECT EXISTS (SELECT 1 FROM auth.domain_event WHERE tenant_id = %s AND kind = 'Session' "
    "AND aggregate_id = %s AND state ->> 'refresh_token_hash' = %s)"
)
SESSIONS_OF_USER = (
    "SELECT to_jsonb(s.*) FROM auth.sessions AS s WHERE s.tenant_id = %(tenant_id)s "
    "AND s.user_id = %(user_id)s AND (%(status)s::text IS NULL OR s.status = %(status)s) "
    "ORDER BY s.started_at DESC, s.id LIMIT %(limit)s"
)
ACTIVE_SESSION_IDS = (
    "SELECT id, version FROM auth.sessions WHERE tenant_id = %s AND user_id = %s AND status = 'active' "
    "ORDER BY started_at, id"
)
# Introspection's one query: the session and its user's directory status.
SESSION_STANDING = (
    "SELECT s.user_id, s.status = 'active' AND s.expires_at > now() AND u.status = 'active', u.username "
    "FROM auth.sessions AS s JOIN directory.users AS u ON u.tenant_id = s.tenant_id AND u.id = s.user_id "
    "WHERE s.tenant_id = %s AND s.id = %s"
)
REFRESH_STANDING = (
    "SELECT s.user_id, s.refresh_token_hash, s.status = 'active' AND s.refresh_expires_at > now() "
    "AND u.status = 'active', u.username, s.refresh_expires_at, coalesce(s.last_refreshed_at, s.started_at) "
    "FROM auth.sessions AS s JOIN directory.users AS u ON u.tenant_id = s.tenant_id AND u.id = s.user_id "
    "WHERE s.tenant_id = %s AND s.id = %s"
)


@dataclass(frozen=True)
class LoginSubject:
    """A credential with its secrets, as read before the password is checked."""

    state: dict[str, Any]
    password_hash: str
    totp_secret: str | None


@dataclass(frozen=True)
class LockedCredential:
    """A credential row locked FOR UPDATE, with the transaction's time."""

    state: dict[str, Any]
    now: datetime

    @property
    def version(self) -> int:
        return int(self.state["version"])

    @property
    def locked_until(self) -> datetime | None:
        value = self.state["locked_until"]
        return None if value is None else datetime.fromisoformat(value)

    def is_locked(self) -> bool:
        until = self.locked_until
        return until is not None and until > self.now


@dataclass(frozen=True)
class SessionRow:
    state: dict[str, Any]
    now: datetime

    @property
    def id(self) -> UUID:
        return UUID(self.state["id"])

    @property
    def user_id(self) -> UUID:
        return UUID(self.state["user_id"])

    @property
    def active(self) -> bool:
        return (
            self.state["status"] == "active" and datetime.fromisoformat(self.state["expires_at"]) > self.now
        )

    @property
    def refreshable(self) -> bool:
        return self.active and datetime.fromisoformat(self.state["refresh_expires_at"]) > self.now


@dataclass(frozen=True)
class Standing:
    """What introspection needs of a session: whose it is, whether it is usable, the username."""

    user_id: UUID
    active: bool
    username: str


@dataclass
class Auth:
    """The auth schema's aggregates; one instance per process (it caches the event catalogue)."""

    store: EventStore = field(default_factory=lambda: EventStore(SCHEMA))

    def __post_init__(self) -> None:
        self.credentials = AggregateTable(
            self.store, "credentials", CREDENTIAL, unique_fields={"credentials_user_unique": "user_id"}
        )
        self.sessions = AggregateTable(
            self.store,
            "sessions",
            SESSION,
            unique_fields={"sessions_one_per_code": "code"},
            references={"sessions_credential_fk": "credential"},
        )

    # Credentials

    async def get_credential(self, tx: TenantTransaction, user_id: UUID) -> dict[str, Any]:
        found = await self.credentials.find(tx, user_id)
        if found is None:
            raise NotFound(f"user {user_id} has no credential")
        return found

    async def login_subject(self, tx: TenantTransaction, user_id: UUID) -> LoginSubject | None:
        cursor = await tx.connection.execute(LOGIN_SUBJECT, (tx.tenant_id, user_id))
        row = await cursor.fetchone()
        return None if row is None else LoginSubject(dict(row[0]), str(row[1]), row[2])

    async def lock_credential(self, tx: TenantTransaction, user_id: UUID) -> LockedCredential | None:
        """The credential locked for this transaction: concurrent logins of one user take turns."""
        cursor = await tx.connection.execute(LOCK_CREDENTIAL, (tx.tenant_id, user_id))
        row = await cursor.fetchone()
        return None if row is None else LockedCredential(dict(row[0]), row[1])

    async def secrets(self, tx: TenantTransaction, user_id: UUID) -> tuple[str, str | None]:
        cursor = await tx.connection.execute(SECRETS, (tx.tenant_id, user_id))
        row = await cursor.fetchone()
        if row is None:
            raise NotFound(f"user {user_id} has no credential")
        return str(row[0]), row[1]

    async def set_password(
        self,
        tx: TenantTransaction,
        user_id: UUID,
        password_hash: str,
        *,
        set_by: str,
        expected_version: int | None,
        actor: Actor,
    ) -> tuple[Change, bool]:
        """CredentialSet: a new credential (returns True) or a new password for the existing one."""
        values = {"password_set_at": DATABASE_NOW, "password_set_by": set_by}
        existing = await self.credentials.find(tx, user_id)
        if existing is None:
            change = await self.credentials.create(
                tx,
                {"user_id": user_id, "password_set_by": set_by},
                event_name="CredentialSet",
                actor=actor,
                details={"set_by": set_by},
                aggregate_id=user_id,
            )
            await tx.connection.execute(INSERT_SECRETS, (tx.tenant_id, user_id, password_hash))
            return change, True
        change = await self.credentials.update(
            tx,
            user_id,
            values,
            expected_version=expected_version if expected_version is not None else existing["version"],
            event_name="CredentialSet",
            actor=actor,
            details={"set_by": set_by},
        )
        await tx.connection.execute(UPDATE_PASSWORD_HASH, (password_hash, tx.tenant_id, user_id))
        return change, False

    async def enrol_second_factor(
        self, tx: TenantTransaction, user_id: UUID, secret: str, actor: Actor
    ) -> Change:
        """SecondFactorEnrolled: a new TOTP secret, pending until a code confirms it."""
        credential = await self.get_credential(tx, user_id)
        if credential["second_factor"] == "confirmed":
            raise Conflict("a second factor is already confirmed; an administrator must remove it first")
        change = await self.credentials.update(
            tx,
            user_id,
            {"second_factor": "pending", "second_factor_enrolled_at": DATABASE_NOW},
            expected_version=credential["version"],
            event_name="SecondFactorEnrolled",
            actor=actor,
            details={"method": "totp"},
        )
        await tx.connection.execute(UPDATE_TOTP_SECRET, (secret, tx.tenant_id, user_id))
        return change

    async def confirm_second_factor(
        self, tx: TenantTransaction, user_id: UUID, step: int, *, expected_version: int, actor: Actor
    ) -> Change:
        """SecondFactorConfirmed: the pending factor produced a valid code (of time step ``step``)."""
        return await self.credentials.update(
            tx,
            user_id,
            {
                "second_factor": "confirmed",
                "second_factor_confirmed_at": DATABASE_NOW,
                "second_factor_confirmed_step": step,
            },
            expected_version=expected_version,
            event_name="SecondFactorConfirmed",
            actor=actor,
            details={"method": "totp"},
        )

    async def remove_second_factor(
        self,
        tx: TenantTransaction,
        user_id: UUID,
        *,
        reason: str | None,
        expected_version: int | None,
        actor: Actor,
    ) -> Change:
        """SecondFactorRemoved (e.g. a lost phone); the user enrols again at the next login."""
        credential = await self.get_credential(tx, user_id)
        require_version(CREDENTIAL, user_id, credential["version"], expected_version)
        if credential["second_factor"] == "none":
            raise NotFound(f"user {user_id} has no second factor")
        change = await self.credentials.update(
            tx,
            user_id,
            {
                "second_factor": "none",
                "second_factor_enrolled_at": None,
                "second_factor_confirmed_at": None,
                "second_factor_confirmed_step": None,
            },
            expected_version=expected_version if expected_version is not None else credential["version"],
            event_name="SecondFactorRemoved",
            actor=actor,
            details={} if reason is None else {"reason": reason},
        )
        await tx.connection.execute(UPDATE_TOTP_SECRET, (None, tx.tenant_id, user_id))
        return change

    async def unlock(
        self,
        tx: TenantTransaction,
        user_id: UUID,
        *,
        reason: str | None,
        expected_version: int | None,
        actor: Actor,
    ) -> Change:
        """CredentialUnlocked: lifts a lock before it ends; 409 if the credential is not locked."""
        cursor = await tx.connection.execute(LOCK_CREDENTIAL, (tx.tenant_id, user_id))
        row = await cursor.fetchone()
        if row is None:
            raise NotFound(f"user {user_id} has no credential")
        credential = LockedCredential(dict(row[0]), row[1])
        require_version(CREDENTIAL, user_id, credential.version, expected_version)
        if not credential.is_locked():
            raise Conflict(f"the credential of user {user_id} is not locked")
        return await self.credentials.update(
            tx,
            user_id,
            {"locked_until": None},
            expected_version=expected_version if expected_version is not None else credential.version,
            event_name="CredentialUnlocked",
            actor=actor,
            details={} if reason is None else {"reason": reason},
        )

    async def record_failed_login(
        self,
        tx: TenantTransaction,
        credential: LockedCredential,
        *,
        reason: str,
        threshold: int,
        window: timedelta,
        lock_for: timedelta,
        client: dict[str, str],
        request_id: str | None,
    ) -> list[Change]:
        """LoginFailed, and CredentialLocked when it is the ``threshold``-th failure of the window.

        The window opens at a failure when none is open (or the open one is older
        than ``window``); a lock closes it, so the next one opens after the lock.
        """
        state = credential.state
        now = credential.now
        started = state["failure_window_started_at"]
        window_open = started is not None and datetime.fromisoformat(started) > now - window
        failures = state["failed_logins"] + 1 if window_open else 1
        changes: dict[str, Any] = {"failed_logins": failures, "last_failed_at": now}
        if not window_open:
            changes["failure_window_started_at"] = now
        failed = await self.credentials.update(
            tx,
            UUID(state["id"]),
            changes,
            expected_version=credential.version,
            event_name="LoginFailed",
            actor=Actor(ANONYMOUS.performed_by, request_id),
            details={"reason": reason, **client},
        )
        if failures < threshold:
            return [failed]
        locked_until = now + lock_for
        locked = await self.credentials.update(
            tx,
            UUID(state["id"]),
            {"locked_until": locked_until, "failed_logins": 0, "failure_window_started_at": None},
            expected_version=failed.version,
            event_name="CredentialLocked",
            actor=Actor(POLICY, request_id),
            details={"locked_until": locked_until.isoformat(), "failed_logins": failures, **client},
        )
        return [failed, locked]

    async def last_second_factor_step(self, tx: TenantTransaction, credential: LockedCredential) -> int:
        """The latest TOTP step used (to confirm the factor or start a session): codes must be newer."""
        cursor = await tx.connection.execute(
            LAST_SECOND_FACTOR_STEP, (tx.tenant_id, UUID(credential.state["id"]))
        )
        row = await cursor.fetchone()
        used = (row[0] if row else None, credential.state["second_factor_confirmed_step"])
        return max((int(step) for step in used if step is not None), default=-1)

    async def credential_history(self, tx: TenantTransaction, user_id: UUID) -> list[RecordedEvent]:
        await self.get_credential(tx, user_id)
        return await self.store.history(tx, CREDENTIAL, user_id)

    # Sessions

    async def start_session(
        self,
        tx: TenantTransaction,
        *,
        session_id: UUID,
        credential: LockedCredential,
        refresh_token_hash: str,
        second_factor_step: int,
        lifetime: timedelta,
        refresh_idle: timedelta,
        actor: Actor,
        client: dict[str, str],
    ) -> Change:
        """SessionStarted: a new session (a refresh-token family) after a full login."""
        now = credential.now
        expires_at = now + lifetime
        return await self.sessions.create(
            tx,
            {
                "user_id": credential.state["user_id"],
                "credential_id": credential.state["id"],
                "status": "active",
                "refresh_token_hash": refresh_token_hash,
                "second_factor_step": second_factor_step,
                "started_at": now,
                "refresh_expires_at": min(now + refresh_idle, expires_at),
                "expires_at": expires_at,
            },
            event_name="SessionStarted",
            actor=actor,
            details=client,
            aggregate_id=session_id,
        )

    async def session_with_now(self, tx: TenantTransaction, session_id: UUID) -> SessionRow | None:
        cursor = await tx.connection.execute(SESSION_WITH_NOW, (tx.tenant_id, session_id))
        row = await cursor.fetchone()
        return None if row is None else SessionRow(dict(row[0]), row[1])

    async def get_session(self, tx: TenantTransaction, session_id: UUID) -> dict[str, Any]:
        return await self.sessions.get(tx, session_id)

    async def was_refresh_token_of(self, tx: TenantTransaction, session_id: UUID, digest: str) -> bool:
        """Whether ``digest`` was the session's refresh token at any time (its events hold them all)."""
        cursor = await tx.connection.execute(ISSUED_REFRESH_TOKEN, (tx.tenant_id, session_id, digest))
        row = await cursor.fetchone()
        return bool(row and row[0])

    async def refresh_session(
        self,
        tx: TenantTransaction,
        session: SessionRow,
        refresh_token_hash: str,
        *,
        refresh_idle: timedelta,
        actor: Actor,
        client: dict[str, str],
    ) -> Change:
        """SessionRefreshed: the refresh token rotated; a concurrent refresh of the same one gets 409."""
        expires_at = datetime.fromisoformat(session.state["expires_at"])
        return await self.sessions.update(
            tx,
            session.id,
            {
                "refresh_token_hash": refresh_token_hash,
                "last_refreshed_at": session.now,
                "refresh_expires_at": min(session.now + refresh_idle, expires_at),
            },
            expected_version=int(session.state["version"]),
            event_name="SessionRefreshed",
            actor=actor,
            details=client,
        )

    async def revoke_session(
        self,
        tx: TenantTransaction,
        session_id: UUID,
        *,
        reason: str,
        expected_version: int | None,
        actor: Actor,
        details: dict[str, str] | None = None,
    ) -> Change:
        """SessionRevoked; 409 if it is already revoked."""
        session = await self.sessions.get(tx, session_id)
        require_version(SESSION, session_id, session["version"], expected_version)
        if session["status"] == "revoked":
            raise Conflict(f"session {session_id} is already revoked")
        return await self.sessions.update(
            tx,
            session_id,
            {"status": "revoked", "revoked_at": DATABASE_NOW, "revoked_reason": reason},
            expected_version=expected_version if expected_version is not None else session["version"],
            event_name="SessionRevoked",
            actor=actor,
            details={"reason": reason, **(details or {})},
        )

    async def revoke_sessions_of_user(
        self, tx: TenantTransaction, user_id: UUID, actor: Actor
    ) -> list[Change]:
        """SessionRevoked for each active session of the user (one event per session)."""
        cursor = await tx.connection.execute(ACTIVE_SESSION_IDS, (tx.tenant_id, user_id))
        changes = []
        for session_id, version in await cursor.fetchall():
            changes.append(
                await self.sessions.update(
                    tx,
                    session_id,
                    {"status": "revoked", "revoked_at": DATABASE_NOW, "revoked_reason": "revoked"},
                    expected_version=int(version),
                    event_name="SessionRevoked",
                    actor=actor,
                    details={"reason": "revoked"},
                )
            )
        return changes

    async def sessions_of_user(
        self, tx: TenantTransaction, user_id: UUID, *, status: str | None, limit: int
    ) -> list[dict[str, Any]]:
        parameters = {"tenant_id": tx.tenant_id, "user_id": user_id, "status": status, "limit": limit}
        return await all_json(tx, SESSIONS_OF_USER, parameters)

    async def session_standing(self, pool: Pool, tenant_id: UUID, session_id: UUID) -> Standing | None:
        """Whether an access token's session is usable: active, unexpired, its user active.

        On every introspection: one tenant-scoped read in a single round trip.
        """
        rows = await tenant_read(pool, tenant_id, SESSION_STANDING, (tenant_id, session_id))
        return Standing(rows[0][0], bool(rows[0][1]), str(rows[0][2])) if rows else None

    async def refresh_standing(
        self, tx: TenantTransaction, session_id: UUID
    ) -> tuple[Standing, str, datetime, datetime] | None:
        """A refresh token's session: standing, current token hash, its expiry and issue time."""
        cursor = await tx.connection.execute(REFRESH_STANDING, (tx.tenant_id, session_id))
        row = await cursor.fetchone()
        if row is None:
            return None
        return Standing(row[0], bool(row[2]), str(row[3])), str(row[1]), row[4], row[5]
