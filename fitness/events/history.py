"""History and point-in-time state of any aggregate, generic over the event contract.

The schema is found from the aggregate's kind in the config; the state at a
moment is the ``state`` of the latest event at or before it (one descent of
the index on (kind, aggregate_id, event_at), no replay); old event versions
come back in the current shape through the schema's SQL upcasters. Only
SELECTs: a read replica serves it as well as the primary.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

from fitness.config import Config
from fitness.database.existing import first_line
from fitness.errors import FitgateError
from fitness.events.contract import AggregateTable, EventSchema, aggregate_of_kind
from fitness.events.event_types import EventTypeCatalogue, parse_json, read_event_types
from fitness.events.upcasting import Shape, upcast
from fitness.sql_files import sql_file

SQL = "fitness.events.sql"


@dataclass(frozen=True)
class RecordedEvent:
    """One event as a reader sees it: payload and state in the current version's shape."""

    id: UUID
    tenant_id: UUID
    kind: str
    aggregate_id: UUID
    version: int
    event_name: str
    event_version: int  # the version of the shape returned
    stored_event_version: int  # the version it was written in
    payload: Any
    state: Any
    event_at: datetime.datetime
    tx_id: int

    @property
    def performed_by(self) -> str | None:
        actor = self.payload.get("performed_by") if isinstance(self.payload, dict) else None
        return actor if isinstance(actor, str) else None

    @property
    def upcast(self) -> bool:
        return self.event_version != self.stored_event_version


@dataclass(frozen=True)
class PointInTime:
    """What was known of an aggregate at a moment."""

    kind: str
    aggregate_id: UUID
    at: datetime.datetime
    event: RecordedEvent | None  # the latest event at or before ``at``
    deleted: bool  # that event ended the aggregate

    @property
    def existed(self) -> bool:
        return self.event is not None and not self.deleted


class EventHistory:
    """Reads events through one connection; event type catalogues are cached per schema."""

    def __init__(self, conn: psycopg.Connection[Any], config: Config) -> None:
        self._conn = conn
        self._config = config
        self._catalogues: dict[str, EventTypeCatalogue] = {}
        self._queries: dict[tuple[str, str], sql.Composed] = {}

    def history(self, kind: str, aggregate_id: UUID) -> list[RecordedEvent]:
        """Every event of the aggregate, oldest version first."""
        aggregate = aggregate_of_kind(self._config, kind)
        rows = self._fetch(aggregate, "history.sql", {"kind": kind, "aggregate_id": aggregate_id})
        return self._events(aggregate, rows)

    def state_at(self, kind: str, aggregate_id: UUID, at: datetime.datetime) -> PointInTime:
        """The aggregate as its latest event at or before ``at`` recorded it."""
        if at.tzinfo is None:
            raise FitgateError(f"state_at: {at.isoformat()} has no time zone")
        aggregate = aggregate_of_kind(self._config, kind)
        params = {"kind": kind, "aggregate_id": aggregate_id, "at": at}
        events = self._events(aggregate, self._fetch(aggregate, "state_at.sql", params))
        event = events[0] if events else None
        deleted = event is not None and event.event_name in self._config.events.deletions
        return PointInTime(kind, aggregate_id, at, event, deleted)

    def query(self, kind: str, name: str) -> sql.Composed:
        """The statement ``name`` (history.sql, state_at.sql) for ``kind`` (also for EXPLAIN)."""
        if (kind, name) not in self._queries:
            aggregate = aggregate_of_kind(self._config, kind)
            self._queries[(kind, name)] = sql.SQL(sql_file(SQL, name)).format(
                tenant=sql.Identifier(self._config.tenancy.column),
                event_table=self._schema(aggregate).event_table_sql(),
            )
        return self._queries[(kind, name)]

    def _schema(self, aggregate: AggregateTable) -> EventSchema:
        return EventSchema(aggregate.schema, self._config.events.table, (aggregate,))

    def _fetch(self, aggregate: AggregateTable, name: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        try:
            return self._conn.execute(self.query(aggregate.kind, name), params).fetchall()
        except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn) as exc:
            raise FitgateError(
                f"{aggregate.schema}.{self._config.events.table} cannot be read as an event "
                f"table: {first_line(exc)}"
            ) from None

    def _catalogue(self, aggregate: AggregateTable) -> EventTypeCatalogue:
        if aggregate.schema not in self._catalogues:
            try:
                found = read_event_types(self._conn, [self._schema(aggregate)])
            except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn) as exc:
                raise FitgateError(
                    f"{aggregate.schema}.event_types cannot be read as the event type "
                    f"catalogue: {first_line(exc)}"
                ) from None
            self._catalogues[aggregate.schema] = found[aggregate.schema]
        return self._catalogues[aggregate.schema]

    def _events(self, aggregate: AggregateTable, rows: Sequence[tuple[Any, ...]]) -> list[RecordedEvent]:
        if not rows:
            return []
        catalogue = self._catalogue(aggregate)
        shapes = upcast(self._conn, catalogue, [Shape(r[5], r[6], r[7], r[8]) for r in rows])
        return [
            RecordedEvent(
                id=row[0],
                tenant_id=row[1],
                kind=row[2],
                aggregate_id=row[3],
                version=row[4],
                event_name=row[5],
                event_version=shape.event_version,
                stored_event_version=row[6],
                payload=parse_json(shape.payload),
                state=parse_json(shape.state),
                event_at=row[9],
                tx_id=int(row[10]),
            )
            for row, shape in zip(rows, shapes, strict=True)
        ]
