"""The registry half of event-completeness: every stored event type is registered,
described by JSON Schemas its events match, and can be upcast to its current version.

Stored events are validated against the schemas of their own version: the
latest ``events.validate_latest`` events of each type (default 100), the ones
today's writers produced. Samples of older versions are also upcast and
validated against the current version's schemas, which proves the upcasters.
"""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jsonschema
import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from fitness.config import Config
from fitness.engine.fitness_function import Findings
from fitness.events.contract import EventSchema
from fitness.events.event_types import EventType, EventTypeCatalogue, parse_json
from fitness.events.upcasting import Shape, UpcastError, chain_intact, needs_upcast, upcast
from fitness.sql_files import sql_file

SQL = "fitness.events.sql"


@dataclass(frozen=True)
class Usage:
    """How one schema's events use one event type."""

    schema: str
    event_name: str
    event_version: int
    kind: str
    events: int
    without_actor: int


def check_registry(
    conn: psycopg.Connection[Any],
    config: Config,
    schemas: Sequence[EventSchema],
    catalogues: Mapping[str, EventTypeCatalogue],
    findings: Findings,
    *,
    every_schema_read: bool,
) -> None:
    """Check the schemas in ``schemas``; ``every_schema_read`` says whether they are all the
    schemas with aggregates (a deletion name is only missing if no schema could register it)."""
    usages = _usages(conn, schemas)
    for usage in usages:
        _check_usage(usage, catalogues[usage.schema], findings)
    for catalogue in catalogues.values():
        for event_type in catalogue:
            _check_upcast_path(catalogue, event_type, findings)
    validators = {
        (t.schema, t.event_name, t.event_version): _validators(t, findings)
        for catalogue in catalogues.values()
        for t in catalogue
    }
    _check_samples(conn, config, schemas, catalogues, validators, findings)
    if every_schema_read:
        _check_declared_deletions(config, catalogues, findings)
    total = sum(u.events for u in usages)
    types = sum(len(c) for c in catalogues.values())
    findings.note(
        f"{total} event(s) of {len({(u.schema, u.event_name, u.event_version) for u in usages})} "
        f"type(s) in use; {types} type(s) registered"
    )


def _usages(conn: psycopg.Connection[Any], schemas: Sequence[EventSchema]) -> list[Usage]:
    if not schemas:
        return []
    template = sql.SQL(sql_file(SQL, "event_usage.sql"))
    query = sql.SQL("\nUNION ALL\n").join(
        template.format(schema_name=sql.Literal(s.schema), event_table=s.event_table_sql()) for s in schemas
    )
    return [Usage(*row) for row in conn.execute(query).fetchall()]


def _check_usage(usage: Usage, catalogue: EventTypeCatalogue, findings: Findings) -> None:
    registered = catalogue.get(usage.event_name, usage.event_version)
    label = f"{usage.event_name} v{usage.event_version}"
    subject = f"{usage.schema}.event_types {label}"
    if registered is None:
        current = catalogue.current_version(usage.event_name)
        known = f" (registered versions end at v{current})" if current is not None else ""
        findings.add(
            subject,
            f"{usage.events} event(s) of {label} (kind {usage.kind}) are stored but the type is "
            f"not registered{known}.",
            hint=f"INSERT INTO {usage.schema}.event_types (event_name, event_version, kind, "
            f"payload_schema, state_schema) VALUES ('{usage.event_name}', {usage.event_version}, "
            f"'{usage.kind}', '<JSON Schema of the payload>', '<JSON Schema of the state>')",
        )
    elif registered.kind != usage.kind:
        findings.add(
            subject,
            f"{usage.events} event(s) of {label} are filed under kind {usage.kind}, but the type "
            f"is registered for kind {registered.kind}.",
            hint=f"write {label} events with kind '{registered.kind}', or register the type "
            "under a name of its own for the other kind",
        )
    if usage.without_actor:
        findings.add(
            subject,
            f"{usage.without_actor} event(s) of {label} have no performed_by in their payload: "
            "nobody can tell who made the change.",
            hint="the event writer must put the acting user or system "
            "(e.g. 'system-migration') in payload.performed_by",
        )


