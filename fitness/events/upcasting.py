"""Upcasting on read: old event versions brought to the current shape by the SQL upcasters.

Each registered version but the newest names an upcaster, a function in the
same schema ``f(payload jsonb, state jsonb, OUT payload jsonb, OUT state jsonb)``
that lifts an event from its version to the next. Events are lifted in
batches: one statement per (event name, version) step and batch, whatever
the number of events, and only SELECTs, so it runs on a read replica too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from fitness.errors import FitgateError
from fitness.events.event_types import EventType, EventTypeCatalogue
from fitness.sql_files import sql_file

SQL = "fitness.events.sql"
BATCH_SIZE = 5000


class UpcastError(FitgateError):
    """An event cannot be brought to the current version of its type."""

    def __init__(self, subject: str, message: str) -> None:
        self.subject = subject
        self.problem = message
        super().__init__(f"{subject}: {message}")


@dataclass(frozen=True)
class Shape:
    """An event's version, payload and state; payload and state as JSON text."""

    event_name: str
    event_version: int
    payload: str
    state: str


def needs_upcast(catalogue: EventTypeCatalogue, event_name: str, event_version: int) -> bool:
    current = catalogue.current_version(event_name)
    return current is not None and event_version < current


def chain_intact(catalogue: EventTypeCatalogue, event_name: str, event_version: int) -> bool:
    """Whether every step from ``event_version`` to the current version names an existing upcaster."""
    current = catalogue.current_version(event_name)
    if current is None:
        return True
    for version in range(event_version, current):
        event_type = catalogue.get(event_name, version)
        if (
            event_type is None
            or event_type.upcaster is None
            or event_type.upcaster_status not in (None, "ok")
        ):
            return False
    return True


def upcast(
    conn: psycopg.Connection[Any], catalogue: EventTypeCatalogue, shapes: Sequence[Shape]
) -> list[Shape]:
    """``shapes`` in the current version of their types (unregistered names are left alone).

    Raises :class:`UpcastError` naming the event type whose chain is broken
    or whose upcaster failed."""
    result = list(shapes)
    pending = [i for i, s in enumerate(result) if needs_upcast(catalogue, s.event_name, s.event_version)]
    while pending:
        steps: dict[tuple[str, int], list[int]] = defaultdict(list)
        for index in pending:
            steps[(result[index].event_name, result[index].event_version)].append(index)
        for (name, version), indices in sorted(steps.items()):
            event_type = _step_from(catalogue, name, version)
            assert event_type.upcaster is not None  # checked by _step_from
            for start in range(0, len(indices), BATCH_SIZE):
                chunk = indices[start : start + BATCH_SIZE]
                lifted = _apply(conn, event_type, [result[i] for i in chunk])
                for index, (payload, state) in zip(chunk, lifted, strict=True):
                    result[index] = Shape(name, version + 1, payload, state)
        pending = [
            i for i in pending if needs_upcast(catalogue, result[i].event_name, result[i].event_version)
        ]
    return result


def _step_from(catalogue: EventTypeCatalogue, name: str, version: int) -> EventType:
    current = catalogue.current_version(name)
    event_type = catalogue.get(name, version)
    if event_type is None:
        raise UpcastError(
            f"{catalogue.schema}.event_types {name} v{version}",
            f"events of this version exist but it is not registered, so nothing lifts them to v{current}.",
        )
    if event_type.upcaster is None:
        raise UpcastError(
            event_type.subject,
            f"it is an old version (current v{current}) without an upcaster: its events "
            "cannot be read in the current shape.",
        )
    if catalogue.get(name, version + 1) is None:
        raise UpcastError(
            event_type.subject,
            f"its upcaster {event_type.upcaster} lifts to v{version + 1}, which is not registered.",
        )
    return event_type


def _apply(
    conn: psycopg.Connection[Any], event_type: EventType, shapes: Sequence[Shape]
) -> list[tuple[str, str]]:
    assert event_type.upcaster is not None
    query = sql.SQL(sql_file(SQL, "upcast_batch.sql")).format(
        upcaster=sql.Identifier(event_type.schema, event_type.upcaster)
    )
    params = {"payloads": [s.payload for s in shapes], "states": [s.state for s in shapes]}
    try:
        with conn.transaction():  # a savepoint: a failing upcaster leaves the caller's work intact
            rows = conn.execute(query, params).fetchall()
    except psycopg.Error as exc:
        reason = " ".join(str(exc).split()) or exc.__class__.__name__
        raise UpcastError(
            event_type.subject, f"its upcaster {event_type.upcaster} failed: {reason}"
        ) from None
    if len(rows) != len(shapes) or any(p is None or s is None for p, s in rows):
        raise UpcastError(
            event_type.subject,
            f"its upcaster {event_type.upcaster} returned no payload or no state for some events.",
        )
    return [(str(p), str(s)) for p, s in rows]
