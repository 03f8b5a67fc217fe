"""Point-in-time lookup over 1,000,000 events against replaying the events in Python.

    python benchmarks/events_point_in_time.py [--aggregates 1000] [--events-per-aggregate 1000]

Builds the events set-based (generate_series) in a throwaway database, then,
for random (aggregate, moment) pairs:
  - lookup: ``EventHistory.state_at`` (the library behind ``fitgate events
    state-at``): the latest event at or before the moment, one descent of the
    (kind, aggregate_id, event_at) index, its ``state`` as is;
  - replay (the baseline, measured in the same run on the same pairs): fetch
    the aggregate's events up to the moment (same index) and fold their
    payloads into a state in Python, as an event-sourced reader would.
Goals: median lookup under 2 ms; lookup at least 100 times faster than replay.
"""

from __future__ import annotations

import argparse
import datetime
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.events_database import CONFIG, bench_config, bench_database, create_event_schema
from fitness.events.history import EventHistory

BASE = "2025-01-01 00:00:00+00"

GENERATE = """
INSERT INTO bench.domain_event
    (id, tenant_id, kind, aggregate_id, version, event_name, event_version, state, payload,
     event_at, tx_id)
SELECT gen_random_uuid(), g.tenant, 'Certificate', g.aggregate, g.v,
       CASE WHEN g.v = 1 THEN 'CertificateIssued' ELSE 'CertificateBound' END, 1,
       jsonb_build_object('id', g.aggregate, 'tenant_id', g.tenant, 'serial', 'S' || g.a,
                          'device_id', g.device, 'status', 'active', 'version', g.v),
       CASE WHEN g.v = 1
            THEN jsonb_build_object('performed_by', 'bench', 'id', g.aggregate,
                                    'tenant_id', g.tenant, 'serial', 'S' || g.a,
                                    'device_id', g.device, 'status', 'active')
            ELSE jsonb_build_object('performed_by', 'bench', 'device_id', g.device)
       END,
       timestamptz '{base}' + g.a * interval '1 second' + g.v * interval '1 hour',
       pg_current_xact_id()
FROM (
    SELECT a, v,
           ('c0000000-0000-4000-8000-' || lpad(a::text, 12, '0'))::uuid AS aggregate,
           ('a0000000-0000-4000-8000-' || lpad((a %% 2)::text, 12, '0'))::uuid AS tenant,
           ('d0000000-0000-4000-8000-' || lpad(((a * 7 + v) %% 5000)::text, 12, '0'))::uuid AS device
    FROM generate_series(1, %(aggregates)s) AS a, generate_series(1, %(versions)s) AS v
) AS g
"""

REPLAY = (
    "SELECT version, payload FROM bench.domain_event"
    " WHERE kind = %s AND aggregate_id = %s AND event_at <= %s ORDER BY version"
)


def aggregate_id(number: int) -> UUID:
    return UUID(f"c0000000-0000-4000-8000-{number:012d}")


def build(url: str, aggregates: int, versions: int) -> float:
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        create_event_schema(conn, point_in_time_index=False)
        conn.execute(
            "INSERT INTO bench.event_types VALUES"
            " ('CertificateIssued', 1, 'Certificate', '{}', '{}', NULL),"
            " ('CertificateBound', 1, 'Certificate', '{}', '{}', NULL)"
        )
        conn.execute(GENERATE.format(base=BASE), {"aggregates": aggregates, "versions": versions})
        conn.execute(
            "CREATE INDEX domain_event_point_in_time ON bench.domain_event (kind, aggregate_id, event_at)"
        )
        conn.execute("VACUUM ANALYZE bench.domain_event")
    return time.perf_counter() - started


def replay(conn: psycopg.Connection[Any], aggregate: UUID, at: Any) -> dict[str, Any]:
    state: dict[str, Any] = {}
    for version, payload in conn.execute(REPLAY, ("Certificate", aggregate, at)).fetchall():
        change = dict(payload)
        change.pop("performed_by", None)
        state.update(change, version=version)
    return state


def timed(samples: list[tuple[UUID, Any]], call: Callable[[UUID, Any], Any]) -> list[float]:
    durations = []
    for aggregate, at in samples:
        started = time.perf_counter()
        call(aggregate, at)
        durations.append((time.perf_counter() - started) * 1000)
    return durations


def describe(name: str, durations: list[float]) -> str:
    ordered = sorted(durations)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"{name:<22} median {statistics.median(ordered):8.3f} ms   p95 {p95:8.3f} ms   n={len(ordered)}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--aggregates", type=int, default=1000)
    parser.add_argument("--events-per-aggregate", type=int, default=1000)
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--replays", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    total = args.aggregates * args.events_per_aggregate
    rng = random.Random(args.seed)
    config = bench_config(CONFIG)
    with bench_database() as (url, label):
        print(f"server: {label}")
        seconds = build(url, args.aggregates, args.events_per_aggregate)
        print(
            f"built {total:,} events ({args.aggregates:,} aggregates x {args.events_per_aggregate:,}) "
            f"set-based in {seconds:.1f} s"
        )
        with psycopg.connect(url, autocommit=True) as conn:
            base = conn.execute(f"SELECT timestamptz '{BASE}'").fetchone()[0]  # type: ignore[index]
            span = args.events_per_aggregate + 1

            def sample() -> tuple[UUID, Any]:
                number = rng.randint(1, args.aggregates)
                hours = rng.uniform(1, span)
                return aggregate_id(number), base + datetime.timedelta(seconds=number, hours=hours)

            lookups = [sample() for _ in range(args.lookups)]
            replays = lookups[: args.replays]
            history = EventHistory(conn, config)
            for aggregate, at in replays[:5]:  # the two readers agree (and warm the caches)
                found = history.state_at("Certificate", aggregate, at)
                assert found.event is not None
                assert replay(conn, aggregate, at) == found.event.state, aggregate
            statement = history.query("Certificate", "state_at.sql")

            def sql_only(aggregate: UUID, at: Any) -> Any:
                params = {"kind": "Certificate", "aggregate_id": aggregate, "at": at}
                return conn.execute(statement, params, prepare=True).fetchone()

            lookup_ms = timed(lookups, lambda a, t: history.state_at("Certificate", a, t))
            sql_ms = timed(lookups, sql_only)
            replay_ms = timed(replays, lambda a, t: replay(conn, a, t))
            replayed = statistics.mean(
                len(conn.execute(REPLAY, ("Certificate", a, t)).fetchall()) for a, t in replays
            )
    lookup_median = statistics.median(lookup_ms)
    replay_median = statistics.median(replay_ms)
    print(describe("lookup (state_at)", lookup_ms))
    print(describe("lookup (SQL only)", sql_ms))
    print(describe("replay in Python", replay_ms) + f"   ({replayed:.0f} events folded on average)")
    print(f"lookup median {lookup_median:.3f} ms (goal < 2 ms): {'met' if lookup_median < 2 else 'NOT met'}")
    # Ratios on the same (aggregate, moment) pairs: the replayed ones.
    ratio = replay_median / statistics.median(lookup_ms[: args.replays])
    sql_ratio = replay_median / statistics.median(sql_ms[: args.replays])
    print(
        f"replay / lookup on the same {args.replays} pairs: {ratio:.0f}x with state_at, "
        f"{sql_ratio:.0f}x with the SQL alone (goal >= 100x): {'met' if ratio >= 100 else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