def _check_upcast_path(catalogue: EventTypeCatalogue, event_type: EventType, findings: Findings) -> None:
    current = catalogue.current_version(event_type.event_name)
    next_version = event_type.event_version + 1
    schema = event_type.schema
    signature = "(payload jsonb, state jsonb, OUT payload jsonb, OUT state jsonb)"
    if event_type.event_version == current:
        if event_type.upcaster is not None:
            findings.add(
                event_type.subject,
                f"it is the current version but names upcaster {event_type.upcaster}, to "
                f"v{next_version}, which is not registered.",
                hint=f"UPDATE {schema}.event_types SET upcaster = NULL WHERE event_name = "
                f"'{event_type.event_name}' AND event_version = {event_type.event_version}",
            )
        return
    function = f"{event_type.event_name.lower()}_v{event_type.event_version}_to_v{next_version}"
    if event_type.upcaster is None:
        findings.add(
            event_type.subject,
            f"it is an old version (current v{current}) without an upcaster: its events cannot "
            "be read in the current shape.",
            hint=f"CREATE FUNCTION {schema}.{function}{signature} ...; UPDATE "
            f"{schema}.event_types SET upcaster = '{function}' WHERE event_name = "
            f"'{event_type.event_name}' AND event_version = {event_type.event_version}",
        )
    elif event_type.upcaster_status == "missing":
        findings.add(
            event_type.subject,
            f"its upcaster {schema}.{event_type.upcaster}(jsonb, jsonb) does not exist.",
            hint=f"CREATE FUNCTION {schema}.{event_type.upcaster}{signature} ...",
        )
    elif event_type.upcaster_status == "signature":
        findings.add(
            event_type.subject,
            f"its upcaster {schema}.{event_type.upcaster}(jsonb, jsonb) does not have the "
            f"signature {signature}.",
            hint=f"CREATE OR REPLACE FUNCTION {schema}.{event_type.upcaster}{signature} ...",
        )
    if catalogue.get(event_type.event_name, next_version) is None:
        findings.add(
            event_type.subject,
            f"v{next_version} is not registered, so the upcast path from v"
            f"{event_type.event_version} to the current v{current} is broken.",
            hint=f"register {event_type.event_name} v{next_version} in {schema}.event_types",
        )


Validators = tuple[jsonschema.protocols.Validator | None, jsonschema.protocols.Validator | None]


def _validators(event_type: EventType, findings: Findings) -> Validators:
    found: list[jsonschema.protocols.Validator | None] = []
    for part, schema in (("payload", event_type.payload_schema), ("state", event_type.state_schema)):
        problem = _metaschema_problem(json.dumps(schema, sort_keys=True))
        if problem is not None:
            found.append(None)
            findings.add(
                event_type.subject,
                f"its {part}_schema is not a valid JSON Schema: {_one_line(problem)}",
                hint=f"UPDATE {event_type.schema}.event_types SET {part}_schema = '<a JSON Schema>' "
                f"WHERE event_name = '{event_type.event_name}' "
                f"AND event_version = {event_type.event_version}",
            )
            continue
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        found.append(cls(schema))
    return found[0], found[1]


@functools.lru_cache(maxsize=4096)
def _metaschema_problem(schema_json: str) -> str | None:
    """Why a JSON Schema (canonical JSON text) breaks its metaschema, or None.

    Remembered for the process: checking a schema against its metaschema costs
    more than the rest of the check together (17 ms a schema, 80 % of a run on
    the reference platform), and a catalogue's schemas rarely change between runs.
    """
    schema = json.loads(schema_json)
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as error:
        return str(error.message)
    return None


@dataclass
class _Mismatches:
    count: int = 0
    example: str = ""


