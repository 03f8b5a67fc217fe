"""Legacy adoption: events for rows that were written without them.

Step one (``backfill``): every aggregate row without events gets one
``<Kind>Migrated`` event, version 1, performed by ``system-migration``, with
its state as of one consistent snapshot (REPEATABLE READ); the row's version
is set to 1, since a stream of events must start at 1 whatever the legacy
column counted. Re-running adds nothing: those rows have events now.

Step two (``backfill --diff``), run while legacy writers still change rows
without events: the state recorded by each aggregate's latest event is the
earlier snapshot of that row, so comparing it with the row now is the
difference between two successive snapshots. Every row that changed since
(its state, its version, or its last writing transaction differ from its
latest event) gets a ``<Kind>Changed`` event with the next version and the
state now; rows new since then get ``<Kind>Migrated``; aggregates whose row
vanished get ``<Kind>Removed`` with their last state, which must be declared
in ``events.deletions`` first. Live writers then take over.

Every event records the snapshot it came from (``payload.snapshot``: the
``pg_current_snapshot()`` text, ``payload.snapshot_at``), and ``--diff`` names
the snapshot it continues from (``payload.previous_snapshot``). ``event_at``
is the snapshot's time: when fitgate observed the state, the only time known.
Rows are touched with triggers off (``session_replication_role = replica``)
so an ``updated_at`` trigger does not rewrite the history being recorded.
The event types fitgate writes are registered (version 1, JSON Schemas of
the payload above and of the row's columns) unless their name already is.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from fitness.config import Config
from fitness.database.existing import connect
from fitness.engine.fitness_function import Findings
from fitness.errors import FitgateError, UsageError
from fitness.events.access import require_rls_bypass
from fitness.events.catalog import Column, read_catalog, tables_to_read
from fitness.events.catalog_check import check_catalog
from fitness.events.contract import MIGRATION_ACTOR, AggregateTable, EventSchema, event_schemas
from fitness.events.event_types import EventTypeCatalogue, read_event_types
from fitness.events.reconciliation import reconcile
from fitness.events.state_schema import state_schema
from fitness.sql_files import sql_file

SQL = "fitness.events.sql"
ATTEMPTS = 3  # a concurrent writer makes REPEATABLE READ fail; the run is simply repeated

_SNAPSHOT_PAYLOAD: dict[str, Any] = {  # <Kind>Migrated; previous_snapshot when written by --diff
    "type": "object",
    "required": ["performed_by", "snapshot", "snapshot_at"],
    "properties": {
        "performed_by": {"const": MIGRATION_ACTOR},
        "snapshot": {"type": "string"},
        "snapshot_at": {"type": "string", "format": "date-time"},
        "previous_snapshot": {"type": "string"},
    },
    "additionalProperties": False,
}
_DIFF_PAYLOAD: dict[str, Any] = {  # <Kind>Changed, <Kind>Removed
    **_SNAPSHOT_PAYLOAD,
    "required": [*_SNAPSHOT_PAYLOAD["required"], "previous_snapshot"],
}
_CHANGES = ("stale", "version_mismatch", "tenant_mismatch", "foreign_tx", "alive_after_deletion")


@dataclass(frozen=True)
class Written:
    table: str
    event_name: str
    events: int


@dataclass
class BackfillReport:
    service: str
    schema: str
    diff: bool
    snapshot: str
    snapshot_at: datetime.datetime
    previous_snapshot: str | None = None
    written: list[Written] = field(default_factory=list)
    registered: list[str] = field(default_factory=list)  # "UserMigrated v1"
    left_alone: list[str] = field(default_factory=list)  # what a backfill must not paper over
    dry_run: bool = False

    @property
    def events(self) -> int:
        return sum(w.events for w in self.written)


def backfill(
    url: str, config: Config, service_name: str, *, diff: bool = False, dry_run: bool = False
) -> BackfillReport:
    """Write adoption events for one service's aggregates in one transaction.

    With ``dry_run`` the transaction is rolled back: the report says what
    would have been written."""
    service = config.services.get(service_name)
    if service is None:
        known = ", ".join(config.services) or "none"
        raise UsageError(f"--service {service_name}: no such service in {config.path} (known: {known})")
    schemas = [s for s in event_schemas(config) if s.schema == service.schema]
    if not schemas:
        raise UsageError(
            f"--service {service_name}: none of its tables ({service.schema}.*) is declared "
            f"in events.aggregates of {config.path}"
        )
    with connect(url) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return _run(conn, config, service_name, schemas[0], diff=diff, dry_run=dry_run)
            except psycopg.errors.SerializationFailure:
                conn.rollback()
                if attempt == ATTEMPTS:
                    raise FitgateError(
                        f"backfill of {service_name}: rows kept changing under the snapshot "
                        f"({ATTEMPTS} attempts); run it again when writes are quieter"
                    ) from None
    raise AssertionError("unreachable")


def _run(
    conn: psycopg.Connection[Any],
    config: Config,
    service_name: str,
    event_schema: EventSchema,
    *,
    diff: bool,
    dry_run: bool,
) -> BackfillReport:
    snapshot, snapshot_at = _take_snapshot(conn)
    report = BackfillReport(service_name, event_schema.schema, diff, snapshot, snapshot_at, dry_run=dry_run)
    require_rls_bypass(conn, f"backfill of {service_name}")
    try:
        with conn.transaction():
            conn.execute("SET LOCAL session_replication_role = replica")
    except psycopg.errors.InsufficientPrivilege:
        raise FitgateError(
            f"backfill of {service_name} turns triggers off while it touches rows: connect as a "
            "superuser, or GRANT SET ON PARAMETER session_replication_role to the role"
        ) from None
    columns = _sound_columns(conn, config, event_schema)
    catalogue = read_event_types(conn, [event_schema])[event_schema.schema]
    payload: dict[str, Any] = {
        "performed_by": MIGRATION_ACTOR,
        "snapshot": snapshot,
        "snapshot_at": snapshot_at.astimezone(datetime.UTC).isoformat(),
    }
    if diff:
        report.previous_snapshot = _previous_snapshot(conn, event_schema, service_name)
        payload["previous_snapshot"] = report.previous_snapshot
    writer = _Writer(conn, config, event_schema, catalogue, columns, payload, report)
    for aggregate in event_schema.aggregates:
        writer.migrated(aggregate)
    if diff:
        _write_differences(conn, config, event_schema, catalogue, columns, writer, report)
    if dry_run:
        conn.rollback()
    else:
        conn.commit()
    return report


def _take_snapshot(conn: psycopg.Connection[Any]) -> tuple[str, datetime.datetime]:
    """The transaction's snapshot: taken by its first statement, this one."""
    row = conn.execute("SELECT pg_current_snapshot()::text, statement_timestamp()").fetchone()
    assert row is not None
    return str(row[0]), row[1]


