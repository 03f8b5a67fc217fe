"""The event type catalogue of each schema: names, versions, JSON Schemas, upcasters.

Payloads, states and JSON Schemas travel as JSON text and are parsed with
exact decimals, so numbers are never rounded on their way through fitgate.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql

from fitness.events.contract import EventSchema
from fitness.sql_files import sql_file

SQL = "fitness.events.sql"


def parse_json(text: str) -> Any:
    """JSON text as Python values, numbers with a fraction as exact Decimals."""
    return json.loads(text, parse_float=Decimal)


@dataclass(frozen=True)
class EventType:
    schema: str
    event_name: str
    event_version: int
    kind: str
    payload_schema: Any
    state_schema: Any
    upcaster: str | None
    upcaster_status: str | None = None  # None (no upcaster), "ok", "missing", "signature"

    @property
    def label(self) -> str:
        return f"{self.event_name} v{self.event_version}"

    @property
    def subject(self) -> str:
        """How violations name it: ``schema.event_types EventName vN``."""
        return f"{self.schema}.event_types {self.label}"


class EventTypeCatalogue:
    """The registered event types of one schema."""

    def __init__(self, schema: str, types: Iterable[EventType]) -> None:
        self.schema = schema
        self._types = {(t.event_name, t.event_version): t for t in types}
        self._current: dict[str, int] = {}
        for name, version in self._types:
            self._current[name] = max(version, self._current.get(name, 0))

    def __iter__(self) -> Iterator[EventType]:
        return iter(sorted(self._types.values(), key=lambda t: (t.event_name, t.event_version)))

    def __len__(self) -> int:
        return len(self._types)

    def get(self, event_name: str, event_version: int) -> EventType | None:
        return self._types.get((event_name, event_version))

    def current_version(self, event_name: str) -> int | None:
        """The highest registered version of ``event_name``: the shape readers get."""
        return self._current.get(event_name)

    def names(self) -> list[str]:
        return sorted(self._current)


def read_event_types(
    conn: psycopg.Connection[Any], schemas: Sequence[EventSchema]
) -> dict[str, EventTypeCatalogue]:
    """Every schema's catalogue, in one statement."""
    if not schemas:
        return {}
    template = sql.SQL(sql_file(SQL, "event_types.sql"))
    query = sql.SQL("\nUNION ALL\n").join(
        template.format(schema_name=sql.Literal(s.schema), event_types=s.event_types_sql()) for s in schemas
    )
    found: dict[str, list[EventType]] = {s.schema: [] for s in schemas}
    for row in conn.execute(query).fetchall():
        schema, name, version, kind, payload_schema, state_schema, upcaster, status = row
        found[schema].append(
            EventType(
                schema,
                name,
                version,
                kind,
                parse_json(payload_schema),
                parse_json(state_schema),
                upcaster,
                status,
            )
        )
    return {schema: EventTypeCatalogue(schema, types) for schema, types in found.items()}
