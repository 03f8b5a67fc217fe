"""A schema's ``domain_event`` table: one row per state change, in the change's transaction.

Columns (DESIGN.md section 4): ``id``, ``tenant_id``, ``kind`` (aggregate type),
``aggregate_id``, ``version`` (1, 2, 3, ... per aggregate; unique with tenant,
kind and aggregate, so a lost update cannot slip through), ``event_name`` (past
tense), ``event_version``, ``state`` (the whole aggregate after the change),
``payload`` (details, always with ``performed_by``), ``event_at`` and ``tx_id``
(``pg_current_xact_id()`` of the writing transaction).

Most writes go through :class:`~reference.platform.aggregates.AggregateTable`,
which changes the row and records its event in one statement. Reads upcast old
event versions to the current one with the catalogue's SQL upcasters.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection, sql
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
HISTORY = (
    "SELECT " + RETURNED_COLUMNS + " FROM {events} "
    "WHERE tenant_id = %s AND kind = %s AND aggregate_id = %s ORDER BY version"
)
STATE_AT = (
    "SELECT " + RETURNED_COLUMNS + " FROM {events} "
    "WHERE tenant_id = %s AND kind = %s AND aggregate_id = %s AND event_at <= %s "
    "ORDER BY version DESC LIMIT 1"
)
UPCAST = "SELECT payload, state FROM {function}(%s::jsonb, %s::jsonb)"


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
        cursor = await transaction.connection.execute(
            sql.SQL(HISTORY).format(events=self.events), (transaction.tenant_id, kind, aggregate_id)
        )
        return [await self.upcast(transaction, RecordedEvent.from_row(r)) for r in await cursor.fetchall()]

    async def state_at(
        self, transaction: TenantTransaction, kind: str, aggregate_id: UUID, at: datetime
    ) -> RecordedEvent | None:
        """The aggregate's latest event at time ``at`` (its ``state`` is the state then), or None."""
        cursor = await transaction.connection.execute(
            sql.SQL(STATE_AT).format(events=self.events),
            (transaction.tenant_id, kind, aggregate_id, at),
        )
        row = await cursor.fetchone()
        return None if row is None else await self.upcast(transaction, RecordedEvent.from_row(row))

    async def upcast(self, transaction: TenantTransaction, event: RecordedEvent) -> RecordedEvent:
        """``event`` lifted version by version to the newest registered version of its name."""
        connection = transaction.connection
        catalogue = await self.catalogue(connection)
        target = catalogue.current_version(event.event_name)
        while event.event_version < target:
            step = catalogue.get(event.event_name, event.event_version)
            if step.upcaster is None:
                raise UnregisteredEvent(
                    f"{self.schema}.event_types: {event.event_name} v{event.event_version} "
                    f"has no upcaster to v{event.event_version + 1}"
                )
            cursor = await connection.execute(
                sql.SQL(UPCAST).format(function=sql.Identifier(self.schema, step.upcaster)),
                (Jsonb(event.payload), Jsonb(event.state)),
            )
            row = await cursor.fetchone()
            assert row is not None  # a function call returns one row
            event = replace(event, payload=row[0], state=row[1], event_version=event.event_version + 1)
        return event
