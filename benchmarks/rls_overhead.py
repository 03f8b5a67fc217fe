"""Row-level security overhead: the same tenant-scoped queries on an RLS table and on a plain one.

Two identical tables of users (about 1M rows over 100 tenants, primary key
``(tenant_id, id)``, unique ``(tenant_id, username)``): ``rls_users`` with the
reference platform's policy form (a permissive and a restrictive policy
comparing ``tenant_id`` with ``app.tenant_id``, RLS enabled and FORCEd), and
``plain_users`` without RLS. Both are queried as a role that owns neither.
Queries: a point lookup by id, and a page of 20 users by username after a key,
each in three variants:

- ``plain`` (the baseline): ``WHERE tenant_id = $1`` on the plain table;
- ``rls``: the tenant set with ``set_config('app.tenant_id', $1, true)``, the query with no tenant filter;
- ``rls + where``: the same, with ``WHERE tenant_id = $1`` too (what the reference's queries do).

Two measurements, each over the same random keys, in many short rounds that
interleave the variants; each variant's best round is reported (on a small,
shared machine a round's time is its cost plus whatever else ran meanwhile,
so the least disturbed round is the closest to the cost; each timed pass
follows an untimed one over the same keys, so both tables are measured with
their pages in shared buffers):

1. in the server: a PL/pgSQL loop runs each query once per key, setting the
   tenant before each query for every variant, so the only difference is RLS
   itself; the loop's own cost (the same loop with no query) is subtracted.
   This is the RLS overhead the goal is about (at most 1.05x);
2. from a client, one transaction per query as a service runs it: the RLS
   variants send ``set_config`` first, the baseline needs no tenant setting; a
   fourth variant, ``plain + setting``, sends the setting too, so that the
   cost of RLS (rls against plain + setting) and the cost of the one more
   statement per transaction (plain + setting against plain) are told apart;
3. from a client, each transaction one simple-query message, as the reference
   services send their hot reads (``tenant_read``): ``BEGIN READ ONLY; SELECT
   set_config(...); query; COMMIT`` against the baseline's ``BEGIN READ ONLY;
   query; COMMIT``: what RLS, its setting included, costs a service's read.
"""

from __future__ import annotations

import argparse
import random
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from uuid import UUID

import psycopg
from psycopg import sql

from fitness.database import open_server
from fitness.database.databases import create_database, drop_database

TENANTS = 100
DEFAULT_USERS_PER_TENANT = 10_000
PAGE = 20

CREATE_TABLE = """
CREATE TABLE {table} (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    username text NOT NULL,
    display_name text NOT NULL,
    email text NOT NULL,
    status text NOT NULL DEFAULT 'active',
    version integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, username)
)
"""
FILL_TABLE = """
INSERT INTO {table} (tenant_id, id, username, display_name, email, version)
SELECT t.tenant_id, gen_random_uuid(), 'user-' || lpad(n::text, 6, '0'), 'User ' || n,
       'user-' || n || '@tenant.example', 1
FROM (SELECT gen_random_uuid() AS tenant_id FROM generate_series(1, %(tenants)s)) AS t,
     generate_series(1, %(per_tenant)s) AS n
"""
COPY_ROWS = "INSERT INTO {target} SELECT * FROM {source}"
TENANT_PREDICATE = "tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)"
RLS_POLICIES = (
    "ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
    f"CREATE POLICY tenant_isolation ON {{table}} AS PERMISSIVE FOR ALL TO PUBLIC "
    f"USING ({TENANT_PREDICATE}) WITH CHECK ({TENANT_PREDICATE})",
    f"CREATE POLICY tenant_floor ON {{table}} AS RESTRICTIVE FOR ALL TO PUBLIC "
    f"USING ({TENANT_PREDICATE}) WITH CHECK ({TENANT_PREDICATE})",
)
SET_TENANT = "SELECT set_config('app.tenant_id', %s, true)"
# One simple-query message per transaction, as reference.platform.tenancy.tenant_read sends it.
ONE_MESSAGE = "BEGIN READ ONLY; {query}; COMMIT"
ONE_MESSAGE_WITH_TENANT = (
    "BEGIN READ ONLY; SELECT set_config('app.tenant_id', %(tenant)s, true); {query}; COMMIT"
)
SAMPLE_KEYS = (
    "SELECT tenant_id, id, username FROM plain_users TABLESAMPLE BERNOULLI (1) REPEATABLE (7) LIMIT %s"
)
CREATE_KEYS = "CREATE TABLE bench_keys (n integer PRIMARY KEY, tenant_id uuid, id uuid, username text)"
INSERT_KEY = "INSERT INTO bench_keys VALUES (%s, %s, %s, %s)"
# A loop over the keys in the server: the tenant set before each query, for every variant alike.
SERVER_LOOP = """
CREATE FUNCTION {name}() RETURNS bigint LANGUAGE plpgsql AS $body$
DECLARE
    k record;
    r record;
    fetched bigint := 0;
BEGIN
    FOR k IN SELECT tenant_id, id, username FROM bench_keys ORDER BY n LOOP
        PERFORM set_config('app.tenant_id', k.tenant_id::text, true);
        {fetch}
    END LOOP;
    RETURN fetched;
END
$body$
"""
FETCH_ROWS = "FOR r IN {query} LOOP fetched := fetched + 1; END LOOP;"
CALL_LOOP = "SELECT {name}()"
EMPTY_LOOP = "bench_loop_only"