def _check_samples(
    conn: psycopg.Connection[Any],
    config: Config,
    schemas: Sequence[EventSchema],
    catalogues: Mapping[str, EventTypeCatalogue],
    validators: Mapping[tuple[str, str, int], Validators],
    findings: Findings,
) -> None:
    if not schemas:
        return
    template = sql.SQL(sql_file(SQL, "event_samples.sql"))
    query = sql.SQL("\nUNION ALL\n").join(
        template.format(schema_name=sql.Literal(s.schema), event_table=s.event_table_sql()) for s in schemas
    )
    with conn.cursor(row_factory=dict_row) as cursor:
        samples = cursor.execute(query, {"latest": config.events.validate_latest}).fetchall()
    by_type: dict[tuple[str, str, int], list[dict[str, Any]]] = defaultdict(list)
    for sample in samples:
        by_type[(sample["schema_name"], sample["event_name"], sample["event_version"])].append(sample)
    for (schema, name, version), events in sorted(by_type.items()):
        if (schema, name, version) not in validators:
            continue  # unregistered: reported by _check_usage
        catalogue = catalogues[schema]
        event_type = catalogue.get(name, version)
        assert event_type is not None
        _validate(events, events, validators[(schema, name, version)], event_type.subject, "", findings)
        if not needs_upcast(catalogue, name, version) or not chain_intact(catalogue, name, version):
            continue  # current, or a broken chain _check_upcast_path has reported
        current = catalogue.current_version(name)
        assert current is not None
        shapes = [Shape(name, version, e["payload"], e["state"]) for e in events]
        try:
            lifted = upcast(conn, catalogue, shapes)
        except UpcastError as error:
            findings.add(error.subject, error.problem)
            continue
        upcast_events = [
            {**e, "payload": s.payload, "state": s.state} for e, s in zip(events, lifted, strict=True)
        ]
        current_validators = validators.get((schema, name, current), (None, None))
        _validate(
            events,
            upcast_events,
            current_validators,
            event_type.subject,
            f", upcast to v{current},",
            findings,
        )


def _validate(
    originals: Sequence[Mapping[str, Any]],
    events: Sequence[Mapping[str, Any]],
    validators: Validators,
    subject: str,
    upcast_note: str,
    findings: Findings,
) -> None:
    for part, validator in zip(("payload", "state"), validators, strict=True):
        if validator is None:
            continue
        mismatches = _Mismatches()
        for event in events:
            error = jsonschema.exceptions.best_match(validator.iter_errors(parse_json(event[part])))
            if error is None:
                continue
            mismatches.count += 1
            if not mismatches.example:
                where = f" at {'/'.join(map(str, error.absolute_path))}" if error.absolute_path else ""
                mismatches.example = (
                    f"event {event['id']} (aggregate {event['aggregate_id']}, version "
                    f"{event['version']}){where}: {_one_line(error.message)}"
                )
        if mismatches.count:
            schema_of = "the current version's" if upcast_note else "its"
            findings.add(
                subject,
                f"{mismatches.count} of the latest {len(originals)} event(s){upcast_note} have a "
                f"{part} that does not match {schema_of} {part}_schema; first: {mismatches.example}",
                hint=f"fix the writer (or the upcaster) so that every {part} matches the "
                f"registered {part}_schema, or register a new version with the new shape",
            )


def _check_declared_deletions(
    config: Config, catalogues: Mapping[str, EventTypeCatalogue], findings: Findings
) -> None:
    registered = {name for catalogue in catalogues.values() for name in catalogue.names()}
    for index, name in enumerate(config.events.deletions):
        if name in registered:
            continue
        line = config.document.line_of(("events", "deletions", index))
        findings.add(
            name,
            "it is declared in events.deletions but no schema registers an event of this name.",
            location=f"{config.path}:{line}" if line else str(config.path),
            hint="correct the name, or register the event type in its schema's event_types",
        )


def _one_line(text: str) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= 200 else flat[:197] + "..."
