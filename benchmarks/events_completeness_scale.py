"""event-completeness over 1,000,000 events, against one full read of those events.

    python benchmarks/events_completeness_scale.py [--aggregates 1000] [--events-per-aggregate 1000]

Builds, in one transaction (so the same-transaction check holds), the events
of the point-in-time benchmark and the aggregate rows their latest events
describe, then times the whole fitness function against the baseline of
reading every event's state and payload once (``sum(pg_column_size(...))``),
the least any reconciliation must do. Prints both and the ratio.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.events_database import bench_config, bench_database, create_event_schema
from benchmarks.events_point_in_time import BASE, GENERATE
from fitness.engine import CheckContext, Status
from fitness.engine.context import DatabaseTarget
from fitness.engine.runner import run_one

CONFIG = """\
version: 1
system: events-benchmark
services:
  bench: {schema: bench, role: bench_service}
events:
  aggregates: {bench.certificates: Certificate}
"""

ROWS = """
CREATE TABLE bench.certificates (
    tenant_id uuid NOT NULL, id uuid NOT NULL, serial text NOT NULL, device_id uuid,
    status text NOT NULL, version integer NOT NULL, PRIMARY KEY (tenant_id, id)
)
"""
LATEST = """
INSERT INTO bench.certificates
SELECT (e.state ->> 'tenant_id')::uuid, e.aggregate_id, e.state ->> 'serial',
       (e.state ->> 'device_id')::uuid, e.state ->> 'status', e.version
FROM bench.domain_event AS e
WHERE e.version = %(versions)s
"""
FULL_READ = "SELECT sum(pg_column_size(state) + pg_column_size(payload)) FROM bench.domain_event"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--aggregates", type=int, default=1000)
    parser.add_argument("--events-per-aggregate", type=int, default=1000)
    args = parser.parse_args()
    config = bench_config(CONFIG)
    sizes = {"aggregates": args.aggregates, "versions": args.events_per_aggregate}
    with bench_database() as (url, label):
        print(f"server: {label}")
        started = time.perf_counter()
        with psycopg.connect(url) as conn:
            create_event_schema(conn)
            conn.execute(
                "INSERT INTO bench.event_types VALUES"
                " ('CertificateIssued', 1, 'Certificate', '{}', '{}', NULL),"
                " ('CertificateBound', 1, 'Certificate', '{}', '{}', NULL)"
            )
            conn.execute(GENERATE.format(base=BASE), sizes)
            conn.execute(ROWS)
            conn.execute(LATEST, sizes)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
            total = args.aggregates * args.events_per_aggregate
            built = time.perf_counter() - started
            print(f"built {total:,} events and {args.aggregates:,} rows in {built:.1f} s")
            started = time.perf_counter()
            conn.execute(FULL_READ).fetchone()
            full_read = time.perf_counter() - started
        started = time.perf_counter()
        result = run_one(CheckContext(config, DatabaseTarget(url, label, False)), "event-completeness")
        check = time.perf_counter() - started
    assert result.status is Status.PASS, (result.reason, result.violations[:3])
    print(f"one full read of the events   {full_read:6.2f} s")
    print(f"event-completeness            {check:6.2f} s   ({check / full_read:.1f}x the full read)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
