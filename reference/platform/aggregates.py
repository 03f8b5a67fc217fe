"""Aggregate rows changed together with their event, with optimistic concurrency.

An aggregate table has ``tenant_id uuid``, ``id uuid`` (primary key
``(tenant_id, id)``) and ``version integer``. :meth:`AggregateTable.create`
inserts version 1; :meth:`AggregateTable.update` runs
``UPDATE ... WHERE tenant_id = $t AND id = $1 AND version = $2`` and bumps the
version. Either way the row change and its ``domain_event`` row (whose ``state``
is ``to_jsonb`` of the changed row) are one SQL statement, so they commit
together or not at all. A concurrent change makes the update match no row:
:class:`~reference.platform.errors.VersionConflict` (HTTP 409), and no event.

Never write inside a savepoint (a nested ``connection.transaction()``): the row's
``xmin`` would be the subtransaction's id, not the ``tx_id`` its event records,
and the two could no longer be matched. Serialise a check-then-create with a
transaction-level lock instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from reference.platform.errors import Conflict, NotFound, VersionConflict
from reference.platform.event_store import RETURNED_COLUMNS, Actor, EventStore, RecordedEvent
from reference.platform.tenancy import TenantTransaction

RECORD_CHANGED = (
    "INSERT INTO {events} (tenant_id, kind, aggregate_id, version, event_name, event_version, "
    "state, payload, event_at, tx_id) "
    "SELECT changed.tenant_id, %(kind)s, changed.id, changed.version, %(event_name)s, "
    "%(event_version)s, to_jsonb(changed.*), %(payload)s, now(), pg_current_xact_id() FROM changed "
    "RETURNING " + RETURNED_COLUMNS
)
CREATE = "WITH changed AS (INSERT INTO {table} ({columns}) VALUES ({values}) RETURNING *) " + RECORD_CHANGED
UPDATE = (
    "WITH changed AS (UPDATE {table} SET {assignments} "
    "WHERE tenant_id = %(tenant_id)s AND id = %(id)s AND version = %(expected_version)s "
    "RETURNING *) " + RECORD_CHANGED
)
# A value for ``update`` changes: the column takes the transaction's time (the event's event_at).
DATABASE_NOW = sql.SQL("now()")
READ = "SELECT to_jsonb(t.*) FROM {table} AS t WHERE tenant_id = %s AND id = %s"
READ_VERSION = "SELECT version FROM {table} WHERE tenant_id = %s AND id = %s"


@dataclass(frozen=True)
class Change:
    """The outcome of a write: the row after the change (as JSON) and the event recorded with it."""

    state: dict[str, Any]
    event: RecordedEvent

    @property
    def version(self) -> int:
        return self.event.version


@dataclass(frozen=True)
class AggregateTable:
    """One aggregate kind stored in ``<store.schema>.<table>``.

    ``unique_fields`` maps a unique constraint's name to the request field it
    guards (a duplicate becomes a 409 naming the field); ``references`` maps a
    foreign key's name to what it points at (a dangling reference becomes a 404).
    ``touch_column`` is set to ``now()`` on every update, if the table has one.
    """

    store: EventStore
    table: str
    kind: str
    unique_fields: Mapping[str, str] = field(default_factory=dict)
    references: Mapping[str, str] = field(default_factory=dict)
    touch_column: str | None = "updated_at"
    # Composed statements by the columns a write sets: composing costs more than the checks of a write.
    _statements: dict[tuple[object, ...], sql.Composed] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def identifier(self) -> sql.Identifier:
        return sql.Identifier(self.store.schema, self.table)

    async def get(self, transaction: TenantTransaction, aggregate_id: UUID) -> dict[str, Any]:
        """The row as JSON (the same shape as an event's ``state``), or :class:`NotFound`."""
        found = await self.find(transaction, aggregate_id)
        if found is None:
            raise NotFound(f"{self.kind} {aggregate_id} not found")
        return found

    async def find(self, transaction: TenantTransaction, aggregate_id: UUID) -> dict[str, Any] | None:
        """The row as JSON, or None if this tenant has no such aggregate."""
        cursor = await transaction.connection.execute(
            sql.SQL(READ).format(table=self.identifier), (transaction.tenant_id, aggregate_id)
        )
        row = await cursor.fetchone()
        return None if row is None else dict(row[0])

    async def create(
        self,
        transaction: TenantTransaction,
        values: Mapping[str, Any],
        *,
        event_name: str,
        actor: Actor,
        details: Mapping[str, Any],
        event_version: int = 1,
        aggregate_id: UUID | None = None,
    ) -> Change:
        """Insert version 1 of a new aggregate (``values`` without tenant_id, id, version) and its event."""
        new_id = aggregate_id or uuid4()
        columns = {"tenant_id": transaction.tenant_id, "id": new_id, **values, "version": 1}
        statement = self._create_statement(tuple(columns))
        parameters = {f"v_{c}": _adapt(v) for c, v in columns.items()}
        return await self._write(
            transaction, statement, parameters, event_name, event_version, actor, details
        )

    async def update(
        self,
        transaction: TenantTransaction,
        aggregate_id: UUID,
        changes: Mapping[str, Any],
        *,
        expected_version: int | None,
        event_name: str,
        actor: Actor,
        details: Mapping[str, Any],
        event_version: int = 1,
    ) -> Change:
        """Apply ``changes`` if the row is still at ``expected_version``; record the event.

        A value may be :data:`DATABASE_NOW` to set a column to the transaction's time.

        With ``expected_version=None`` the version is read first in the same
        transaction, so a change committed in between still ends in a 409.
        """
        if expected_version is None:
            expected_version = await self._current_version(transaction, aggregate_id)
        statement = self._update_statement(changes)
        parameters: dict[str, Any] = {
            f"v_{c}": _adapt(v) for c, v in changes.items() if not isinstance(v, sql.Composable)
        }
        parameters.update(tenant_id=transaction.tenant_id, id=aggregate_id, expected_version=expected_version)
        try:
            return await self._write(
                transaction, statement, parameters, event_name, event_version, actor, details
            )
        except _NothingChanged:
            current = await self._find_version(transaction, aggregate_id)
            if current is None:
                raise NotFound(f"{self.kind} {aggregate_id} not found") from None
            raise VersionConflict.stale(self.kind, aggregate_id, current, expected_version) from None

    def _create_statement(self, columns: tuple[str, ...]) -> sql.Composed:
        key = ("create", *columns)
        if key not in self._statements:
            self._statements[key] = sql.SQL(CREATE).format(
                table=self.identifier,
                columns=sql.SQL(", ").join(sql.Identifier(c) for c in columns),
                values=sql.SQL(", ").join(sql.Placeholder(f"v_{c}") for c in columns),
                events=self.store.events,
            )
        return self._statements[key]

    def _update_statement(self, changes: Mapping[str, Any]) -> sql.Composed:
        # A column set to a Composable (DATABASE_NOW) is part of the statement, so part of the key.
        key = (
            "update",
            *((c, repr(v) if isinstance(v, sql.Composable) else None) for c, v in changes.items()),
        )
        if key not in self._statements:
            assignments: list[sql.Composable] = [
                sql.SQL("{} = {}").format(
                    sql.Identifier(c), v if isinstance(v, sql.Composable) else sql.Placeholder(f"v_{c}")
                )
                for c, v in changes.items()
            ]
            assignments.append(sql.SQL("version = version + 1"))
            if self.touch_column is not None:
                assignments.append(sql.SQL("{} = now()").format(sql.Identifier(self.touch_column)))
            self._statements[key] = sql.SQL(UPDATE).format(
                table=self.identifier,
                assignments=sql.SQL(", ").join(assignments),
                events=self.store.events,
            )
        return self._statements[key]

    async def _write(
        self,
        transaction: TenantTransaction,
        statement: sql.Composed,
        parameters: dict[str, Any],
        event_name: str,
        event_version: int,
        actor: Actor,
        details: Mapping[str, Any],
    ) -> Change:
        connection = transaction.connection
        event_type = await self.store.event_type(connection, event_name, event_version, self.kind)
        payload = self.store.payload(actor, details)
        event_type.check_payload(payload)
        parameters.update(
            kind=self.kind, event_name=event_name, event_version=event_version, payload=Jsonb(payload)
        )
        try:
            cursor = await connection.execute(statement, parameters)
        except psycopg.errors.UniqueViolation as exc:
            raise self._unique_violation(exc) from None
        except psycopg.errors.ForeignKeyViolation as exc:
            what = self.references.get(exc.diag.constraint_name or "", "a referenced resource")
            raise NotFound(f"{what} not found") from None
        row = await cursor.fetchone()
        if row is None:
            raise _NothingChanged
        event = RecordedEvent.from_row(row)
        # Checked before COMMIT: a state the catalogue does not describe rolls the change back.
        event_type.check_state(event.state)
        return Change(state=event.state, event=event)

    def _unique_violation(self, exc: psycopg.errors.UniqueViolation) -> Exception:
        constraint = exc.diag.constraint_name or ""
        if exc.diag.table_name == self.store.table:
            return VersionConflict(f"{self.kind} was changed meanwhile: its version is already recorded")
        field_name = self.unique_fields.get(constraint)
        if field_name is not None:
            return Conflict(f"{field_name} is already taken")
        return Conflict(f"{self.kind} conflicts with an existing one ({constraint})")

    async def _current_version(self, transaction: TenantTransaction, aggregate_id: UUID) -> int:
        current = await self._find_version(transaction, aggregate_id)
        if current is None:
            raise NotFound(f"{self.kind} {aggregate_id} not found")
        return current

    async def _find_version(self, transaction: TenantTransaction, aggregate_id: UUID) -> int | None:
        cursor = await transaction.connection.execute(
            sql.SQL(READ_VERSION).format(table=self.identifier), (transaction.tenant_id, aggregate_id)
        )
        row = await cursor.fetchone()
        return None if row is None else int(row[0])


class _NothingChanged(Exception):
    """The conditional UPDATE matched no row."""


def _adapt(value: Any) -> Any:
    if isinstance(value, Mapping | list):
        return Jsonb(value)
    return value