# Each query once, with placeholders for the tenant, the id and the key to page after.
QUERIES: dict[str, dict[str, str]] = {
    "point lookup by id": {
        "plain": "SELECT * FROM plain_users WHERE tenant_id = {tenant} AND id = {id}",
        "rls": "SELECT * FROM rls_users WHERE id = {id}",
        "rls + where": "SELECT * FROM rls_users WHERE tenant_id = {tenant} AND id = {id}",
    },
    f"page of {PAGE} by username": {
        "plain": "SELECT * FROM plain_users WHERE tenant_id = {tenant} AND username > {after} "
        f"ORDER BY username LIMIT {PAGE}",
        "rls": f"SELECT * FROM rls_users WHERE username > {{after}} ORDER BY username LIMIT {PAGE}",
        "rls + where": "SELECT * FROM rls_users WHERE tenant_id = {tenant} AND username > {after} "
        f"ORDER BY username LIMIT {PAGE}",
    },
}
CLIENT_PLACES = {"tenant": "%(tenant)s", "id": "%(id)s", "after": "%(after)s"}
SERVER_PLACES = {"tenant": "k.tenant_id", "id": "k.id", "after": "k.username"}
Key = tuple[UUID, UUID, str]
Connection = psycopg.Connection[tuple[object, ...]]


@dataclass(frozen=True)
class Variant:
    query_kind: str
    name: str
    template: str

    @property
    def function(self) -> str:
        kind = "point" if self.query_kind.startswith("point") else "page"
        return f"bench_{kind}_{self.name.replace(' + ', '_')}"

    @property
    def point_lookup(self) -> bool:
        return self.query_kind.startswith("point")


def variants(kind: str) -> list[Variant]:
    return [Variant(kind, name, template) for name, template in QUERIES[kind].items()]


@contextmanager
def benchmark_database(per_tenant: int, keys: int) -> Iterator[tuple[str, str]]:
    """A database with both tables, the keys, the loops and a role that owns nothing; removed afterwards."""
    with open_server() as (server, provisioned):
        name = f"bench_rls_{secrets.token_hex(4)}"
        reader = f"bench_rls_reader_{secrets.token_hex(4)}"
        url = create_database(server.url("postgres"), name)
        try:
            with psycopg.connect(url, autocommit=True) as connection:
                build(connection, reader, per_tenant, keys)
            yield url, reader
        finally:
            if not provisioned:
                drop_database(server.url("postgres"), name)
                with psycopg.connect(server.url("postgres"), autocommit=True) as connection:
                    connection.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(reader)))