def _sound_columns(
    conn: psycopg.Connection[Any], config: Config, event_schema: EventSchema
) -> dict[str, Mapping[str, Column]]:
    """Columns of each aggregate table, once the catalog shows the contract's tables are sound."""
    catalog = read_catalog(conn, tables_to_read([event_schema]))
    ready = check_catalog(conn, config, catalog, [event_schema], Findings())
    if ready.blockers:
        blocker = ready.blockers[0]
        raise FitgateError(f"cannot backfill {event_schema.schema}: {blocker.subject}: {blocker.message}")
    return {a.qualified: catalog.tables[(a.schema, a.table)].columns for a in event_schema.aggregates}


def _previous_snapshot(conn: psycopg.Connection[Any], event_schema: EventSchema, service_name: str) -> str:
    query = sql.SQL(sql_file(SQL, "backfill_last_snapshot.sql")).format(
        event_table=event_schema.event_table_sql()
    )
    row = conn.execute(query, {"actor": MIGRATION_ACTOR}).fetchone()
    if row is None or row[0] is None:
        raise UsageError(
            f"backfill --diff of {service_name}: no earlier backfill recorded a snapshot in "
            f"{event_schema.qualified_event_table}; run `fitgate events backfill --service "
            f"{service_name}` first"
        )
    return str(row[0])


