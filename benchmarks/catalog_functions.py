"""How long the catalog fitness functions take on a large platform, and what the engine adds.

Builds a synthetic platform in a throwaway database (20 services x 250 tenant
tables = 5,000 tables, each with row-level security, a tenant policy, an index
leading with tenant_id, grants to its service, and published tables granted to
three reader services), then for each catalog fitness function registered
(rls-coverage, write-ownership, read-contract):

- runs it through the engine (``run_one``), median of several runs;
- replays the very statements it issued, directly with psycopg (recorded
  during the first run), median of as many runs: the database's share;
- and, as a reference, times the straightforward query these checks replace:
  has_table_privilege and has_any_column_privilege over every service role x
  table x privilege.

Goal: all catalog functions together under 3 s. Run on demand:

    python benchmarks/catalog_functions.py [--services 20] [--tables 250] [--runs 5]

The server is the one fitgate would use (FITGATE_DATABASE_URL, else embedded).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import yaml
from psycopg import sql

from fitness import registry
from fitness.config import load_config
from fitness.database import open_server
from fitness.database.databases import create_database, drop_database, drop_roles_with_prefix
from fitness.engine.context import CheckContext, DatabaseTarget
from fitness.engine.fitness_function import Status
from fitness.engine.runner import run_one

CATALOG_FUNCTIONS = ("rls-coverage", "write-ownership", "read-contract")
GOAL_SECONDS = 3.0
READERS_PER_SERVICE = 3
PUBLISHED_PER_SERVICE = 10

# One DO block per service (values bound as literals: a DO block takes no
# parameters); owner and login roles exist already, created first since
# readers are granted across services.
BUILD_SERVICE = """
DO $build$
DECLARE
    owner text := {owner};
    service text := {service};
    nsp text := {schema};
    readers text[] := {readers};
    tables int := {tables};
    published int := {published};
    predicate text := '(tenant_id = (SELECT NULLIF(current_setting(''app.tenant_id'', true), '''')::uuid))';
    t int;
    rel text;
BEGIN
    EXECUTE format('CREATE SCHEMA %I AUTHORIZATION %I', nsp, owner);
    EXECUTE format('SET LOCAL ROLE %I', owner);
    FOR t IN 1 .. tables LOOP
        rel := format('%I.%I', nsp, 't' || t);
        EXECUTE format('CREATE TABLE %s (tenant_id uuid NOT NULL, id uuid NOT NULL,'
                       ' name text, created_at timestamptz NOT NULL DEFAULT now(),'
                       ' PRIMARY KEY (tenant_id, id))', rel);
        EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', rel);
        EXECUTE format('CREATE POLICY tenant_isolation ON %s USING %s WITH CHECK %s',
                       rel, predicate, predicate);
    END LOOP;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', nsp, service);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO %I',
                   nsp, service);
    FOR t IN 1 .. cardinality(readers) LOOP
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', nsp, readers[t]);
    END LOOP;
    FOR t IN 1 .. published LOOP
        EXECUTE format('GRANT SELECT ON %I.%I TO %s', nsp, 't' || t,
                       (SELECT string_agg(quote_ident(r), ', ') FROM unnest(readers) r));
    END LOOP;
END
$build$
"""

NAIVE_PRIVILEGES = """
SELECT r.rolname, c.oid, p.privilege
FROM pg_roles r
CROSS JOIN pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES',
                        'TRIGGER']) AS p(privilege)
WHERE r.rolname = ANY (%(roles)s::text[])
  AND n.nspname = ANY (%(schemas)s::text[])
  AND c.relkind IN ('r', 'p')
  AND (has_table_privilege(r.oid, c.oid, p.privilege)
       OR (p.privilege IN ('SELECT', 'INSERT', 'UPDATE', 'REFERENCES')
           AND has_any_column_privilege(r.oid, c.oid, p.privilege)))
"""


@dataclass
class Recorded:
    """The statements one connection issued, to replay them outside the engine."""

    autocommit: bool
    statements: list[tuple[Any, Any]] = field(default_factory=list)


def recording_cursor(recorded: Recorded) -> type[psycopg.Cursor[Any]]:
    """A cursor class that appends every statement it runs to ``recorded``."""

    class RecordingCursor(psycopg.Cursor[Any]):
        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> RecordingCursor:  # type: ignore[override]
            recorded.statements.append((query, params))
            super().execute(query, params, **kwargs)
            return self

    return RecordingCursor


@dataclass(frozen=True)
class RecordingContext(CheckContext):
    """A context whose connections record every statement (only while ``recording`` is set)."""

    recordings: list[Recorded] = field(default_factory=list)
    recording: list[bool] = field(default_factory=lambda: [False])

    def connect(self, *, autocommit: bool = True) -> psycopg.Connection[tuple[object, ...]]:
        assert self.database is not None
        if not self.recording[0]:
            return psycopg.connect(self.database.url, autocommit=autocommit)
        recorded = Recorded(autocommit)
        self.recordings.append(recorded)
        return psycopg.connect(
            self.database.url, autocommit=autocommit, cursor_factory=recording_cursor(recorded)
        )


def replay(url: str, recordings: list[Recorded]) -> None:
    """Issue the recorded statements again, fetching every row, then roll back."""
    for recorded in recordings:
        with psycopg.connect(url, autocommit=recorded.autocommit) as conn:
            for query, params in recorded.statements:
                cur = conn.execute(query, params)
                if cur.description is not None:
                    cur.fetchall()
            if not recorded.autocommit:
                conn.rollback()


def slowest_statements(url: str, recordings: list[Recorded], top: int = 3) -> list[tuple[float, str]]:
    """The ``top`` statements that took longest in one replay, each named by its first line."""
    timed = []
    for recorded in recordings:
        with psycopg.connect(url, autocommit=recorded.autocommit) as conn:
            for query, params in recorded.statements:
                started = time.perf_counter()
                cur = conn.execute(query, params)
                if cur.description is not None:
                    cur.fetchall()
                text = query.as_string(conn) if isinstance(query, sql.Composable) else str(query)
                timed.append((time.perf_counter() - started, text.strip().splitlines()[0][:70]))
            if not recorded.autocommit:
                conn.rollback()
    return sorted(timed, reverse=True)[:top]


def median_seconds(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def build_platform(url: str, prefix: str, services: int, tables: int) -> dict[str, Any]:
    """Create roles, schemas and tables; returns the contract describing them."""
    names = [f"s{n:02d}" for n in range(1, services + 1)]
    contract: dict[str, Any] = {"version": 1, "system": "catalog-benchmark", "services": {}}
    with psycopg.connect(url, autocommit=True) as conn:
        for name in names:
            conn.execute(
                sql.SQL("CREATE ROLE {} NOLOGIN; CREATE ROLE {} LOGIN").format(
                    sql.Identifier(f"{prefix}_{name}_owner"),
                    sql.Identifier(f"{prefix}_{name}_service"),
                )
            )
        for index, name in enumerate(names):
            readers = [names[(index + k) % services] for k in range(1, READERS_PER_SERVICE + 1)]
            published = min(PUBLISHED_PER_SERVICE, tables)
            with conn.transaction():
                conn.execute(
                    sql.SQL(BUILD_SERVICE).format(
                        owner=sql.Literal(f"{prefix}_{name}_owner"),
                        service=sql.Literal(f"{prefix}_{name}_service"),
                        schema=sql.Literal(name),
                        readers=sql.Literal([f"{prefix}_{r}_service" for r in readers]),
                        tables=sql.Literal(tables),
                        published=sql.Literal(published),
                    )
                )
            contract["services"][name] = {
                "schema": name,
                "role": f"{prefix}_{name}_service",
                "publishes": [f"t{t}" for t in range(1, published + 1)],
            }
        for index, name in enumerate(names):
            owners = [names[(index - k) % services] for k in range(1, READERS_PER_SERVICE + 1)]
            contract["services"][name]["reads"] = {
                owner: contract["services"][owner]["publishes"] for owner in owners
            }
    return contract


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--tables", type=int, default=250, help="tenant tables per service")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    if args.services <= READERS_PER_SERVICE:
        parser.error(
            f"--services: at least {READERS_PER_SERVICE + 1} (each reads {READERS_PER_SERVICE} others)"
        )
    ids = [i for i in CATALOG_FUNCTIONS if i in registry.FITNESS_IDS]
    prefix = f"bench_{uuid.uuid4().hex[:8]}"
    database = f"fitgate_bench_{uuid.uuid4().hex[:8]}"
    with open_server() as (server, _), tempfile.TemporaryDirectory() as folder:
        admin = server.url("postgres")
        url = create_database(admin, database)
        try:
            print(f"server: {server.label}")
            started = time.perf_counter()
            contract = build_platform(url, prefix, args.services, args.tables)
            print(
                f"built {args.services} services x {args.tables} tenant tables "
                f"= {args.services * args.tables} tables in {time.perf_counter() - started:.1f} s"
            )
            config_path = Path(folder) / "quality-attributes.yaml"
            config_path.write_text(yaml.safe_dump(contract), encoding="utf-8")
            config = load_config(config_path)
            context = RecordingContext(config, DatabaseTarget(url, server.label, False))
            rows = []
            breakdown: dict[str, list[tuple[float, str]]] = {}
            for fitness_id in ids:
                context.recordings.clear()
                context.recording[0] = True
                first = run_one(context, fitness_id)
                context.recording[0] = False
                if first.status not in (Status.PASS, Status.FAIL):
                    print(f"{fitness_id}: {first.status} ({first.reason})", file=sys.stderr)
                    return 2
                recordings = list(context.recordings)
                engine = median_seconds(lambda f=fitness_id: run_one(context, f), args.runs)
                direct = median_seconds(lambda r=recordings: replay(url, r), args.runs)
                statements = sum(len(r.statements) for r in recordings)
                rows.append((fitness_id, engine, direct, statements, len(first.violations)))
                breakdown[fitness_id] = slowest_statements(url, recordings)
            naive = median_seconds(lambda: _naive(url, contract), max(1, args.runs // 2))
        finally:
            drop_database(admin, database)
            drop_roles_with_prefix(admin, prefix)
    _print_table(rows, naive, args.runs)
    print()
    print("slowest statements (one replay):")
    for fitness_id, slowest in breakdown.items():
        for seconds, label in slowest:
            print(f"  {fitness_id:<24} {seconds:>7.3f} s  {label}")
    total = sum(r[1] for r in rows)
    return 0 if total < GOAL_SECONDS else 1


def _naive(url: str, contract: dict[str, Any]) -> None:
    services = contract["services"].values()
    with psycopg.connect(url) as conn:
        conn.execute(
            NAIVE_PRIVILEGES,
            {"roles": [s["role"] for s in services], "schemas": [s["schema"] for s in services]},
        ).fetchall()


def _print_table(rows: list[tuple[str, float, float, int, int]], naive: float, runs: int) -> None:
    print()
    print(f"median of {runs} runs           engine (s)   direct SQL (s)   engine/direct   statements")
    for fitness_id, engine, direct, statements, violations in rows:
        print(
            f"{fitness_id:<28} {engine:>10.3f}   {direct:>14.3f}   {engine / direct:>13.2f}"
            f"   {statements:>10}   ({violations} violations)"
        )
    total_engine = sum(r[1] for r in rows)
    total_direct = sum(r[2] for r in rows)
    print(
        f"{'all catalog functions':<28} {total_engine:>10.3f}   {total_direct:>14.3f}   "
        f"{total_engine / total_direct:>13.2f}"
    )
    print()
    print(f"goal: under {GOAL_SECONDS:.1f} s -> {'met' if total_engine < GOAL_SECONDS else 'NOT met'}")
    print(
        f"reference: has_table_privilege / has_any_column_privilege over every service role x "
        f"table x privilege: {naive:.3f} s ({naive / total_direct:.1f}x the direct SQL above)"
    )


if __name__ == "__main__":
    sys.exit(main())
