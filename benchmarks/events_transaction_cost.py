"""What writing the event costs a state change: transaction time with and without it.

    python benchmarks/events_transaction_cost.py [--users 10000] [--rounds 3000]

Through psycopg, as a service role under row-level security, tenant set per
transaction, optimistic concurrency on the row's version; interleaved so that
every variant sees the same server conditions:
  - alone (the baseline): set the tenant; UPDATE the user RETURNING the row;
  - with its event: the same, the UPDATE also returning the state, then
    INSERT the event (two statements, the way an event writer usually goes);
  - with its event, one statement: UPDATE and INSERT in one data-modifying CTE.
Goal: a state change with its event costs at most 1.5 times the change alone.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.events_database import bench_database, create_event_schema

TENANTS = (
    uuid.UUID("a0000000-0000-4000-8000-000000000001"),
    uuid.UUID("b0000000-0000-4000-8000-000000000002"),
)

TABLE = """
CREATE TABLE bench.users (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    username text NOT NULL,
    display_name text NOT NULL,
    email text NOT NULL,
    status text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version integer NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, username)
);
ALTER TABLE bench.users ENABLE ROW LEVEL SECURITY;
ALTER TABLE bench.users FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON bench.users
    USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid));
"""
USERS = """
INSERT INTO bench.users
SELECT CASE WHEN g %% 2 = 0 THEN %(a)s::uuid ELSE %(b)s::uuid END, gen_random_uuid(), 'user' || g,
       'User ' || g, 'user' || g || '@example.org', 'active', now(), now(), 1
FROM generate_series(1, %(users)s) AS g
"""
CREATED = """
INSERT INTO bench.domain_event
    (tenant_id, kind, aggregate_id, version, event_name, event_version, state, payload, event_at)
SELECT u.tenant_id, 'User', u.id, 1, 'UserCreated', 1, to_jsonb(u) - 'version',
       '{"performed_by": "seed"}', now()
