"""A JSON Schema of an aggregate's state, derived from its table's columns.

Used for the event types fitgate registers itself (``<Kind>Migrated`` and the
other adoption events), whose state is exactly the mapped row.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fitness.events.catalog import Column
from fitness.events.contract import AggregateTable

_SCALARS: dict[str, dict[str, Any]] = {
    "uuid": {"type": "string", "format": "uuid"},
    "text": {"type": "string"},
    "character varying": {"type": "string"},
    "character": {"type": "string"},
    "citext": {"type": "string"},
    "bytea": {"type": "string"},
    "inet": {"type": "string"},
    "cidr": {"type": "string"},
    "smallint": {"type": "integer"},
    "integer": {"type": "integer"},
    "bigint": {"type": "integer"},
    "numeric": {"type": "number"},
    "real": {"type": "number"},
    "double precision": {"type": "number"},
    "boolean": {"type": "boolean"},
    "timestamp with time zone": {"type": "string", "format": "date-time"},
    "timestamp without time zone": {"type": "string"},
    "date": {"type": "string", "format": "date"},
    "time with time zone": {"type": "string"},
    "time without time zone": {"type": "string"},
    "interval": {"type": "string"},
}


def state_schema(aggregate: AggregateTable, columns: Mapping[str, Column]) -> dict[str, Any]:
    """An object schema with one required property per state key, typed by its column."""
    properties: dict[str, Any] = {}
    for column in columns.values():
        key = aggregate.state_key(column.name)
        if key is not None:
            properties[key] = _column_schema(column)
    return {
        "type": "object",
        "required": sorted(properties),
        "properties": properties,
        "additionalProperties": False,
    }


def _column_schema(column: Column) -> dict[str, Any]:
    if column.enum_labels:
        labels: list[Any] = list(column.enum_labels)
        return {"enum": labels if column.not_null else [*labels, None]}
    base_type = re.sub(r"\([^)]*\)", "", column.type).strip()  # varchar(50), timestamp(3) ...
    if base_type.endswith("[]"):
        schema: dict[str, Any] = {"type": "array"}
    else:
        schema = dict(_SCALARS.get(base_type, {}))
    if not schema:
        return {}  # json, jsonb and types without a JSON counterpart: any value
    if not column.not_null:
        schema["type"] = [schema["type"], "null"]
    return schema
