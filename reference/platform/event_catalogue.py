"""The catalogue of events a schema may record: ``<schema>.event_types``.

Each row registers one ``(event_name, event_version)`` for an aggregate
``kind`` with the JSON Schemas of its ``payload`` and ``state``, and, for an old
version, the ``upcaster`` SQL function lifting it to ``version + 1``. Migrations
fill it; the event store refuses anything it does not list, and validates every
payload and state against the registered schemas before the transaction commits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import jsonschema_rs
from psycopg import AsyncConnection, sql
from psycopg.rows import TupleRow

from reference.platform.errors import EventSchemaViolation, UnregisteredEvent

READ_CATALOGUE = (
    "SELECT event_name, event_version, kind, payload_schema, state_schema, upcaster FROM {schema}.event_types"
)
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class EventType:
    """One registered version of one event."""

    name: str
    version: int
    kind: str
    payload_schema: Mapping[str, Any]
    state_schema: Mapping[str, Any]
    upcaster: str | None = None
    _payload: _RegisteredSchema = field(init=False, repr=False, compare=False)
    _state: _RegisteredSchema = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_payload", _RegisteredSchema(self.payload_schema))
        object.__setattr__(self, "_state", _RegisteredSchema(self.state_schema))

    def check_payload(self, payload: Mapping[str, Any]) -> None:
        """Raise :class:`EventSchemaViolation` if ``payload`` breaks the registered schema."""
        self._payload.check(payload, f"{self.name} v{self.version} payload")

    def check_state(self, state: Mapping[str, Any]) -> None:
        """Raise :class:`EventSchemaViolation` if ``state`` breaks the registered schema."""
        self._state.check(state, f"{self.name} v{self.version} state")


class EventCatalogue:
    """The registered event types of one schema, by name and version."""

    def __init__(self, schema: str, types: Iterable[EventType]) -> None:
        self.schema = schema
        self._types = {(t.name, t.version): t for t in types}

    @classmethod
    async def load(cls, connection: AsyncConnection[TupleRow], schema: str) -> EventCatalogue:
        """Read ``<schema>.event_types`` (the service role needs SELECT on it)."""
        cursor = await connection.execute(sql.SQL(READ_CATALOGUE).format(schema=sql.Identifier(schema)))
        rows = await cursor.fetchall()
        types = []
        for name, version, kind, payload_schema, state_schema, upcaster in rows:
            if upcaster is not None and not _IDENTIFIER.match(str(upcaster)):
                raise UnregisteredEvent(
                    f"{schema}.event_types: upcaster {upcaster!r} of {name} v{version} "
                    "is not a plain function name"
                )
            types.append(
                EventType(str(name), int(version), str(kind), payload_schema, state_schema, upcaster)
            )
        return cls(schema, types)

    def get(self, name: str, version: int) -> EventType:
        """The registered type, or :class:`UnregisteredEvent`."""
        try:
            return self._types[(name, version)]
        except KeyError:
            raise UnregisteredEvent(
                f"{self.schema}.event_types does not register {name} version {version}"
            ) from None

    def current_version(self, name: str) -> int:
        """The newest registered version of ``name``."""
        versions = [v for (n, v) in self._types if n == name]
        if not versions:
            raise UnregisteredEvent(f"{self.schema}.event_types does not register {name}")
        return max(versions)

    def __iter__(self) -> Any:
        return iter(self._types.values())


class _RegisteredSchema:
    """A registered JSON Schema, checked in every write before COMMIT.

    jsonschema-rs decides (about a microsecond a document; pure-Python jsonschema
    takes 0.1 to 0.2 ms, a third of a state change's cost); a refusal is explained
    with jsonschema's best match, whose messages name the rule that failed.
    """

    def __init__(self, schema: Mapping[str, Any]) -> None:
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        cls.check_schema(dict(schema))
        self._explaining: jsonschema.protocols.Validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
        self._deciding = jsonschema_rs.validator_for(dict(schema), validate_formats=True)

    def check(self, document: Mapping[str, Any], what: str) -> None:
        if self._deciding.is_valid(document):
            return
        error = jsonschema.exceptions.best_match(self._explaining.iter_errors(document))
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or "(root)"
            message = error.message
        else:  # a format jsonschema does not check (date-time without its optional package)
            found = next(iter(self._deciding.iter_errors(document)))
            where = "/".join(str(p) for p in found.instance_path) or "(root)"
            message = found.message
        raise EventSchemaViolation(f"{what} does not match its registered schema at {where}: {message}")
