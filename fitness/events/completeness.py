"""event-completeness: every state change has its event, with the state after it,
written in the same transaction, of a registered type that can be read today.

All of it runs in one REPEATABLE READ, READ ONLY transaction, so the rows
and the events are compared as of one snapshot even while the system is
written to. It needs a role that bypasses row-level security (a superuser or
BYPASSRLS), and sets ``row_security = off`` so that a policy that would
still apply fails loudly instead of hiding rows from the reconciliation.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg

from fitness.config import Config
from fitness.engine.context import CheckContext
from fitness.engine.fitness_function import Findings, FitnessFunction, Kind, SkipFitness
from fitness.events.access import require_rls_bypass
from fitness.events.catalog import read_catalog, tables_to_read
from fitness.events.catalog_check import check_catalog
from fitness.events.contract import event_schemas
from fitness.events.event_types import read_event_types
from fitness.events.reconciliation import PROBLEMS, Discrepancy, Reconciliation, reconcile
from fitness.events.registry_check import check_registry

LISTED_PER_TABLE = 100  # aggregates listed per table; the rest are counted

_MORE: dict[str, str] = {
    "no_events": "have a row but no events",
    "gap": "have versions that are not contiguous from 1",
    "stale": "have a latest event whose state differs from the row",
    "version_mismatch": "have a row version different from their latest event's",
    "tenant_mismatch": "have a latest event of another tenant than the row",
    "foreign_tx": "were last written by a transaction that wrote no event for them",
    "orphan": "have events but no row, and no deletion event",
    "alive_after_deletion": "have a row although their latest event ends the aggregate",
}


class EventCompleteness(FitnessFunction):
    id = "event-completeness"
    kinds = (Kind.CATALOG, Kind.PROBE)
    summary = (
        "every state change has its event with the state after it, in the same transaction; "
        "event types are registered, match their JSON Schemas and upcast to the current version"
    )
    needs_database = True

    def run(self, context: CheckContext) -> Findings:
        config = context.config
        schemas = event_schemas(config)
        if not schemas:
            raise SkipFitness("no aggregates are declared in events.aggregates: nothing to reconcile")
        findings = Findings()
        with context.connect(autocommit=False) as conn:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
            with conn.transaction():
                require_rls_bypass(conn, self.id)
                # the check sorts every event a couple of times: spare it spilling to disk
                conn.execute("SET LOCAL work_mem = '64MB'")
                catalog = read_catalog(conn, tables_to_read(schemas))
                ready = check_catalog(conn, config, catalog, schemas, findings)
                catalogues = read_event_types(conn, ready.event_schemas)
                check_registry(
                    conn,
                    config,
                    ready.event_schemas,
                    catalogues,
                    findings,
                    every_schema_read=len(ready.event_schemas) == len(schemas),
                )
                columns = {a.qualified: catalog.tables[(a.schema, a.table)].columns for a in ready.aggregates}
                reconciliation = reconcile(
                    conn, config, ready.aggregates, catalogues, columns, LISTED_PER_TABLE
                )
        _report(config, reconciliation, findings)
        skipped = [a.qualified for s in schemas for a in s.aggregates if a not in ready.aggregates]
        if skipped:
            findings.note(
                f"not reconciled until the catalog violations above are fixed: {', '.join(skipped)}"
            )
        findings.note(
            f"{len(ready.aggregates)} aggregate table(s) reconciled in {len(ready.event_schemas)} "
            f"schema(s) as of one snapshot"
        )
        return findings


def _report(config: Config, reconciliation: Reconciliation, findings: Findings) -> None:
    listed: dict[tuple[str, str], int] = {}
    for discrepancy in reconciliation.discrepancies:
        for problem in PROBLEMS:
            if problem in discrepancy.problems:
                message, hint = _DESCRIBE[problem](config, discrepancy)
                findings.add(discrepancy.aggregate.subject(discrepancy.aggregate_id), message, hint=hint)
                key = (discrepancy.aggregate.qualified, problem)
                listed[key] = listed.get(key, 0) + 1
    for (table, problem), total in sorted(reconciliation.totals.items()):
        more = total - listed.get((table, problem), 0)
        if more > 0:
            findings.add(
                table,
                f"{more} more aggregate(s) {_MORE[problem]} (the first {LISTED_PER_TABLE} "
                "aggregates with problems are listed by id).",
                hint="fix the listed ones first: they usually share one cause",
            )
    for table, count in sorted(reconciliation.unprovable.items()):
        if count:
            findings.note(
                f"{table}: {count} aggregate(s) could not be proven written in their event's "
                "transaction (frozen before 9.4, or the latest event is 2^32 or more "
                "transactions old); their 32-bit xmin matched or could not be compared"
            )
    for subject, count in sorted(reconciliation.not_upcast.items()):
        findings.note(
            f"{count} aggregate(s) whose latest event is {subject} were not compared with their "
            "rows: the event cannot be upcast (see the violation on that type)"
        )


def _service_of(config: Config, schema: str) -> str:
    service = config.service_by_schema(schema)
    return service.name if service else schema


def _no_events(config: Config, d: Discrepancy) -> tuple[str, str]:
    a = d.aggregate
    return (
        "the row has no events: it was written without its event, or before events were adopted.",
        f"write the event in the transaction that writes the row; record legacy rows with "
        f"`fitgate events backfill --service {_service_of(config, a.schema)}`",
    )


def _gap(config: Config, d: Discrepancy) -> tuple[str, str]:
    f, a = d.facts, d.aggregate
    return (
        f"its events' versions are not contiguous from 1 ({f['events']} event(s), versions "
        f"{f['first_version']} to {f['last_version']}): a version was skipped or written twice.",
        f"SELECT version, event_name, event_at FROM {a.schema}.{config.events.table} "
        f"WHERE kind = '{a.kind}' AND aggregate_id = '{d.aggregate_id}' ORDER BY version",
    )


def _stale(config: Config, d: Discrepancy) -> tuple[str, str]:
    f = d.facts
    return (
        f"the state of its latest event ({f['event_name']} v{f['event_version']}, version "
        f"{f['last_version']}) differs from the row in: {', '.join(d.differing_keys)}.",
        "the event must carry the state after the change: build it from the row the change "
        "returned (UPDATE ... RETURNING *), in the same transaction",
    )


def _version_mismatch(config: Config, d: Discrepancy) -> tuple[str, str]:
    f = d.facts
    return (
        f"the row's version is {f['row_version']} but its latest event's is {f['last_version']}.",
        "set the row's version to the new event's version in the statement that changes the row",
    )


def _tenant_mismatch(config: Config, d: Discrepancy) -> tuple[str, str]:
    f = d.facts
    column = config.tenancy.column
    return (
        f"its latest event belongs to {column} {f['event_tenant']}, the row to {f['row_tenant']}.",
        f"write every event with the {column} of its aggregate's row",
    )


def _foreign_tx(config: Config, d: Discrepancy) -> tuple[str, str]:
    f, a = d.facts, d.aggregate
    return (
        f"the row was last written by transaction {f['row_xmin']}, which wrote no event for it "
        f"(its latest event, version {f['last_version']}, came from transaction {f['tx']}).",
        f"change the row and insert its event into {a.schema}.{config.events.table} in one "
        "transaction, with tx_id = pg_current_xact_id()",
    )


def _orphan(config: Config, d: Discrepancy) -> tuple[str, str]:
    f = d.facts
    return (
        f"{f['events']} event(s) refer to this aggregate but its row is missing, and its latest "
        f"event ({f['event_name']}, version {f['last_version']}) does not end an aggregate.",
        "if the row was deleted on purpose, record a deletion event in the same transaction and "
        "declare its name in events.deletions; otherwise restore the row",
    )


def _alive_after_deletion(config: Config, d: Discrepancy) -> tuple[str, str]:
    f = d.facts
    return (
        f"the row exists although its latest event, {f['event_name']} (version "
        f"{f['last_version']}), ends the aggregate.",
        f"re-creating an aggregate needs an event after the deletion; if {f['event_name']} does "
        "not end aggregates, remove it from events.deletions",
    )


_DESCRIBE: dict[str, Callable[[Config, Discrepancy], tuple[str, str]]] = {
    "no_events": _no_events,
    "gap": _gap,
    "stale": _stale,
    "version_mismatch": _version_mismatch,
    "tenant_mismatch": _tenant_mismatch,
    "foreign_tx": _foreign_tx,
    "orphan": _orphan,
    "alive_after_deletion": _alive_after_deletion,
}
