"""The catalog half of event-completeness: the tables the contract needs, as it needs them.

Besides reporting violations it says which schemas and aggregate tables are
sound enough for the data checks to run on them (a missing column would
only make the reconciliation query fail).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from fitness.config import Config
from fitness.engine.fitness_function import Findings, Violation
from fitness.events.catalog import (
    Catalog,
    Table,
    event_table_ddl,
    event_types_ddl,
    point_in_time_index,
    policy_covers,
    primary_key,
    version_uniqueness,
)
from fitness.events.contract import (
    EVENT_TYPE_COLUMNS,
    EVENT_TYPES_TABLE,
    ID_COLUMN,
    SHORT_TYPE_NAMES,
    VERSION_COLUMN,
    AggregateTable,
    EventSchema,
    event_columns,
)


@dataclass
class Readiness:
    """Which parts of the system the data checks can run on."""

    event_schemas: list[EventSchema] = field(default_factory=list)  # event table and catalogue sound
    aggregates: list[AggregateTable] = field(default_factory=list)  # ... and the aggregate table too
    blockers: list[Violation] = field(default_factory=list)  # the violations that keep others out


class _Judge:
    """Adds violations; those that keep the data checks out are remembered as blockers."""

    def __init__(self, findings: Findings, ready: Readiness) -> None:
        self.findings = findings
        self.ready = ready

    def add(self, subject: str, message: str, *, hint: str, location: str | None = None) -> None:
        self.findings.add(subject, message, hint=hint, location=location)

    def block(self, subject: str, message: str, *, hint: str, location: str | None = None) -> None:
        self.findings.add(subject, message, hint=hint, location=location)
        self.ready.blockers.append(Violation(subject, message, location, hint))


def check_catalog(
    conn: psycopg.Connection[Any],
    config: Config,
    catalog: Catalog,
    schemas: list[EventSchema],
    findings: Findings,
) -> Readiness:
    tenant = config.tenancy.column
    ready = Readiness()
    judge = _Judge(findings, ready)
    for event_schema in schemas:
        events_sound = _check_event_table(conn, config, catalog, event_schema, judge)
        types_sound = _check_event_types(conn, catalog, event_schema, judge)
        if events_sound and types_sound:
            ready.event_schemas.append(event_schema)
        for aggregate in event_schema.aggregates:
            table_sound = _check_aggregate(config, catalog, aggregate, tenant, judge)
            if table_sound and events_sound and types_sound:
                ready.aggregates.append(aggregate)
    return ready


def _short(type_name: str) -> str:
    return SHORT_TYPE_NAMES.get(type_name, type_name)


def _check_columns(
    table: Table,
    subject: str,
    wanted: tuple[tuple[str, str, bool], ...],
    judge: _Judge,
) -> bool:
    """Report missing, mistyped and nullable columns; True if every column exists with its type."""
    sound = True
    for column, type_name, not_null in wanted:
        found = table.columns.get(column)
        if found is None:
            sound = False
            judge.block(
                subject,
                f"column {column} is missing.",
                hint=f"ALTER TABLE {subject} ADD COLUMN {column} {_short(type_name)}"
                + (" NOT NULL" if not_null else ""),
            )
            continue
        if found.type != type_name:
            sound = False
            judge.block(
                subject,
                f"column {column} is {_short(found.type)}, not {_short(type_name)}.",
                hint=f"ALTER TABLE {subject} ALTER COLUMN {column} TYPE {_short(type_name)} "
                f"USING {column}::text::{_short(type_name)}",
            )
        if not_null and not found.not_null:
            judge.add(
                subject,
                f"column {column} allows NULL.",
                hint=f"ALTER TABLE {subject} ALTER COLUMN {column} SET NOT NULL",
            )
    return sound


def _check_event_table(
    conn: psycopg.Connection[Any],
    config: Config,
    catalog: Catalog,
    event_schema: EventSchema,
    judge: _Judge,
) -> bool:
    tenant = config.tenancy.column
    setting = config.tenancy.setting
    subject = event_schema.qualified_event_table
    table = catalog.table(event_schema.schema, event_schema.event_table)
    kinds = ", ".join(a.kind for a in event_schema.aggregates)
    if table is None:
        judge.block(
            subject,
            f"the event table is missing: changes of {kinds} leave no events.",
            hint=event_table_ddl(conn, event_schema, tenant, setting),
        )
        return False
    if not table.is_table:
        judge.block(
            subject,
            f"the event table is {table.describe_kind()}, not a table.",
            hint=event_table_ddl(conn, event_schema, tenant, setting),
        )
        return False
    wanted = tuple((column, type_name, True) for column, type_name in event_columns(tenant))
    sound = _check_columns(table, subject, wanted, judge)
    if not table.rls_enabled:
        judge.add(
            subject,
            "row-level security is not enabled: every tenant's events are visible to every tenant.",
            hint=f"ALTER TABLE {subject} ENABLE ROW LEVEL SECURITY",
        )
    if not table.rls_forced:
        judge.add(
            subject,
            "row-level security is not forced: the table owner reads every tenant's events.",
            hint=f"ALTER TABLE {subject} FORCE ROW LEVEL SECURITY",
        )
    policies = catalog.policies_of(event_schema.schema, event_schema.event_table)
    predicate = f"{tenant} = (SELECT NULLIF(current_setting('{setting}', true), '')::uuid)"
    for command in ("SELECT", "INSERT"):
        if not policy_covers(policies, command, tenant, setting):
            judge.add(
                subject,
                f"no permissive policy for {command} compares {tenant} with {setting} "
                "(rls-coverage judges the policies in depth).",
                hint=f"CREATE POLICY tenant_isolation ON {subject} USING ({predicate}) "
                f"WITH CHECK ({predicate})",
            )
    indexes = catalog.indexes_of(event_schema.schema, event_schema.event_table)
    if version_uniqueness(indexes, tenant) is None:
        judge.add(
            subject,
            "nothing makes (kind, aggregate_id, version) unique: two writers can record the "
            "same version of an aggregate.",
            hint=f"ALTER TABLE {subject} ADD UNIQUE (kind, aggregate_id, version)",
        )
    if point_in_time_index(indexes, tenant) is None:
        index_name = sql.Identifier(f"{event_schema.event_table}_point_in_time").as_string(conn)
        judge.add(
            subject,
            "no index serves point-in-time lookups (kind, aggregate_id, event_at): "
            "every state-at query scans the aggregate's events or the whole table.",
            hint=f"CREATE INDEX {index_name} ON {subject} (kind, aggregate_id, event_at)",
        )
    return sound


def _check_event_types(
    conn: psycopg.Connection[Any], catalog: Catalog, event_schema: EventSchema, judge: _Judge
) -> bool:
    subject = event_schema.qualified_event_types
    table = catalog.table(event_schema.schema, EVENT_TYPES_TABLE)
    if table is None or not table.is_table:
        what = "missing" if table is None else f"{table.describe_kind()}, not a table"
        judge.block(
            subject,
            f"the event type catalogue is {what}: no event name, version, JSON Schema or "
            "upcaster can be checked.",
            hint=event_types_ddl(conn, event_schema),
        )
        return False
    sound = _check_columns(table, subject, EVENT_TYPE_COLUMNS, judge)
    key = primary_key(catalog.indexes_of(event_schema.schema, EVENT_TYPES_TABLE))
    if key is None or set(key.columns) != {"event_name", "event_version"}:
        judge.add(
            subject,
            "its primary key is not (event_name, event_version): one version of an event "
            "could be registered twice with different schemas.",
            hint=f"ALTER TABLE {subject} ADD PRIMARY KEY (event_name, event_version)",
        )
    return sound


def _check_aggregate(
    config: Config,
    catalog: Catalog,
    aggregate: AggregateTable,
    tenant: str,
    judge: _Judge,
) -> bool:
    subject = aggregate.qualified
    location = _config_location(config, ("events", "aggregates", aggregate.qualified))
    table = catalog.table(aggregate.schema, aggregate.table)
    if table is None or not table.is_table:
        what = "does not exist" if table is None else f"is {table.describe_kind()}, not a table"
        judge.block(
            subject,
            f"it is declared as the aggregate table of {aggregate.kind} but {what}.",
            location=location,
            hint="create the table or correct events.aggregates",
        )
        return False
    wanted = (
        (ID_COLUMN, "uuid", True),
        (tenant, "uuid", True),
        (VERSION_COLUMN, "integer", True),
    )
    sound = _check_columns(table, subject, wanted, judge)
    key = primary_key(catalog.indexes_of(aggregate.schema, aggregate.table))
    if key is None or set(key.columns) != {tenant, ID_COLUMN} or len(key.columns) != 2:
        judge.add(
            subject,
            f"its primary key is not ({tenant}, id): aggregates are identified by their uuid id "
            "within a tenant, and foreign keys must include the tenant.",
            hint=f"ALTER TABLE {subject} ADD PRIMARY KEY ({tenant}, id)",
        )
    mapping_location = _config_location(config, ("events", "state", aggregate.qualified))
    for column in aggregate.mapped_columns():
        if column not in table.columns:
            sound = False
            judge.block(
                subject,
                f"events.state names column {column}, which the table does not have.",
                location=mapping_location,
                hint=f"remove {column} from events.state.{aggregate.qualified}",
            )
    for column, key_name in aggregate.mapping.rename.items():
        clash = table.columns.get(key_name)
        if clash is not None and aggregate.state_key(key_name) == key_name:
            sound = False
            judge.block(
                subject,
                f"events.state renames {column} to {key_name}, which is also a column kept "
                "in the state under its own name.",
                location=mapping_location,
                hint=f"exclude or rename {key_name} too, or pick another key for {column}",
            )
    return sound


def _config_location(config: Config, path: tuple[str, ...]) -> str:
    line = config.document.line_of(path)
    return f"{config.path}:{line}" if line else str(config.path)
