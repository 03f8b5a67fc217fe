"""Seat changes under the license row lock: one contended license against one license per worker.

Every assignment and release locks its license row, so changes to one license's
seats run one after another. This measures what that costs: ``--workers``
clients each assign a seat to their own user and release it again, as fast as
they can, first all on one shared license (contended), then each on a license of
its own (the baseline: same service process, same database, same load, no
waiting on each other's lock). Prints changes per second, p50/p99 latency and
how many changes were run again (their transaction began before a competitor's)
for both, and the throughput ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import httpx

from fitness.config import DEFAULT_CONFIG, load_config
from fitness.database import open_server
from fitness.database.databases import create_database
from fitness.installation import run_installer
from fitness.serving import running_services

CLINIC_PLAN = "5e1ec7ed-0000-4000-8000-000000000002"
DATABASE = "fitgate_bench_seats"


async def assign_and_release(
    client: httpx.AsyncClient, headers: dict[str, str], license_id: str, user_id: str, deadline: float
) -> list[float]:
    """Assign and release a seat until ``deadline``; the latency of every change, in seconds."""
    latencies: list[float] = []
    path = f"/v1/licenses/{license_id}/seats"
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        assigned = await client.post(path, json={"user_id": user_id}, headers=headers)
        latencies.append(time.perf_counter() - started)
        assigned.raise_for_status()
        started = time.perf_counter()
        released = await client.delete(f"{path}/{assigned.json()['id']}", headers=headers)
        latencies.append(time.perf_counter() - started)
        released.raise_for_status()
    return latencies


async def measure(
    url: str, headers: dict[str, str], licenses: list[str], users: list[str], seconds: float
) -> list[float]:
    limits = httpx.Limits(max_connections=len(users))
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        deadline = time.perf_counter() + seconds
        runs = await asyncio.gather(
            *(
                assign_and_release(client, headers, licenses[i % len(licenses)], user, deadline)
                for i, user in enumerate(users)
            )
        )
    return [latency for run in runs for latency in run]


def _reruns(log: Path) -> int:
    """Seat changes run again because their transaction began before a competing one's."""
    return log.read_text().count("seat change run again") if log.exists() else 0


def report(label: str, latencies: list[float], seconds: float, reruns: int) -> float:
    rate = len(latencies) / seconds
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(
        f"{label}: {rate:7.1f} changes/s  p50 {statistics.median(ordered) * 1000:6.1f} ms  "
        f"p99 {p99 * 1000:6.1f} ms  ({len(latencies)} changes, {reruns} run again)"
    )
    return rate


def setup(
    directory: str, license: str, admin: str, workers: int
) -> tuple[dict[str, str], list[str], list[str], list[str]]:
    """A tenant with ``workers`` users (ids returned last), a shared license and a license per user."""
    with httpx.Client(timeout=30) as client:
        platform = {"Authorization": f"Bearer {admin}"}
        tenant = client.post(f"{directory}/v1/admin/tenants", json={"name": "bench"}, headers=platform)
        headers = {**platform, "X-Tenant-ID": tenant.json()["id"]}
        users = [
            client.post(
                f"{directory}/v1/users",
                json={"username": f"bench-{i}", "display_name": "B", "email": f"b{i}@x.example"},
                headers=headers,
            ).json()["id"]
            for i in range(workers)
        ]
        until = (datetime.now(UTC) + timedelta(days=30)).isoformat()

        def grant(seats: int) -> str:
            body = {"plan_id": CLINIC_PLAN, "seats": seats, "valid_until": until}
            response = client.post(f"{license}/v1/licenses", json=body, headers=headers)
            response.raise_for_status()
            return str(UUID(response.json()["id"]))

        return headers, [grant(workers)], [grant(1) for _ in range(workers)], users


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=8, help="concurrent clients (at most 50)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each measurement")
    args = parser.parse_args()
    config = load_config(DEFAULT_CONFIG)
    admin = secrets.token_urlsafe(24)
    with open_server() as (server, _provisioned):
        database = create_database(server.url("postgres"), DATABASE)
        run_installer(config, database)
        logs = Path(tempfile.mkdtemp(prefix="bench-seats-logs-"))  # the services' JSON logs, off the terminal
        names = ["directory", "license"]
        with running_services(config, names, database, admin_token=admin, log_dir=logs) as services:
            url = services["license"].url
            headers, shared, own, users = setup(services["directory"].url, url, admin, args.workers)
            asyncio.run(measure(url, headers, own, users, 1.0))  # warm-up: pools, catalogue, key cache
            print(f"workers: {args.workers}, {args.seconds:.0f} s each")
            log = logs / "license.log"
            before = _reruns(log)
            per_worker = asyncio.run(measure(url, headers, own, users, args.seconds))
            baseline = report("a license per worker", per_worker, args.seconds, _reruns(log) - before)
            before = _reruns(log)
            one_license = asyncio.run(measure(url, headers, shared, users, args.seconds))
            contended = report("one shared license  ", one_license, args.seconds, _reruns(log) - before)
            print(f"ratio shared / per worker (throughput): {contended / baseline:.2f}")
        shutil.rmtree(logs, ignore_errors=True)


if __name__ == "__main__":
    main()
