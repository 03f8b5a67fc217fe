"""Licenses and seat assignments, and every change to them, each with its domain event.

Methods take a :class:`~reference.platform.tenancy.TenantTransaction`, so row-level
security already limits them to the caller's tenant: another tenant's license, seat
or user is simply not found.

Every change to a license's seats (assigning, releasing, changing the seat count,
revoking) first locks the license row (``SELECT ... FOR NO KEY UPDATE``), so they run
one after another per license: the seat count checked is the seat count committed,
and two assignments racing for the last seat cannot both get it. Users are read from
``directory.users`` (published by directory) in the same transaction, never over HTTP.

The ``read_*`` methods answer the hot reads that are a single query, each in a
read-only transaction of its own sent as one message
(:func:`~reference.platform.tenancy.tenant_read`, ``global_read`` for plans).

Events are dated with the transaction's start (``now()``). A transaction that began
before another one, but got the license lock after it, would date its events before
the changes it saw: the history would show them in the wrong order (a seat released
before it was assigned; for a moment more seats held than the license has). So after
taking the lock a change checks that nothing under it is dated later than its own
start, and otherwise gives up (:class:`TransactionBehind`); :func:`in_license_order`
runs it again in a new transaction, which starts after the change it waited for.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, LiteralString, TypeVar
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import TupleRow

from reference.platform.aggregates import DATABASE_NOW, AggregateTable, Change
from reference.platform.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    Unavailable,
    require_version,
)
from reference.platform.event_store import Actor, EventStore, RecordedEvent
from reference.platform.json_rows import all_json, read_one_json
from reference.platform.pool import Pool
from reference.platform.tenancy import TenantTransaction, global_read, tenant_read, tenant_transaction

SCHEMA = "license"
ROLE = "license_service"

LIST_PLANS = "SELECT to_jsonb(p.*) FROM license.plans AS p ORDER BY p.code"
FIND_PLAN = "SELECT to_jsonb(p.*) FROM license.plans AS p WHERE p.id = %s"
# The count of a license's assigned seats, next to its row (a correlated subquery on l).
ASSIGNED_OF_LICENSE = (
    "(SELECT count(*) FROM license.seat_assignments AS s "
    "WHERE s.tenant_id = l.tenant_id AND s.license_id = l.id AND s.status = 'assigned')"
)
READ_LICENSE = (
    "SELECT to_jsonb(l.*), " + ASSIGNED_OF_LICENSE + " FROM license.licenses AS l "
    "WHERE l.tenant_id = %s AND l.id = %s"
)
# Parameters: tenant, status twice, after twice, limit.
LIST_LICENSES = (
    "SELECT to_jsonb(l.*), " + ASSIGNED_OF_LICENSE + " FROM license.licenses AS l WHERE l.tenant_id = %s "
    "AND (%s::text IS NULL OR l.status = %s) "
    "AND (%s::uuid IS NULL OR l.id > %s) ORDER BY l.id LIMIT %s"
)
# The lock every change to a license's seats takes first; it also says whether the license is
# in force at the transaction's time (the time its events will carry), and whether the license
# was changed after that time (by a transaction that began later but locked it first).
LOCK_LICENSE = (
    "SELECT to_jsonb(l.*), l.valid_from <= now(), l.valid_until > now(), l.updated_at > now() "
    "FROM license.licenses AS l WHERE l.tenant_id = %s AND l.id = %s FOR NO KEY UPDATE"
)
# Run after LOCK_LICENSE, so with a snapshot that sees the changes the lock waited for.
SEAT_CHANGED_LATER = (
    "SELECT coalesce(max(coalesce(released_at, assigned_at)) > now(), false) "
    "FROM license.seat_assignments WHERE tenant_id = %s AND license_id = %s"
)
# Attempts of a seat change whose transaction keeps beginning before a competing one's.
ATTEMPTS = 5
_log = logging.getLogger("fitgate.license")
TRANSACTION_TIME = "SELECT now()"
ASSIGNED_COUNTS = (
    "SELECT license_id, count(*) FROM license.seat_assignments "
    "WHERE tenant_id = %s AND license_id = ANY(%s) AND status = 'assigned' GROUP BY license_id"
)
ASSIGNED_SEATS = (
    "SELECT to_jsonb(s.*) FROM license.seat_assignments AS s "
    "WHERE s.tenant_id = %s AND s.license_id = %s AND s.status = 'assigned' ORDER BY s.id"
)
HELD_SEAT = (
    "SELECT id FROM license.seat_assignments "
    "WHERE tenant_id = %s AND license_id = %s AND user_id = %s AND status = 'assigned'"
)
READ_SEAT = (
    "SELECT to_jsonb(s.*) FROM license.seat_assignments AS s "
    "WHERE s.tenant_id = %s AND s.id = %s AND s.license_id = %s"
)
# No row: no such license; one row of NULLs: a license without such seats.
# Parameters: tenant, status twice, after twice, limit, tenant, license.
SEATS_OF_EXISTING_LICENSE = (
    "SELECT page.state FROM license.licenses AS l LEFT JOIN LATERAL ("
    "SELECT to_jsonb(s.*) AS state, s.id FROM license.seat_assignments AS s "
    "WHERE s.tenant_id = l.tenant_id AND s.license_id = l.id "
    "AND (%s::text IS NULL OR s.status = %s) "
    "AND (%s::uuid IS NULL OR s.id > %s) ORDER BY s.id LIMIT %s"
    ") AS page ON true WHERE l.tenant_id = %s AND l.id = %s ORDER BY page.id"
)
# No row: no such user in the tenant's directory; one row of NULLs: a user holding no such seat.
# Parameters: status twice, tenant, user.
SEATS_OF_EXISTING_USER = (
    "SELECT to_jsonb(s.*) FROM directory.users AS u "
    "LEFT JOIN license.seat_assignments AS s ON s.tenant_id = u.tenant_id AND s.user_id = u.id "
    "AND (%s::text IS NULL OR s.status = %s) "
    "WHERE u.tenant_id = %s AND u.id = %s ORDER BY s.assigned_at, s.id"
)
# directory.users and directory.tenants are published by directory (its migrations grant license SELECT).
DIRECTORY_USER_STATUS = "SELECT status FROM directory.users WHERE tenant_id = %s AND id = %s"
DIRECTORY_TENANT_STATUS = "SELECT status FROM directory.tenants WHERE tenant_id = %s AND id = %s"


class SeatsExhausted(Conflict):
    """Every seat of the license is assigned."""

    code = "seats_exhausted"


class RevokedLicense(Conflict):
    """The license is revoked: its seats can no longer change."""

    code = "license_revoked"


class LicenseNotInForce(Conflict):
    """The license's validity has not begun yet, or has ended."""

    code = "license_not_in_force"


