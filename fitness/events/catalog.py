"""What the system catalogs say about the tables the event contract needs.

Three set-based queries (columns, indexes, policies) cover every event table,
event type catalogue and aggregate table at once, whatever their number.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from fitness.events.contract import (
    EVENT_TYPES_TABLE,
    EventSchema,
)
from fitness.sql_files import sql_file

SQL = "fitness.events.sql"
TABLE_KINDS = {"r": "table", "p": "partitioned table"}
RELATION_KINDS = {
    "v": "a view",
    "m": "a materialized view",
    "f": "a foreign table",
    "c": "a composite type",
    "S": "a sequence",
}

TableName = tuple[str, str]  # (schema, table)


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # as format_type spells it: "integer", "timestamp with time zone"
    not_null: bool
    enum_labels: tuple[str, ...] = ()


@dataclass
class Table:
    schema: str
    name: str
    relkind: str
    rls_enabled: bool
    rls_forced: bool
    columns: dict[str, Column] = field(default_factory=dict)

    @property
    def is_table(self) -> bool:
        return self.relkind in TABLE_KINDS

    def describe_kind(self) -> str:
        return RELATION_KINDS.get(self.relkind, f"a relation of kind {self.relkind!r}")


@dataclass(frozen=True)
class Index:
    name: str
    method: str
    unique: bool
    primary: bool
    valid: bool
    partial: bool
    columns: tuple[str | None, ...]  # key columns in order; None for an expression

    @property
    def usable(self) -> bool:
        """Whether the planner may rely on it for every row: valid, whole-table, btree."""
        return self.valid and not self.partial and self.method == "btree"


@dataclass(frozen=True)
class Policy:
    name: str
    command: str  # ALL, SELECT, INSERT, UPDATE, DELETE
    permissive: bool
    using: str | None
    check: str | None


@dataclass
class Catalog:
    """The catalog facts about a set of tables, read in three statements."""

    tables: dict[TableName, Table] = field(default_factory=dict)
    indexes: dict[TableName, list[Index]] = field(default_factory=dict)
    policies: dict[TableName, list[Policy]] = field(default_factory=dict)

    def table(self, schema: str, name: str) -> Table | None:
        return self.tables.get((schema, name))

    def indexes_of(self, schema: str, name: str) -> list[Index]:
        return self.indexes.get((schema, name), [])

    def policies_of(self, schema: str, name: str) -> list[Policy]:
        return self.policies.get((schema, name), [])


def tables_to_read(schemas: Iterable[EventSchema]) -> list[TableName]:
    names: list[TableName] = []
    for event_schema in schemas:
        names.append((event_schema.schema, event_schema.event_table))
        names.append((event_schema.schema, EVENT_TYPES_TABLE))
        names.extend((a.schema, a.table) for a in event_schema.aggregates)
    return list(dict.fromkeys(names))


def read_catalog(conn: psycopg.Connection[Any], names: Sequence[TableName]) -> Catalog:
    params = {"schemas": [s for s, _ in names], "tables": [t for _, t in names]}
    catalog = Catalog()
    for row in conn.execute(sql_file(SQL, "catalog_columns.sql"), params).fetchall():
        schema, name, relkind, rls_enabled, rls_forced, column, column_type, not_null, labels = row
        table = catalog.tables.setdefault(
            (schema, name), Table(schema, name, relkind, rls_enabled, rls_forced)
        )
        if column is not None:
            table.columns[column] = Column(column, column_type, not_null, tuple(labels))
    for row in conn.execute(sql_file(SQL, "catalog_indexes.sql"), params).fetchall():
        schema, name, index_name, method, unique, primary, valid, partial, columns = row
        catalog.indexes.setdefault((schema, name), []).append(
            Index(index_name, method, unique, primary, valid, partial, tuple(columns))
        )
    for row in conn.execute(sql_file(SQL, "catalog_policies.sql"), params).fetchall():
        schema, name, policy, command, permissive, using, check = row
        catalog.policies.setdefault((schema, name), []).append(
            Policy(policy, command, permissive, using, check)
        )
    return catalog


def point_in_time_index(indexes: Iterable[Index], tenant_column: str) -> Index | None:
    """An index whose leading keys are equality columns covering kind and aggregate_id,
    followed by event_at: a lookup of one aggregate at a time reads one range of it.

    A leading tenant column is allowed (RLS adds its equality predicate)."""
    equality = {"kind", "aggregate_id", tenant_column}
    for index in indexes:
        if not index.usable:
            continue
        prefix: list[str | None] = []
        for column in index.columns:
            if column in equality and column not in prefix:
                prefix.append(column)
                continue
            if column == "event_at" and {"kind", "aggregate_id"} <= set(prefix):
                return index
            break
    return None


def version_uniqueness(indexes: Iterable[Index], tenant_column: str) -> Index | None:
    """A unique index on (kind, aggregate_id, version), optionally with the tenant column."""
    accepted = ({"kind", "aggregate_id", "version"}, {"kind", "aggregate_id", "version", tenant_column})
    for index in indexes:
        columns = set(index.columns)
        if (
            index.unique
            and index.valid
            and not index.partial
            and columns in accepted
            and len(columns) == len(index.columns)
        ):
            return index
    return None


def primary_key(indexes: Iterable[Index]) -> Index | None:
    return next((index for index in indexes if index.primary), None)


def policy_covers(policies: Iterable[Policy], command: str, tenant_column: str, setting: str) -> bool:
    """Whether a permissive policy for ``command`` compares the tenant column with the setting.

    A shallow test: rls-coverage judges every policy in depth (fail-open
    predicates, policies that OR the filter away)."""
    for policy in policies:
        if not policy.permissive or policy.command not in ("ALL", command):
            continue
        expression = policy.using if command == "SELECT" else (policy.check or policy.using)
        if expression and tenant_column in expression and setting in expression:
            return True
    return False


def render_ddl(conn: psycopg.Connection[Any], name: str, **parts: sql.Composable) -> str:
    """One of the DDL templates shipped with fitgate, with its names filled in (for hints)."""
    return sql.SQL(sql_file(SQL, name)).format(**parts).as_string(conn).strip()


def event_table_ddl(
    conn: psycopg.Connection[Any], event_schema: EventSchema, tenant_column: str, setting: str
) -> str:
    return render_ddl(
        conn,
        "event_table.sql",
        event_table=event_schema.event_table_sql(),
        tenant=sql.Identifier(tenant_column),
        setting=sql.Literal(setting),
        point_in_time_index=sql.Identifier(f"{event_schema.event_table}_point_in_time"),
    )


def event_types_ddl(conn: psycopg.Connection[Any], event_schema: EventSchema) -> str:
    return render_ddl(conn, "event_types_table.sql", event_types=event_schema.event_types_sql())
