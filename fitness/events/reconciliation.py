"""Reconciling aggregate rows with their events, set-based.

One statement covers every aggregate table (a UNION ALL of one block per
table, named by the config), whatever the number of rows. It judges in SQL
what SQL can judge alone: missing events, version gaps, the state, the row's
version and tenant, the writing transaction, events of vanished aggregates.
Two kinds of state come back to be judged here instead: those stored in an
older event version (upcast first, through the schema's SQL upcasters) and
those that differ only in keys of time-zoned columns, read here as instants
(a writer's session in another ``TimeZone`` spells the same instant
differently).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from fitness.config import Config
from fitness.events.catalog import Column
from fitness.events.contract import AggregateTable, event_schemas
from fitness.events.event_types import EventTypeCatalogue, parse_json
from fitness.events.upcasting import Shape, UpcastError, needs_upcast, upcast
from fitness.sql_files import sql_file

SQL = "fitness.events.sql"

# Problems in the order violations report them; "stale" is judged after the query.
PROBLEMS = (
    "no_events",
    "gap",
    "stale",
    "version_mismatch",
    "tenant_mismatch",
    "foreign_tx",
    "orphan",
    "alive_after_deletion",
)
_ZONED_TYPES = ("timestamp with time zone", "time with time zone")


@dataclass
class Discrepancy:
    """One aggregate whose row and events disagree, with what the query saw."""

    aggregate: AggregateTable
    aggregate_id: UUID
    problems: set[str]
    facts: dict[str, Any]
    differing_keys: tuple[str, ...] = ()


@dataclass
class Reconciliation:
    discrepancies: list[Discrepancy] = field(default_factory=list)  # ordered by table, then id
    totals: dict[tuple[str, str], int] = field(default_factory=dict)  # (table, problem) -> count
    unprovable: dict[str, int] = field(default_factory=dict)  # table -> aggregates
    not_upcast: dict[str, int] = field(default_factory=dict)  # event type subject -> aggregates


def reconcile(
    conn: psycopg.Connection[Any],
    config: Config,
    aggregates: Sequence[AggregateTable],
    catalogues: Mapping[str, EventTypeCatalogue],
    columns: Mapping[str, Mapping[str, Column]],
    listed: int | None,
) -> Reconciliation:
    """Reconcile ``aggregates`` (tables the catalog check found sound).

    ``listed`` caps the aggregates returned per table (lowest ids first; the
    totals stay exact); None returns all of them. ``columns`` maps each
    table to its columns, to know which state keys hold zoned times.
    """
    result = Reconciliation()
    if not aggregates:
        return result
    by_table = {a.qualified: a for a in aggregates}
    zoned = {a.qualified: _zoned_keys(a, columns.get(a.qualified, {})) for a in aggregates}
    rows = _query(conn, config, aggregates, zoned, listed)
    doubtful: list[dict[str, Any]] = []
    candidates: list[Discrepancy] = []
    for row in rows:
        table = row["table_name"]
        if table not in result.unprovable:  # every row carries its table's totals
            for problem in PROBLEMS:
                result.totals[(table, problem)] = row[f"total_{problem}"]
            result.unprovable[table] = row["total_unprovable"]
        discrepancy = Discrepancy(
            by_table[table], row["aggregate_id"], {p for p in PROBLEMS if row[p]}, _facts(row)
        )
        if row["stale"]:
            discrepancy.differing_keys = differing_keys(
                parse_json(row["row_state"]), parse_json(row["event_state"]), zoned[table]
            )
        candidates.append(discrepancy)
        if row["state_in_doubt"]:
            doubtful.append(row)
    stale = _judge_states(conn, doubtful, by_table, catalogues, zoned, result)
    for discrepancy in candidates:
        table = discrepancy.aggregate.qualified
        keys = stale.get((table, discrepancy.aggregate_id))
        if keys is not None:
            discrepancy.problems.add("stale")
            discrepancy.differing_keys = keys
            result.totals[(table, "stale")] = result.totals.get((table, "stale"), 0) + 1
    kept: dict[str, int] = defaultdict(int)
    for discrepancy in candidates:  # already ordered by table, then id
        if not discrepancy.problems:
            continue
        table = discrepancy.aggregate.qualified
        if listed is not None and kept[table] >= listed:
            continue
        kept[table] += 1
        result.discrepancies.append(discrepancy)
    return result


def _zoned_keys(aggregate: AggregateTable, columns: Mapping[str, Column]) -> set[str]:
    """State keys of columns whose JSON spelling depends on the session's TimeZone."""
    return {
        key
        for column in columns.values()
        if column.type in _ZONED_TYPES and (key := aggregate.state_key(column.name)) is not None
    }