class SeatAlreadyHeld(Conflict):
    """The user already holds a seat of the license."""

    code = "seat_already_held"


class InactiveUser(Conflict):
    """The user is deactivated in the directory."""

    code = "user_inactive"


class SeatsInUse(Conflict):
    """The seat count cannot drop below the seats assigned."""

    code = "seats_in_use"


class SeatAlreadyReleased(Conflict):
    """The seat was released before."""

    code = "seat_already_released"


class SuspendedTenant(Conflict):
    """The tenant is suspended in the directory."""

    code = "tenant_suspended"


class TransactionBehind(Exception):
    """The license lock was taken after a change by a transaction that began later than this one."""


T = TypeVar("T")


async def in_license_order(
    pool: Pool, tenant_id: UUID, change: Callable[[TenantTransaction], Awaitable[T]]
) -> T:
    """Run ``change`` (which locks a license) in a tenant transaction, again if it was behind.

    A retry begins after the change it waited for committed, so it is rarely behind
    twice; after :data:`ATTEMPTS` the caller gets a 503 and may simply retry.
    """
    for attempt in range(1, ATTEMPTS + 1):
        try:
            async with tenant_transaction(pool, tenant_id) as tx:
                return await change(tx)
        except TransactionBehind as behind:
            _log.info("seat change run again", extra={"fields": {"attempt": attempt, "why": str(behind)}})
    raise Unavailable("the license is busy with other seat changes: retry")


@dataclass(frozen=True)
class LockedLicense:
    """A license row locked for the rest of the transaction, and whether it is in force now."""

    state: dict[str, Any]
    started: bool
    ended: bool

    @property
    def id(self) -> UUID:
        return UUID(self.state["id"])

    @property
    def version(self) -> int:
        return int(self.state["version"])

    def require_in_force(self) -> None:
        """Raise unless the license is active and within its validity."""
        if self.state["status"] == "revoked":
            raise RevokedLicense(f"license {self.id} is revoked: its seats cannot change")
        if not self.started:
            raise LicenseNotInForce(f"license {self.id} is valid only from {self.state['valid_from']}")
        if self.ended:
            raise LicenseNotInForce(f"license {self.id} expired at {self.state['valid_until']}")