def _write_differences(
    conn: psycopg.Connection[Any],
    config: Config,
    event_schema: EventSchema,
    catalogue: EventTypeCatalogue,
    columns: Mapping[str, Mapping[str, Column]],
    writer: _Writer,
    report: BackfillReport,
) -> None:
    found = reconcile(conn, config, event_schema.aggregates, {catalogue.schema: catalogue}, columns, None)
    changed: dict[str, list[UUID]] = {}
    removed: dict[str, list[UUID]] = {}
    gaps: dict[str, int] = {}
    for discrepancy in found.discrepancies:
        table = discrepancy.aggregate.qualified
        if "orphan" in discrepancy.problems:
            removed.setdefault(table, []).append(discrepancy.aggregate_id)
        elif discrepancy.problems & set(_CHANGES):
            changed.setdefault(table, []).append(discrepancy.aggregate_id)
        if "gap" in discrepancy.problems:
            gaps[table] = gaps.get(table, 0) + 1
    for aggregate in event_schema.aggregates:
        name = f"{aggregate.kind}Removed"
        if removed.get(aggregate.qualified) and name not in config.events.deletions:
            raise FitgateError(
                f"backfill --diff: {len(removed[aggregate.qualified])} aggregate(s) of "
                f"{aggregate.qualified} vanished without a deletion event; declare "
                f"{name} in events.deletions of {config.path} so they can be recorded as removed"
            )
    for aggregate in event_schema.aggregates:
        if changed.get(aggregate.qualified):
            writer.changed(aggregate, changed[aggregate.qualified])
        if removed.get(aggregate.qualified):
            writer.removed(aggregate, removed[aggregate.qualified])
    for table, count in sorted(gaps.items()):
        report.left_alone.append(
            f"{table}: {count} aggregate(s) with versions not contiguous from 1 (history cannot "
            "be made up; event-completeness lists them)"
        )
    for subject, count in sorted(found.not_upcast.items()):
        report.left_alone.append(
            f"{count} aggregate(s) whose latest event is {subject}: not compared, the event cannot be upcast"
        )


class _Writer:
    """Writes one kind of adoption event for one aggregate table, set-based."""

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        config: Config,
        event_schema: EventSchema,
        catalogue: EventTypeCatalogue,
        columns: Mapping[str, Mapping[str, Column]],
        payload: dict[str, Any],
        report: BackfillReport,
    ) -> None:
        self.conn = conn
        self.config = config
        self.event_schema = event_schema
        self.catalogue = catalogue
        self.columns = columns
        self.payload = payload
        self.report = report

    def migrated(self, aggregate: AggregateTable) -> None:
        self._write(aggregate, "Migrated", "backfill_migrated.sql", _SNAPSHOT_PAYLOAD, ())

    def changed(self, aggregate: AggregateTable, ids: Sequence[UUID]) -> None:
        self._write(aggregate, "Changed", "backfill_changed.sql", _DIFF_PAYLOAD, ids)

    def removed(self, aggregate: AggregateTable, ids: Sequence[UUID]) -> None:
        self._write(aggregate, "Removed", "backfill_removed.sql", _DIFF_PAYLOAD, ids)

    def _write(
        self,
        aggregate: AggregateTable,
        suffix: str,
        file: str,
        payload_schema: dict[str, Any],
        ids: Sequence[UUID],
    ) -> None:
        event_name = f"{aggregate.kind}{suffix}"
        current = self.catalogue.current_version(event_name)
        query = sql.SQL(sql_file(SQL, file)).format(
            aggregate_table=sql.Identifier(aggregate.schema, aggregate.table),
            event_table=self.event_schema.event_table_sql(),
            tenant=sql.Identifier(self.config.tenancy.column),
            state=aggregate.state_expression(sql.SQL("w.row_value")),
        )
        params = {
            "kind": aggregate.kind,
            "event_name": event_name,
            "event_version": current or 1,
            "payload": Jsonb(self.payload),
            "event_at": self.report.snapshot_at,
            "ids": list(ids),
        }
        count = self.conn.execute(query, params).rowcount
        if count:
            self.report.written.append(Written(aggregate.qualified, event_name, count))
            if current is None:
                self._register(aggregate, event_name, payload_schema)

    def _register(self, aggregate: AggregateTable, event_name: str, payload_schema: dict[str, Any]) -> None:
        """Register version 1 of an event type fitgate has just written (in the same transaction)."""
        query = sql.SQL(sql_file(SQL, "register_event_type.sql")).format(
            event_types=self.event_schema.event_types_sql()
        )
        schema = state_schema(aggregate, self.columns[aggregate.qualified])
        params = {
            "event_name": event_name,
            "kind": aggregate.kind,
            "payload_schema": Jsonb(payload_schema),
            "state_schema": Jsonb(schema),
        }
        if self.conn.execute(query, params).rowcount:
            self.report.registered.append(f"{event_name} v1")
