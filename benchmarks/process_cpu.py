"""CPU time spent by the processes of a benchmark run (Linux ``/proc``): where each request's cost goes.

On a small machine the service, the database and the load generator share the
cores, so a throughput ratio is bounded by their CPU per request; these
figures say which of them an endpoint makes expensive.
"""

from __future__ import annotations

import contextlib
import os
import resource
from collections.abc import Mapping
from pathlib import Path

import psycopg


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of one process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_of(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def postmaster_of(database_url: str) -> int:
    """The pid of the local PostgreSQL server behind ``database_url`` (its backend's parent)."""
    with psycopg.connect(database_url) as connection:
        row = connection.execute("SELECT pg_backend_pid()").fetchone()
        assert row is not None
        # Read while connected: the backend process ends with its connection.
        return int(Path(f"/proc/{row[0]}/stat").read_text().rsplit(")", 1)[1].split()[1])


def cpu_snapshot(services: Mapping[str, int], postmaster: int) -> dict[str, float]:
    """CPU seconds so far: each named service process, the database (server and backends),
    and this process's waited-for children (the load generator)."""
    snapshot = {name: cpu_seconds(pid) for name, pid in services.items()}
    database = 0.0
    for pid in [postmaster, *children_of(postmaster)]:
        with contextlib.suppress(OSError):
            database += cpu_seconds(pid)
    snapshot["database"] = database
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    snapshot["locust"] = children.ru_utime + children.ru_stime
    return snapshot


def per_request_us(
    before: Mapping[str, float], after: Mapping[str, float], requests: int
) -> dict[str, float]:
    """Microseconds of CPU per request, per process group, between two snapshots."""
    return {name: (after[name] - before[name]) / max(1, requests) * 1e6 for name in after}
