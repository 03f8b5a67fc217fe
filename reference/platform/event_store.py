"""A schema's ``domain_event`` table: one row per state change, in the change's transaction.

Columns (DESIGN.md section 4): ``id``, ``tenant_id``, ``kind`` (aggregate type),
``aggregate_id``, ``version`` (1, 2, 3, ... per aggregate; unique with tenant,
kind and aggregate, so a lost update cannot slip through), ``event_name`` (past
tense), ``event_version``, ``state`` (the whole aggregate after the change),
``payload`` (details, always with ``performed_by``), ``event_at`` and ``tx_id``
(``pg_current_xact_id()`` of the writing transaction).

Most writes go through :class:`~reference.platform.aggregates.AggregateTable`,
which changes the row and records its event in one statement. Reads go through
the schema's SQL functions ``aggregate_history`` and ``aggregate_state_at``
(each service's ``NNNN_point_in_time.sql`` migration, from fitgate's template),
which upcast old event versions to the current one inside SQL: the service, an
auditor's SQL session and ``fitgate events`` read one implementation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection, sql
from psycopg.errors import RaiseException
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

from reference.platform.errors import UnregisteredEvent
from reference.platform.event_catalogue import EventCatalogue, EventType
from reference.platform.tenancy import TenantTransaction

# The columns every read returns, in RecordedEvent's order (tx_id as text: xid8 has no Python type).
RETURNED_COLUMNS = (
    "id, tenant_id, kind, aggregate_id, version, event_name, event_version, "
    "state, payload, event_at, tx_id::text"
)
INSERT_EVENT = (
    "INSERT INTO {events} (tenant_id, kind, aggregate_id, version, event_name, event_version, "
    "state, payload, event_at, tx_id) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, now(), pg_current_xact_id()) "
    "RETURNING " + RETURNED_COLUMNS
)
# Through the schema's point-in-time functions, which upcast in SQL and run with the caller's
# rights: row-level security keeps them to the transaction's tenant. They return the event
# without its tenant, kind and aggregate id, which the caller already knows.
READ_COLUMNS = "id, version, event_name, event_version, state, payload, event_at, tx_id::text"
HISTORY = "SELECT " + READ_COLUMNS + " FROM {function}(%s, %s)"
STATE_AT = "SELECT " + READ_COLUMNS + " FROM {function}(%s, %s, %s)"


@dataclass(frozen=True)
class Actor:
    """Who performs a change (a user id, ``platform-admin``, ``installer``) and in which request."""

    performed_by: str
    request_id: str | None = None


@dataclass(frozen=True)
class RecordedEvent:
    """One ``domain_event`` row."""

    id: UUID
    tenant_id: UUID
    kind: str
    aggregate_id: UUID
    version: int
    event_name: str
    event_version: int
    state: dict[str, Any]
    payload: dict[str, Any]
    event_at: datetime
    tx_id: int

    @classmethod
    def from_row(cls, row: TupleRow) -> RecordedEvent:
        return cls(
            id=row[0],
            tenant_id=row[1],
            kind=row[2],
            aggregate_id=row[3],
            version=int(row[4]),
            event_name=row[5],
            event_version=int(row[6]),
            state=row[7],
            payload=row[8],
            event_at=row[9],
            tx_id=int(row[10]),
        )

    def as_json(self) -> dict[str, Any]:
        """The event as a JSON-ready mapping (for history endpoints)."""
        return {
            "id": str(self.id),
            "tenant_id": str(self.tenant_id),
            "kind": self.kind,
            "aggregate_id": str(self.aggregate_id),
            "version": self.version,
            "event_name": self.event_name,
            "event_version": self.event_version,
            "state": self.state,
            "payload": self.payload,
            "event_at": self.event_at.isoformat(),
            "tx_id": str(self.tx_id),
        }


class EventStore:
    """The event table and catalogue of one schema; shared by all requests of a service."""

    def __init__(self, schema: str, table: str = "domain_event") -> None:
        self.schema = schema
        self.table = table
        self.events = sql.Identifier(schema, table)
        self._catalogue: EventCatalogue | None = None

    async def catalogue(
        self, connection: AsyncConnection[TupleRow], *, refresh: bool = False
    ) -> EventCatalogue:
        """The schema's catalogue, read once (again with ``refresh``, e.g. after a new migration)."""
        # Two requests may both load it at first: harmless, the catalogue is the same.
        if self._catalogue is None or refresh:
            self._catalogue = await EventCatalogue.load(connection, self.schema)
        return self._catalogue

    async def event_type(
        self, connection: AsyncConnection[TupleRow], name: str, version: int, kind: str
    ) -> EventType:
        """The registered type of ``name`` v``version`` for ``kind``; :class:`UnregisteredEvent` if none."""
        try:
            event_type = (await self.catalogue(connection)).get(name, version)
        except UnregisteredEvent:
            # Registered by a migration applied after this process read the catalogue?
            event_type = (await self.catalogue(connection, refresh=True)).get(name, version)
        if event_type.kind != kind:
            raise UnregisteredEvent(
                f"{self.schema}.event_types registers {name} v{version} for {event_type.kind}, not {kind}"
            )
        return event_type

    @staticmethod
    def payload(actor: Actor, details: Mapping[str, Any]) -> dict[str, Any]:
        """The payload of an event: ``performed_by``, ``request_id`` and the change's details."""
        payload: dict[str, Any] = {"performed_by": actor.performed_by}
        if actor.request_id is not None:
            payload["request_id"] = actor.request_id
        payload.update(json.loads(json.dumps(details, default=str)))
        return payload

    async def record(
        self,
        transaction: TenantTransaction,
        *,
        kind: str,
        aggregate_id: UUID,
        version: int,
        event_name: str,
        state: Mapping[str, Any],
        actor: Actor,
        details: Mapping[str, Any],
        event_version: int = 1,
    ) -> RecordedEvent:
        """Record one event whose state the caller computed (prefer AggregateTable for row changes)."""
        connection = transaction.connection
        event_type = await self.event_type(connection, event_name, event_version, kind)
        payload = self.payload(actor, details)
        event_type.check_payload(payload)
        event_type.check_state(state)
        cursor = await connection.execute(
            sql.SQL(INSERT_EVENT).format(events=self.events),
            (
                transaction.tenant_id,
                kind,
                aggregate_id,
                version,
                event_name,
                event_version,
                Jsonb(state),
                Jsonb(payload),
            ),
        )
        row = await cursor.fetchone()
        assert row is not None  # INSERT ... RETURNING returns the row it inserted
        return RecordedEvent.from_row(row)

    async def history(
        self, transaction: TenantTransaction, kind: str, aggregate_id: UUID
    ) -> list[RecordedEvent]:
        """Every event of one aggregate, oldest first, upcast to current event versions."""
        rows = await self._read(transaction, HISTORY, "aggregate_history", (kind, aggregate_id))
        return [self._event(transaction, kind, aggregate_id, row) for row in rows]

    async def state_at(
        self, transaction: TenantTransaction, kind: str, aggregate_id: UUID, at: datetime
    ) -> RecordedEvent | None:
        """The aggregate's latest event at time ``at`` (its ``state`` is the state then), or None."""
        rows = await self._read(transaction, STATE_AT, "aggregate_state_at", (kind, aggregate_id, at))
        return self._event(transaction, kind, aggregate_id, rows[0]) if rows else None

    async def _read(
        self, transaction: TenantTransaction, query: str, function: str, parameters: tuple[Any, ...]
    ) -> list[TupleRow]:
        statement = sql.SQL(query).format(function=sql.Identifier(self.schema, function))
        try:
            cursor = await transaction.connection.execute(statement, parameters)
        except RaiseException as exc:  # upcast_event: an old version without its way up
            raise UnregisteredEvent(f"{self.schema}.event_types: {exc.diag.message_primary}") from None
        return await cursor.fetchall()

    @staticmethod
    def _event(
        transaction: TenantTransaction, kind: str, aggregate_id: UUID, row: TupleRow
    ) -> RecordedEvent:
        return RecordedEvent(
            id=row[0],
            tenant_id=transaction.tenant_id,
            kind=kind,
            aggregate_id=aggregate_id,
            version=int(row[1]),
            event_name=row[2],
            event_version=int(row[3]),
            state=row[4],
            payload=row[5],
            event_at=row[6],
            tx_id=int(row[7]),
        )