def build(connection: Connection, reader: str, per_tenant: int, keys: int) -> None:
    started = time.perf_counter()
    rls, plain = sql.Identifier("rls_users"), sql.Identifier("plain_users")
    for table in (rls, plain):
        connection.execute(sql.SQL(CREATE_TABLE).format(table=table))
    connection.execute(
        sql.SQL(FILL_TABLE).format(table=plain), {"tenants": TENANTS, "per_tenant": per_tenant}
    )
    connection.execute(sql.SQL(COPY_ROWS).format(target=rls, source=plain))
    for statement in RLS_POLICIES:
        connection.execute(sql.SQL(statement).format(table=rls))
    connection.execute("VACUUM ANALYZE rls_users")
    connection.execute("VACUUM ANALYZE plain_users")
    connection.execute(CREATE_KEYS)
    sampled = connection.execute(SAMPLE_KEYS, (keys,)).fetchall()
    random.Random(11).shuffle(sampled)
    with connection.cursor() as cursor:
        cursor.executemany(INSERT_KEY, [(n, *row) for n, row in enumerate(sampled)])
    connection.execute("ANALYZE bench_keys")
    loop = sql.SQL(SERVER_LOOP)
    connection.execute(loop.format(name=sql.Identifier(EMPTY_LOOP), fetch=sql.SQL("")))
    for kind in QUERIES:
        for variant in variants(kind):
            fetch = sql.SQL(FETCH_ROWS.format(query=variant.template.format(**SERVER_PLACES)))
            connection.execute(loop.format(name=sql.Identifier(variant.function), fetch=fetch))
    role = sql.Identifier(reader)
    connection.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(role))
    connection.execute(sql.SQL("GRANT SELECT ON rls_users, plain_users, bench_keys TO {}").format(role))
    rows = connection.execute("SELECT count(*) FROM plain_users").fetchone()
    print(
        f"built 2 tables of {rows[0] if rows else 0:,} rows over {TENANTS} tenants and {len(sampled)} keys "
        f"in {time.perf_counter() - started:.0f} s; querying as {reader} (owns nothing)"
    )


def keys_of(connection: Connection) -> list[Key]:
    rows = connection.execute("SELECT tenant_id, id, username FROM bench_keys ORDER BY n").fetchall()
    return [(UUID(str(t)), UUID(str(i)), str(u)) for t, i, u in rows]


def plan_of(connection: Connection, variant: Variant, key: Key) -> str:
    """The scan the variant's query gets (it must use the index leading with tenant_id)."""
    tenant, user_id, username = key
    with connection.transaction():
        connection.execute(SET_TENANT, (str(tenant),))
        lines = connection.execute(
            sql.SQL("EXPLAIN ") + sql.SQL(variant.template.format(**CLIENT_PLACES)),
            {"tenant": tenant, "id": user_id, "after": username},
        ).fetchall()
    scans = [str(line[0]).strip().removeprefix("->").strip() for line in lines if "Scan" in str(line[0])]
    return (scans[0] if scans else str(lines[0][0])).split("  (cost")[0]


def in_server(connection: Connection, function: str, expected_rows: int | None) -> float:
    """Seconds for one loop over every key."""
    started = time.perf_counter()
    with connection.transaction():
        row = connection.execute(sql.SQL(CALL_LOOP).format(name=sql.Identifier(function))).fetchone()
    elapsed = time.perf_counter() - started
    if expected_rows is not None and (row is None or row[0] != expected_rows):
        raise AssertionError(
            f"{function} fetched {row}, not {expected_rows} rows: RLS hides the tenant's own rows"
        )
    return elapsed


def from_client(connection: Connection, variant: Variant, keys: list[Key], sets_tenant: bool) -> float:
    """Seconds for one transaction per key, as a service runs them."""
    query = variant.template.format(**CLIENT_PLACES)
    started = time.perf_counter()
    for tenant, user_id, username in keys:
        with connection.transaction():
            if sets_tenant:
                connection.execute(SET_TENANT, (str(tenant),), prepare=True)
            connection.execute(
                query, {"tenant": tenant, "id": user_id, "after": username}, prepare=True
            ).fetchall()
    return time.perf_counter() - started


def in_one_message(connection: Connection, variant: Variant, keys: list[Key], sets_tenant: bool) -> float:
    """Seconds for one transaction per key, each sent as one message (parameters bound on the client)."""
    message = (ONE_MESSAGE_WITH_TENANT if sets_tenant else ONE_MESSAGE).format(
        query=variant.template.format(**CLIENT_PLACES)
    )
    cursor = psycopg.ClientCursor(connection)
    started = time.perf_counter()
    for tenant, user_id, username in keys:
        cursor.execute(message, {"tenant": str(tenant), "id": user_id, "after": username})
        while cursor.nextset():
            pass
    return time.perf_counter() - started