def _query(
    conn: psycopg.Connection[Any],
    config: Config,
    aggregates: Sequence[AggregateTable],
    zoned: Mapping[str, set[str]],
    listed: int | None,
) -> list[dict[str, Any]]:
    template = sql.SQL(sql_file(SQL, "reconcile_table.sql"))
    schemas = {s.schema: s for s in event_schemas(config, aggregates)}
    blocks = [
        template.format(
            table_name=sql.Literal(a.qualified),
            aggregate_table=sql.Identifier(a.schema, a.table),
            event_table=schemas[a.schema].event_table_sql(),
            event_types=schemas[a.schema].event_types_sql(),
            kind=sql.Literal(a.kind),
            tenant=sql.Identifier(config.tenancy.column),
            state=a.state_expression(sql.Identifier("t")),
            zoned=sql.Literal(sorted(zoned[a.qualified])),
        )
        for a in aggregates
    ]
    query = sql.SQL(sql_file(SQL, "reconcile.sql")).format(tables=sql.SQL("\nUNION ALL\n").join(blocks))
    params = {"deletions": list(config.events.deletions), "listed": listed}
    with conn.cursor(row_factory=dict_row) as cursor:
        return cursor.execute(query, params).fetchall()


def _facts(row: Mapping[str, Any]) -> dict[str, Any]:
    names = (
        "events",
        "first_version",
        "last_version",
        "distinct_versions",
        "row_version",
        "row_tenant",
        "event_tenant",
        "event_name",
        "event_version",
        "row_xmin",
        "tx",
    )
    return {name: row[name] for name in names}


def _judge_states(
    conn: psycopg.Connection[Any],
    rows: Sequence[Mapping[str, Any]],
    by_table: Mapping[str, AggregateTable],
    catalogues: Mapping[str, EventTypeCatalogue],
    zoned: Mapping[str, set[str]],
    result: Reconciliation,
) -> dict[tuple[str, UUID], tuple[str, ...]]:
    """The differing state keys of every doubtful aggregate whose latest state really differs."""
    groups: dict[tuple[str, str, int], list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        schema = by_table[row["table_name"]].schema
        groups[(schema, row["event_name"], row["event_version"])].append(row)
    stale: dict[tuple[str, UUID], tuple[str, ...]] = {}
    for (schema, name, version), members in sorted(groups.items()):
        stored = [r["event_state"] for r in members]
        catalogue = catalogues.get(schema)
        if catalogue is not None and needs_upcast(catalogue, name, version):
            shapes = [Shape(name, version, r["event_payload"], r["event_state"]) for r in members]
            try:
                stored = [s.state for s in upcast(conn, catalogue, shapes)]
            except UpcastError as error:
                result.not_upcast[error.subject] = result.not_upcast.get(error.subject, 0) + len(members)
                continue
        for row, state in zip(members, stored, strict=True):
            table = row["table_name"]
            keys = differing_keys(parse_json(row["row_state"]), parse_json(state), zoned[table])
            if keys:
                stale[(table, row["aggregate_id"])] = keys
    return stale


def differing_keys(expected: Any, actual: Any, zoned: set[str]) -> tuple[str, ...]:
    """Top-level state keys whose values differ; ``("(whole state)",)`` for non-objects."""
    if not isinstance(expected, dict) or not isinstance(actual, dict):
        return () if expected == actual else ("(whole state)",)
    keys = sorted(set(expected) | set(actual))
    return tuple(
        key
        for key in keys
        if key not in expected
        or key not in actual
        or not _same_value(expected[key], actual[key], key in zoned)
    )


def _same_value(expected: Any, actual: Any, zoned: bool) -> bool:
    if expected == actual:
        return True
    if zoned and isinstance(expected, str) and isinstance(actual, str):
        try:
            return _instant(expected) == _instant(actual)
        except ValueError:
            return False
    return False


def _instant(text: str) -> datetime.datetime | datetime.time:
    try:
        return datetime.datetime.fromisoformat(text)
    except ValueError:
        return datetime.time.fromisoformat(text)