@dataclass
class Licensing:
    """The license schema's aggregates; one instance per process (it caches the event catalogue)."""

    store: EventStore = field(default_factory=lambda: EventStore(SCHEMA))

    def __post_init__(self) -> None:
        self.licenses = AggregateTable(
            self.store, "licenses", "License", references={"licenses_plan_fk": "plan"}
        )
        self.seats = AggregateTable(
            self.store,
            "seat_assignments",
            "SeatAssignment",
            unique_fields={"seat_assignments_one_per_user": "user_id"},
            references={"seat_assignments_license_fk": "license"},
            touch_column=None,
        )

    # Plans (global: no tenant needed)

    @staticmethod
    async def list_plans(pool: Pool) -> list[dict[str, Any]]:
        return [dict(row[0]) for row in await global_read(pool, LIST_PLANS)]

    @staticmethod
    async def read_plan(pool: Pool, plan_id: UUID) -> dict[str, Any]:
        rows = await global_read(pool, FIND_PLAN, (plan_id,))
        if not rows:
            raise NotFound(f"plan {plan_id} not found")
        return dict(rows[0][0])

    @staticmethod
    async def get_plan(connection: AsyncConnection[TupleRow], plan_id: UUID) -> dict[str, Any]:
        cursor = await connection.execute(FIND_PLAN, (plan_id,))
        row = await cursor.fetchone()
        if row is None:
            raise NotFound(f"plan {plan_id} not found")
        return dict(row[0])

    # Licenses

    async def grant_license(
        self,
        tx: TenantTransaction,
        *,
        plan_id: UUID,
        seats: int,
        valid_from: datetime | None,
        valid_until: datetime,
        actor: Actor,
        license_id: UUID | None = None,
    ) -> Change:
        """LicenseGranted: ``seats`` seats of a plan from ``valid_from`` (default: now) to ``valid_until``.

        The tenant must exist in the directory (404) and be active (409).
        """
        tenant_status = await _one_value(tx, DIRECTORY_TENANT_STATUS, (tx.tenant_id, tx.tenant_id))
        if tenant_status is None:
            raise NotFound(f"tenant {tx.tenant_id} not found")
        if tenant_status != "active":
            raise SuspendedTenant(f"tenant {tx.tenant_id} is {tenant_status}: no new licenses")
        plan = await self.get_plan(tx.connection, plan_id)
        _check_seats_allowed(plan, seats)
        now = await _transaction_time(tx)
        start = now if valid_from is None else valid_from
        if valid_until <= start:
            raise InvalidInput("valid_until", "must be after valid_from")
        if valid_until <= now:
            raise InvalidInput("valid_until", "must be in the future")
        return await self.licenses.create(
            tx,
            {
                "plan_id": plan_id,
                "seats": seats,
                "valid_from": start,
                "valid_until": valid_until,
                "status": "active",
            },
            event_name="LicenseGranted",
            actor=actor,
            details={
                "plan_id": plan_id,
                "plan_code": plan["code"],
                "seats": seats,
                "valid_from": start.isoformat(),
                "valid_until": valid_until.isoformat(),
            },
            aggregate_id=license_id,
        )

    async def get_license(self, tx: TenantTransaction, license_id: UUID) -> dict[str, Any]:
        return await self.licenses.get(tx, license_id)

    async def find_license(self, tx: TenantTransaction, license_id: UUID) -> dict[str, Any] | None:
        return await self.licenses.find(tx, license_id)

    async def read_license(self, pool: Pool, tenant_id: UUID, license_id: UUID) -> dict[str, Any]:
        """The license with ``seats_assigned``, how many of its seats are assigned now."""
        rows = await tenant_read(pool, tenant_id, READ_LICENSE, (tenant_id, license_id))
        if not rows:
            raise NotFound(f"License {license_id} not found")
        return _with_assigned(*rows[0])

    async def list_licenses(
        self, pool: Pool, tenant_id: UUID, *, status: str | None, after: UUID | None, limit: int
    ) -> list[dict[str, Any]]:
        """Licenses ordered by id, from just after ``after``, each with ``seats_assigned``."""
        parameters = (tenant_id, status, status, after, after, limit)
        return [_with_assigned(*row) for row in await tenant_read(pool, tenant_id, LIST_LICENSES, parameters)]

    async def assigned_counts(self, tx: TenantTransaction, license_ids: list[UUID]) -> dict[UUID, int]:
        """How many seats of each license are assigned now."""
        cursor = await tx.connection.execute(ASSIGNED_COUNTS, (tx.tenant_id, license_ids))
        counts = {UUID(str(license_id)): int(count) for license_id, count in await cursor.fetchall()}
        return {license_id: counts.get(license_id, 0) for license_id in license_ids}

    async def change_seats(
        self,
        tx: TenantTransaction,
        license_id: UUID,
        seats: int,
        *,
        expected_version: int | None,
        actor: Actor,
    ) -> Change | None:
        """LicenseSeatsChanged; None when the license already has ``seats`` seats (no event)."""
        license = await self._lock(tx, license_id)
        require_version("License", license.id, license.version, expected_version)
        if license.state["status"] == "revoked":
            raise RevokedLicense(f"license {license_id} is revoked: its seats cannot change")
        _check_seats_allowed(await self.get_plan(tx.connection, UUID(license.state["plan_id"])), seats)
        old_seats = int(license.state["seats"])
        if seats == old_seats:
            return None
        assigned = (await self.assigned_counts(tx, [license_id]))[license_id]
        if seats < assigned:
            raise SeatsInUse(
                f"license {license_id} has {assigned} seats assigned: release some before "
                f"lowering its seat count to {seats}"
            )
        return await self.licenses.update(
            tx,
            license_id,
            {"seats": seats},
            expected_version=license.version,
            event_name="LicenseSeatsChanged",
            actor=actor,
            details={"old_seats": old_seats, "new_seats": seats},
        )

    async def revoke_license(
        self,
        tx: TenantTransaction,
        license_id: UUID,
        *,
        reason: str | None,
        expected_version: int | None,
        actor: Actor,
    ) -> tuple[Change, list[Change]]:
        """LicenseRevoked, after a SeatReleased for each assigned seat; returns both.

        Seats are released in the same transaction, so ``license.seat_assignments``
        never shows a seat held on a revoked license.
        """
        license = await self._lock(tx, license_id)
        require_version("License", license.id, license.version, expected_version)
        if license.state["status"] == "revoked":
            raise RevokedLicense(f"license {license_id} is already revoked")
        details: dict[str, Any] = {} if reason is None else {"reason": reason}
        released = [
            await self._release(tx, seat, cause="license_revoked", details=details, actor=actor)
            for seat in await all_json(tx, ASSIGNED_SEATS, (tx.tenant_id, license_id))
        ]
        change = await self.licenses.update(
            tx,
            license_id,
            {"status": "revoked", "revoked_at": DATABASE_NOW},
            expected_version=license.version,
            event_name="LicenseRevoked",
            actor=actor,
            details={**details, "seats_released": len(released)},
        )
        return change, released

    async def license_history(self, tx: TenantTransaction, license_id: UUID) -> list[RecordedEvent]:
        await self.licenses.get(tx, license_id)
        return await self.store.history(tx, "License", license_id)

    # Seat assignments

    async def assign_seat(
        self, tx: TenantTransaction, license_id: UUID, user_id: UUID, actor: Actor
    ) -> Change:
        """SeatAssigned: a seat of the license to an active directory user.

        Refused (409) when the license is revoked or not in force, when the user
        already holds one of its seats, and when every seat is taken.
        """
        license = await self._lock(tx, license_id)
        await self._require_active_user(tx, user_id)
        license.require_in_force()
        if await _one_value(tx, HELD_SEAT, (tx.tenant_id, license_id, user_id)) is not None:
            raise SeatAlreadyHeld(f"user {user_id} already holds a seat of license {license_id}")
        seats = int(license.state["seats"])
        if (await self.assigned_counts(tx, [license_id]))[license_id] >= seats:
            raise SeatsExhausted(
                f"all {seats} seats of license {license_id} are assigned: release one or raise the seat count"
            )
        return await self.seats.create(
            tx,
            {"license_id": license_id, "user_id": user_id, "status": "assigned"},
            event_name="SeatAssigned",
            actor=actor,
            details={"license_id": license_id, "user_id": user_id},
        )

    async def release_seat(
        self,
        tx: TenantTransaction,
        license_id: UUID,
        seat_id: UUID,
        *,
        reason: str | None,
        expected_version: int | None,
        actor: Actor,
    ) -> Change:
        """SeatReleased; 409 if the seat was released already. The row stays, as ``released``."""
        await self._lock(tx, license_id)
        seat = await self.get_seat(tx, license_id, seat_id)
        if seat["status"] == "released":
            raise SeatAlreadyReleased(f"seat {seat_id} was released at {seat['released_at']}")
        if expected_version is not None:
            seat = {**seat, "version": expected_version}
        details: dict[str, Any] = {} if reason is None else {"reason": reason}
        return await self._release(tx, seat, cause="released", details=details, actor=actor)

    async def get_seat(self, tx: TenantTransaction, license_id: UUID, seat_id: UUID) -> dict[str, Any]:
        seat = await self.seats.find(tx, seat_id)
        if seat is None or seat["license_id"] != str(license_id):
            raise NotFound(f"seat {seat_id} of license {license_id} not found")
        return seat

    async def read_seat(self, pool: Pool, tenant_id: UUID, license_id: UUID, seat_id: UUID) -> dict[str, Any]:
        seat = await read_one_json(pool, tenant_id, READ_SEAT, (tenant_id, seat_id, license_id))
        if seat is None:
            raise NotFound(f"seat {seat_id} of license {license_id} not found")
        return seat

    async def seats_of_license(
        self,
        pool: Pool,
        tenant_id: UUID,
        license_id: UUID,
        *,
        status: str | None,
        after: UUID | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        """The license's seat assignments ordered by id, from just after ``after``; 404 if no license."""
        parameters = (status, status, after, after, limit, tenant_id, license_id)
        rows = await tenant_read(pool, tenant_id, SEATS_OF_EXISTING_LICENSE, parameters)
        if not rows:
            raise NotFound(f"License {license_id} not found")
        return [dict(state) for (state,) in rows if state is not None]

    async def seats_of_user(
        self, pool: Pool, tenant_id: UUID, user_id: UUID, *, status: str | None
    ) -> list[dict[str, Any]]:
        """The seat assignments of a directory user, oldest first; 404 if the tenant has no such user."""
        parameters = (status, status, tenant_id, user_id)
        rows = await tenant_read(pool, tenant_id, SEATS_OF_EXISTING_USER, parameters)
        if not rows:
            raise NotFound(f"user {user_id} not found")
        return [dict(state) for (state,) in rows if state is not None]

    # Internals

    async def _lock(self, tx: TenantTransaction, license_id: UUID) -> LockedLicense:
        """Lock the license for the transaction; :class:`TransactionBehind` if changed after its start."""
        cursor = await tx.connection.execute(LOCK_LICENSE, (tx.tenant_id, license_id))
        row = await cursor.fetchone()
        if row is None:
            raise NotFound(f"License {license_id} not found")
        state, started, not_ended, license_changed_later = row
        if license_changed_later or await _one_value(tx, SEAT_CHANGED_LATER, (tx.tenant_id, license_id)):
            raise TransactionBehind(f"license {license_id} changed after this transaction began")
        return LockedLicense(dict(state), started=bool(started), ended=not not_ended)

    async def _release(
        self,
        tx: TenantTransaction,
        seat: dict[str, Any],
        *,
        cause: str,
        details: dict[str, Any],
        actor: Actor,
    ) -> Change:
        return await self.seats.update(
            tx,
            UUID(seat["id"]),
            {"status": "released", "released_at": DATABASE_NOW},
            expected_version=int(seat["version"]),
            event_name="SeatReleased",
            actor=actor,
            details={
                "license_id": seat["license_id"],
                "user_id": seat["user_id"],
                "cause": cause,
                **details,
            },
        )

    @staticmethod
    async def _require_active_user(tx: TenantTransaction, user_id: UUID) -> None:
        status = await _one_value(tx, DIRECTORY_USER_STATUS, (tx.tenant_id, user_id))
        if status is None:
            raise NotFound(f"user {user_id} not found")
        if status != "active":
            raise InactiveUser(f"user {user_id} is {status}: seats go to active users only")


def _check_seats_allowed(plan: dict[str, Any], seats: int) -> None:
    maximum = plan["max_seats"]
    if maximum is not None and seats > maximum:
        raise InvalidInput("seats", f"plan {plan['code']} allows at most {maximum} seats per license")


async def _transaction_time(tx: TenantTransaction) -> datetime:
    value = await _one_value(tx, TRANSACTION_TIME, ())
    assert isinstance(value, datetime)  # now() is a timestamptz
    return value


def _with_assigned(state: dict[str, Any], assigned: int) -> dict[str, Any]:
    return {**state, "seats_assigned": int(assigned)}


async def _one_value(tx: TenantTransaction, query: LiteralString, parameters: Any) -> Any:
    """The first column of the first row, or None when no row matches."""
    cursor = await tx.connection.execute(query, parameters)
    row = await cursor.fetchone()
    return None if row is None else row[0]