def interleaved(rounds: int, names: list[str], measure_one: Callable[[str], float]) -> dict[str, float]:
    """The best round of each measurement, alternating the order from round to round.

    Each timed pass follows an untimed pass over the same keys: the two tables
    do not fit in shared buffers together, and the measure is RLS, not which
    table was read last.
    """
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for round_number in range(rounds):
        for name in names if round_number % 2 == 0 else names[::-1]:
            measure_one(name)
            seconds[name].append(measure_one(name))
    return {name: min(values) for name, values in seconds.items()}


def report(kind: str, url: str, reader: str, rounds: int, client_queries: int) -> None:
    with psycopg.connect(url) as connection:
        connection.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(reader)))
        connection.commit()
        keys = keys_of(connection)
        connection.commit()
        chosen = {variant.name: variant for variant in variants(kind)}
        print(f"\n{kind}")
        for variant in chosen.values():
            print(f"  {variant.name:12s} plan: {plan_of(connection, variant, keys[0])}")

        expected = len(keys) if kind.startswith("point") else None
        functions = {name: variant.function for name, variant in chosen.items()}
        functions["loop only"] = EMPTY_LOOP
        server = interleaved(
            rounds,
            list(functions),
            lambda name: in_server(connection, functions[name], expected if name != "loop only" else None),
        )
        loop = server.pop("loop only")
        net = {name: (seconds - loop) / len(keys) for name, seconds in server.items()}
        print(
            f"  in the server, {len(keys)} queries per round, best of {rounds} rounds (net of the loop, "
            f"{loop / len(keys) * 1e6:.1f} us per key):"
        )
        for name, per_query in net.items():
            ratio = f"ratio to plain: {per_query / net['plain']:.3f}" + (
                "" if name == "plain" else " (goal <= 1.05)"
            )
            print(f"    {name:15s} {per_query * 1e6:8.1f} us/query  {1 / per_query:9.0f} queries/s  {ratio}")

        sample = keys[:client_queries]
        # "plain + setting" sends the tenant setting it does not need: the RLS variants' statements.
        shapes = {
            "plain": (chosen["plain"], False),
            "plain + setting": (chosen["plain"], True),
            "rls": (chosen["rls"], True),
            "rls + where": (chosen["rls + where"], True),
        }
        client = interleaved(
            rounds,
            list(shapes),
            lambda name: from_client(connection, shapes[name][0], sample, shapes[name][1]),
        )
        print(
            f"  from a client, one transaction per query, {len(sample)} per round, best of {rounds} rounds:"
        )
        for name, seconds in client.items():
            per_query = seconds / len(sample)
            ratios = f"ratio to plain: {seconds / client['plain']:.3f}"
            if name.startswith("rls"):
                ratios += f", to plain + setting: {seconds / client['plain + setting']:.3f} (goal <= 1.05)"
            print(f"    {name:15s} {per_query * 1e6:8.1f} us/query  {1 / per_query:9.0f} queries/s  {ratios}")

        connection.autocommit = True  # the messages carry their own BEGIN and COMMIT
        messages = {"plain": (chosen["plain"], False), "rls + where": (chosen["rls + where"], True)}
        one = interleaved(
            rounds,
            list(messages),
            lambda name: in_one_message(connection, messages[name][0], sample, messages[name][1]),
        )
        connection.autocommit = False
        print(f"  from a client, one message per transaction (hot reads), {len(sample)} per round:")
        for name, seconds in one.items():
            per_query = seconds / len(sample)
            ratio = f"ratio to plain: {seconds / one['plain']:.3f}"
            ratio += "" if name == "plain" else " (goal <= 1.05)"
            print(f"    {name:15s} {per_query * 1e6:8.1f} us/query  {1 / per_query:9.0f} queries/s  {ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users-per-tenant", type=int, default=DEFAULT_USERS_PER_TENANT)
    parser.add_argument("--keys", type=int, default=2000, help="queries per round in the server")
    parser.add_argument("--client-queries", type=int, default=500, help="queries per round from the client")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with benchmark_database(args.users_per_tenant, args.keys) as (url, reader):
        for kind in QUERIES:
            report(kind, url, reader, args.rounds, args.client_queries)


if __name__ == "__main__":
    main()
