"""Every benchmark still runs to its report, at sizes small enough for the test suite.

Benchmarks are run on demand, so nothing else notices when one drifts from the
code it measures (a contract that changed, a fixture shape the checks now
refuse). This runs each one as a user would, as its own process on the embedded
server, and asserts it completes and prints its comparison line. Timings are
not asserted: at these sizes they mean nothing, and these machines are noisy.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]

# (script and its small-size arguments, a line of the report that proves it ran through)
RUNS = [
    ("catalog_functions.py --services 4 --tables 5 --runs 1", "all catalog functions"),
    ("code_scan.py --repeat 1", "fitgate all code checks"),
    ("device_issuance.py --requests 3", "GET /v1/ca/crl"),
    ("embedded_start.py --runs 1", "ratio fitgate / wheel"),
    ("events_completeness_scale.py --aggregates 20 --events-per-aggregate 5", "the full read"),
    (
        "events_point_in_time.py --aggregates 20 --events-per-aggregate 5 --lookups 20 --replays 10",
        "replay / lookup",
    ),
    ("events_transaction_cost.py --users 40 --rounds 10", "kernel update / change alone"),
    ("introspection_throughput.py --seconds 3 --rounds 1 --users 2", "ratio introspection / no-database"),
    (
        "rls_overhead.py --users-per-tenant 5 --keys 20 --client-queries 10 --rounds 1",
        "one message per transaction",
    ),
    ("request_cost.py --calls 5 --rounds 1", "floor/endpoint"),
    ("seat_contention.py --seconds 1 --workers 2", "ratio shared / per worker"),
    (
        "service_throughput.py --services directory --users 2 --duration 1 --warmup 0 --rounds 1",
        "ratio",
    ),
]


def test_every_benchmark_is_covered() -> None:
    scripts = {command.split()[0] for command, _ in RUNS}
    runnable = {
        path.name
        for path in (REPOSITORY / "benchmarks").glob("*.py")
        if 'if __name__ == "__main__"' in path.read_text()
    }
    assert scripts == runnable


@pytest.mark.slow
@pytest.mark.parametrize(("command", "proof"), RUNS, ids=[command.split()[0] for command, _ in RUNS])
def test_the_benchmark_runs_to_its_report(command: str, proof: str) -> None:
    script, *arguments = command.split()
    ran = subprocess.run(
        [sys.executable, str(REPOSITORY / "benchmarks" / script), *arguments],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert proof in ran.stdout, ran.stdout[-2000:]