FROM bench.users AS u
"""

SET_TENANT = "SELECT set_config('app.tenant_id', %s, true)"
UPDATE = (
    "UPDATE bench.users AS u SET display_name = %s, updated_at = now(), version = u.version + 1"
    " WHERE u.tenant_id = %s AND u.id = %s AND u.version = %s RETURNING u.*"
)
UPDATE_WITH_STATE = UPDATE + ", to_jsonb(u) - 'version'"
INSERT_EVENT = (
    "INSERT INTO bench.domain_event"
    " (tenant_id, kind, aggregate_id, version, event_name, event_version, state, payload, event_at)"
    " VALUES (%s, 'User', %s, %s, 'UserRenamed', 1, %s, %s, now())"
)
ONE_STATEMENT = (
    "WITH changed AS ("
    " UPDATE bench.users AS u SET display_name = %(name)s, updated_at = now(), version = u.version + 1"
    " WHERE u.tenant_id = %(tenant)s AND u.id = %(id)s AND u.version = %(version)s"
    " RETURNING u.*, to_jsonb(u) - 'version' AS state"
    "), recorded AS ("
    " INSERT INTO bench.domain_event"
    " (tenant_id, kind, aggregate_id, version, event_name, event_version, state, payload, event_at)"
    " SELECT c.tenant_id, 'User', c.id, c.version, 'UserRenamed', 1, c.state, %(payload)s, now()"
    " FROM changed AS c"
    ") SELECT * FROM changed"
)

User = list[Any]  # [tenant, id, version]


def alone(conn: psycopg.Connection[Any], user: User, name: str) -> None:
    with conn.transaction():
        conn.execute(SET_TENANT, (str(user[0]),))
        row = conn.execute(UPDATE, (name, user[0], user[1], user[2])).fetchone()
        assert row is not None
        user[2] = row[-1]


def with_event(conn: psycopg.Connection[Any], user: User, name: str) -> None:
    with conn.transaction():
        conn.execute(SET_TENANT, (str(user[0]),))
        row = conn.execute(UPDATE_WITH_STATE, (name, user[0], user[1], user[2])).fetchone()
        assert row is not None
        version, state = row[-2], row[-1]
        payload = {"performed_by": "benchmark", "display_name": name}
        conn.execute(INSERT_EVENT, (user[0], user[1], version, Jsonb(state), Jsonb(payload)))
        user[2] = version


def with_event_in_one_statement(conn: psycopg.Connection[Any], user: User, name: str) -> None:
    with conn.transaction():
        conn.execute(SET_TENANT, (str(user[0]),))
        params = {
            "name": name,
            "tenant": user[0],
            "id": user[1],
            "version": user[2],
            "payload": Jsonb({"performed_by": "benchmark", "display_name": name}),
        }
        row = conn.execute(ONE_STATEMENT, params).fetchone()
        assert row is not None
        user[2] = row[8]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    variants: dict[str, Callable[[psycopg.Connection[Any], User, str], None]] = {
        "change alone": alone,
        "change + event": with_event,
        "change + event (1 stmt)": with_event_in_one_statement,
    }
    with bench_database() as (url, label):
        role = f"bench_service_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(url, autocommit=True) as admin:
            create_event_schema(admin)
            admin.execute(TABLE)
            admin.execute(USERS, {"a": TENANTS[0], "b": TENANTS[1], "users": args.users})
            admin.execute(CREATED)
            admin.execute("VACUUM ANALYZE")
            admin.execute(f"CREATE ROLE {role} NOLOGIN")
            admin.execute(f"GRANT USAGE ON SCHEMA bench TO {role}")
            admin.execute(f"GRANT SELECT, INSERT, UPDATE ON bench.users, bench.domain_event TO {role}")
            rows = admin.execute("SELECT tenant_id, id, version FROM bench.users ORDER BY id").fetchall()
            commit = admin.execute("SHOW synchronous_commit").fetchone()
        try:
            users = [list(row) for row in rows]
            share = len(users) // len(variants)  # each variant changes its own users
            pools = {name: users[i * share : (i + 1) * share] for i, name in enumerate(variants)}
            timings: dict[str, list[float]] = {name: [] for name in variants}
            with psycopg.connect(url) as conn:
                conn.execute(f"SET ROLE {role}")
                conn.commit()
                for round_number in range(args.rounds + 100):
                    order = list(variants)
                    rng.shuffle(order)
                    for name in order:
                        user = rng.choice(pools[name])
                        started = time.perf_counter()
                        variants[name](conn, user, f"User {round_number}")
                        elapsed = (time.perf_counter() - started) * 1000
                        if round_number >= 100:  # the first rounds warm caches and prepare statements
                            timings[name].append(elapsed)
        finally:
            with psycopg.connect(url, autocommit=True) as admin:
                admin.execute(f"DROP OWNED BY {role}")
                admin.execute(f"DROP ROLE {role}")
    print(f"server: {label}, synchronous_commit={commit[0] if commit else '?'}")
    print(f"{args.rounds} interleaved transactions per variant, {args.users:,} users, service role under RLS")
    baseline = statistics.median(timings["change alone"])
    for name, values in timings.items():
        median = statistics.median(values)
        ordered = sorted(values)
        p95 = ordered[int(len(ordered) * 0.95) - 1]
        print(f"{name:<25} median {median:7.3f} ms   p95 {p95:7.3f} ms   ratio {median / baseline:5.2f}x")
    ratio = statistics.median(timings["change + event"]) / baseline
    one = statistics.median(timings["change + event (1 stmt)"]) / baseline

    def verdict(value: float) -> str:
        return "met" if value <= 1.5 else "NOT met"

    print(
        f"change + event / change alone (goal <= 1.5x): two statements {ratio:.2f}x ({verdict(ratio)}), "
        f"one statement {one:.2f}x ({verdict(one)})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
