"""What writing the event costs a state change, measured on the reference kernel's write path.

    python benchmarks/events_transaction_cost.py [--users 2000] [--rounds 2000]

On a fresh installation of the reference platform (the embedded server, or the one
``FITGATE_DATABASE_URL`` names), as ``directory_service`` through the kernel's own
pool (``create_pool``) and ``tenant_transaction`` (the tenant set per transaction,
row-level security on), every variant on the same single pooled connection,
interleaved in random order so that each sees the same server conditions. Each
renames a user (``username``, ``version + 1``, ``updated_at``) in its transaction:

  - change alone (the baseline): ``UPDATE directory.users ... RETURNING to_jsonb(row)``,
    what a service without events would send;
  - change, then event: the same UPDATE, then ``INSERT INTO directory.domain_event``;
  - kernel statement: the one statement ``AggregateTable.update`` sends (the UPDATE and
    the event's INSERT in one data-modifying CTE), sent directly;
  - kernel update: ``AggregateTable.update`` itself (the event type from the cached
    catalogue, the payload checked against its JSON Schema, the statement, the state
    checked before COMMIT).

Goal: a change with its event, the way the kernel writes it, costs at most 1.5 times
the change alone.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg.types.json import Jsonb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.events_database import bench_database
from fitness.config import load_config
from fitness.database import with_user
from fitness.installation import run_installer
from reference.directory.model import Directory
from reference.platform.aggregates import UPDATE as KERNEL_UPDATE
from reference.platform.event_store import Actor
from reference.platform.pool import Pool, create_pool
from reference.platform.seeding import TENANT_A, TENANT_B
from reference.platform.settings import Settings
from reference.platform.tenancy import TenantTransaction, tenant_transaction

GOAL = 1.5
WARMUP_ROUNDS = 100
ACTOR = Actor("benchmark", "bench-request")
ALONE = (
    "UPDATE directory.users AS u SET username = %s, version = u.version + 1, updated_at = now()"
    " WHERE u.tenant_id = %s AND u.id = %s AND u.version = %s RETURNING to_jsonb(u.*)"
)
INSERT_EVENT = (
    "INSERT INTO directory.domain_event (tenant_id, kind, aggregate_id, version, event_name, event_version,"
    " state, payload, event_at, tx_id)"
    " VALUES (%s, 'User', %s, %s, 'UsernameUpdated', 1, %s, %s, now(), pg_current_xact_id())"
)


@dataclass
class User:
    tenant: UUID
    id: UUID
    username: str
    version: int


Variant = Callable[[TenantTransaction, User, str], Awaitable[None]]


def variants(directory: Directory) -> dict[str, Variant]:
    users = directory.users
    kernel_statement = sql.SQL(KERNEL_UPDATE).format(
        table=users.identifier,
        assignments=sql.SQL("username = %(v_username)s, version = version + 1, updated_at = now()"),
        events=users.store.events,
    )

    def payload(user: User, name: str) -> dict[str, Any]:
        return users.store.payload(ACTOR, {"old_username": user.username, "new_username": name})

    async def alone(tx: TenantTransaction, user: User, name: str) -> None:
        cursor = await tx.connection.execute(ALONE, (name, tx.tenant_id, user.id, user.version))
        row = await cursor.fetchone()
        assert row is not None
        user.username, user.version = name, int(row[0]["version"])

    async def then_event(tx: TenantTransaction, user: User, name: str) -> None:
        cursor = await tx.connection.execute(ALONE, (name, tx.tenant_id, user.id, user.version))
        row = await cursor.fetchone()
        assert row is not None
        state = row[0]
        await tx.connection.execute(
            INSERT_EVENT, (tx.tenant_id, user.id, state["version"], Jsonb(state), Jsonb(payload(user, name)))
        )
        user.username, user.version = name, int(state["version"])

    async def statement(tx: TenantTransaction, user: User, name: str) -> None:
        parameters = {
            "v_username": name,
            "tenant_id": tx.tenant_id,
            "id": user.id,
            "expected_version": user.version,
            "kind": "User",
            "event_name": "UsernameUpdated",
            "event_version": 1,
            "payload": Jsonb(payload(user, name)),
        }
        cursor = await tx.connection.execute(kernel_statement, parameters)
        row = await cursor.fetchone()
        assert row is not None
        user.username, user.version = name, int(row[4])

    async def kernel(tx: TenantTransaction, user: User, name: str) -> None:
        change = await users.update(
            tx,
            user.id,
            {"username": name},
            expected_version=user.version,
            event_name="UsernameUpdated",
            actor=ACTOR,
            details={"old_username": user.username, "new_username": name},
        )
        user.username, user.version = name, change.version

    return {
        "change alone": alone,
        "change, then event": then_event,
        "kernel statement": statement,
        "kernel update": kernel,
    }


async def create_users(pool: Pool, directory: Directory, count: int) -> list[User]:
    made = []
    for n in range(count):
        tenant = (TENANT_A, TENANT_B)[n % 2]
        name = f"bench-{n:06d}"
        async with tenant_transaction(pool, tenant.id) as tx:
            change = await directory.create_user(
                tx, username=name, display_name=name, email=f"{name}@x.example", actor=ACTOR
            )
        made.append(User(tenant.id, UUID(change.state["id"]), name, change.version))
    return made


async def measure(url: str, users_wanted: int, rounds: int, seed: int) -> dict[str, list[float]]:
    settings = Settings(
        service="directory",
        role="directory_service",
        database_url=with_user(url, "directory_service"),
        pool_min_size=1,
        pool_max_size=1,
    )
    pool = create_pool(settings)
    await pool.open(wait=True)
    try:
        directory = Directory()
        chosen = variants(directory)
        users = await create_users(pool, directory, users_wanted)
        share = len(users) // len(chosen)  # each variant renames its own users
        pools = {name: users[i * share : (i + 1) * share] for i, name in enumerate(chosen)}
        timings: dict[str, list[float]] = {name: [] for name in chosen}
        rng = random.Random(seed)
        for round_number in range(rounds + WARMUP_ROUNDS):
            order = list(chosen)
            rng.shuffle(order)
            for name in order:
                user = rng.choice(pools[name])
                new_name = f"{name[:6].replace(' ', '-')}-{round_number}-{user.id.hex[:8]}"
                started = time.perf_counter()
                async with tenant_transaction(pool, user.tenant) as tx:
                    await chosen[name](tx, user, new_name)
                elapsed = (time.perf_counter() - started) * 1000
                if round_number >= WARMUP_ROUNDS:  # caches warm, statements prepared
                    timings[name].append(elapsed)
        return timings
    finally:
        await pool.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    config = load_config(Path(__file__).resolve().parent.parent / "quality-attributes.yaml")
    with bench_database() as (url, label):
        run_installer(config, url)
        timings = asyncio.run(measure(url, args.users, args.rounds, args.seed))
    print(f"server: {label}; the reference platform, installed")
    print("directory_service under row-level security, one pooled connection")
    print(f"{args.rounds} interleaved transactions per variant, {args.users:,} users renamed in turn")
    baseline = statistics.median(timings["change alone"])
    for name, values in timings.items():
        ordered = sorted(values)
        median = statistics.median(values)
        p95 = ordered[int(len(ordered) * 0.95) - 1]
        print(f"{name:<20} median {median:7.3f} ms   p95 {p95:7.3f} ms   ratio {median / baseline:5.2f}x")
    kernel = statistics.median(timings["kernel update"]) / baseline
    verdict = "met" if kernel <= GOAL else "NOT met"
    print(f"kernel update / change alone (goal <= {GOAL}x): {kernel:.2f}x, {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
