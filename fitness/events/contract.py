"""The domain-event contract: where events live and how a row becomes a state.

Every service schema with aggregates (``events.aggregates``) holds the event
table (``events.table``, default ``domain_event``) and the global catalogue
``event_types``. An aggregate row's *state* is the whole row, ``to_jsonb(row)``,
``version`` included (so a state read on its own says which version it is);
``events.state`` may leave columns out (secrets have no place in an
append-only log) or store a column under another key. The tenant column and
``id`` stay in the state, so a state read on its own (an export, an audit
extract) still says whose and which aggregate it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from psycopg import sql

from fitness.config import Config, StateMapping
from fitness.errors import UsageError

EVENT_TYPES_TABLE = "event_types"
VERSION_COLUMN = "version"  # on aggregate rows: the version of the latest event
ID_COLUMN = "id"
MIGRATION_ACTOR = "system-migration"  # performed_by of events fitgate writes for legacy rows


def event_columns(tenant_column: str) -> tuple[tuple[str, str], ...]:
    """The event table's required columns and their types (as ``format_type`` spells them)."""
    return (
        ("id", "uuid"),
        (tenant_column, "uuid"),
        ("kind", "text"),
        ("aggregate_id", "uuid"),
        ("version", "integer"),
        ("event_name", "text"),
        ("event_version", "integer"),
        ("state", "jsonb"),
        ("payload", "jsonb"),
        ("event_at", "timestamp with time zone"),
        ("tx_id", "xid8"),
    )


EVENT_TYPE_COLUMNS: tuple[tuple[str, str, bool], ...] = (
    # (column, type, NOT NULL)
    ("event_name", "text", True),
    ("event_version", "integer", True),
    ("kind", "text", True),
    ("payload_schema", "jsonb", True),
    ("state_schema", "jsonb", True),
    ("upcaster", "text", False),
)

SHORT_TYPE_NAMES = {"timestamp with time zone": "timestamptz"}


@dataclass(frozen=True)
class AggregateTable:
    """A declared aggregate table, the kind of its events and its row-to-state mapping."""

    schema: str
    table: str
    kind: str
    mapping: StateMapping

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.table}"

    def subject(self, aggregate_id: object) -> str:
        """How a violation names one aggregate: ``schema.table id=...``."""
        return f"{self.qualified} id={aggregate_id}"

    def state_key(self, column: str) -> str | None:
        """The state key a column is stored under, or None if it is not in the state."""
        if column in self.mapping.exclude:
            return None
        return self.mapping.rename.get(column, column)

    def mapped_columns(self) -> tuple[str, ...]:
        """Columns the mapping names, which must therefore exist."""
        return (*self.mapping.exclude, *self.mapping.rename)

    def state_expression(self, row: sql.Composable) -> sql.Composable:
        """SQL turning the whole-row value ``row`` into the state the events must carry."""
        dropped = [*self.mapping.exclude, *self.mapping.rename]
        base = sql.SQL("(to_jsonb({row}) - {dropped}::text[])").format(row=row, dropped=sql.Literal(dropped))
        if not self.mapping.rename:
            return base
        pairs = sql.SQL(", ").join(
            sql.SQL("{key}, ({row}).{column}").format(
                key=sql.Literal(key), row=row, column=sql.Identifier(column)
            )
            for column, key in self.mapping.rename.items()
        )
        return sql.SQL("({base} || jsonb_build_object({pairs}))").format(base=base, pairs=pairs)


@dataclass(frozen=True)
class EventSchema:
    """One service schema holding events: its aggregates and its event table."""

    schema: str
    event_table: str
    aggregates: tuple[AggregateTable, ...]

    @property
    def qualified_event_table(self) -> str:
        return f"{self.schema}.{self.event_table}"

    @property
    def qualified_event_types(self) -> str:
        return f"{self.schema}.{EVENT_TYPES_TABLE}"

    def event_table_sql(self) -> sql.Composable:
        return sql.Identifier(self.schema, self.event_table)

    def event_types_sql(self) -> sql.Composable:
        return sql.Identifier(self.schema, EVENT_TYPES_TABLE)


def aggregate_tables(config: Config) -> list[AggregateTable]:
    tables = []
    for qualified, kind in config.events.aggregates.items():
        schema, table = qualified.split(".", 1)
        tables.append(AggregateTable(schema, table, kind, config.events.mapping_for(qualified)))
    return tables


def event_schemas(config: Config, tables: Sequence[AggregateTable] | None = None) -> list[EventSchema]:
    """The schemas holding ``tables`` (default: every declared aggregate), in config order."""
    chosen = aggregate_tables(config) if tables is None else list(tables)
    schemas: dict[str, list[AggregateTable]] = {}
    for aggregate in chosen:
        schemas.setdefault(aggregate.schema, []).append(aggregate)
    return [EventSchema(name, config.events.table, tuple(members)) for name, members in schemas.items()]


def aggregate_of_kind(config: Config, kind: str) -> AggregateTable:
    """The aggregate table whose events carry ``kind``; a one-line usage error if none."""
    for aggregate in aggregate_tables(config):
        if aggregate.kind == kind:
            return aggregate
    known = ", ".join(sorted(config.events.aggregates.values())) or "none declared"
    raise UsageError(f"--kind {kind}: no aggregate of this kind in {config.path} (known: {known})")
