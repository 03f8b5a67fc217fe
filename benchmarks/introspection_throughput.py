"""Token introspection throughput: ``POST /v1/token/introspect`` against ``GET /healthz`` of the same app.

Installs the reference platform into an embedded PostgreSQL, starts auth as its
own uvicorn process (as ``fitgate serve`` does), logs in as a seed user, then
drives each endpoint in turn with locust (headless, a separate process, users
that send their next request as soon as the last is answered). ``/healthz``
touches neither the database nor a key: the app's floor. Introspection verifies
the token's EdDSA signature (cached public key), then checks its session and
its user in one indexed query. Rounds alternate the two endpoints so that
machine noise falls on both; the medians are compared.

Goal: introspection at no less than 60 % of the no-database rate.
"""

from __future__ import annotations

import argparse
import csv
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx

from fitness.config import load_config
from fitness.database.databases import create_database
from fitness.database.embedded import embedded_server
from fitness.installation import run_installer
from fitness.serving import running_services

sys.path.insert(0, str(Path(__file__).resolve().parent))
import process_cpu
from seed_login import log_in

REPOSITORY = Path(__file__).resolve().parents[1]
LOCUSTFILE = REPOSITORY / "benchmarks" / "locustfiles" / "introspection.py"
TARGETS = ("healthz", "introspect")
GOAL = 0.60


@dataclass(frozen=True)
class Measurement:
    requests: int
    failures: int
    rate: float
    p50_ms: float
    p99_ms: float
    cpu_us: dict[str, float]  # CPU time per request: auth, database, locust


def cpu_snapshot(auth_pid: int, postmaster: int) -> dict[str, float]:
    """CPU seconds so far of auth, the database and locust (this process's finished children)."""
    return process_cpu.cpu_snapshot({"auth": auth_pid}, postmaster)


def assert_active(base_url: str, token: str, caller: str) -> None:
    """The benchmark measures real answers: the token must introspect as active."""
    answer = httpx.post(
        f"{base_url}/v1/token/introspect",
        data={"token": token},
        headers={"Authorization": f"Bearer {caller}"},
        timeout=30,
    )
    answer.raise_for_status()
    if answer.json().get("active") is not True:
        raise SystemExit(f"the benchmark token is not active: {answer.text}")


def run_locust(
    base_url: str,
    target: str,
    token: str,
    caller: str,
    users: int,
    seconds: int,
    folder: Path,
    pids: tuple[int, int],
) -> Measurement:
    prefix = folder / f"{target}-{secrets.token_hex(3)}"
    environment = {
        **os.environ,
        "FITGATE_BENCH_TARGET": target,
        "FITGATE_BENCH_TOKEN": token,
        "FITGATE_BENCH_CALLER": caller,
    }
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
        "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--host", base_url,
        "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "2",
    ]  # fmt: skip
    assert_active(base_url, token, caller)
    before = cpu_snapshot(*pids)
    ran = subprocess.run(
        command, env=environment, check=False, capture_output=True, text=True, timeout=seconds + 60
    )
    after = cpu_snapshot(*pids)
    assert_active(base_url, token, caller)
    with open(f"{prefix}_stats.csv", newline="") as stats:
        row = next(r for r in csv.DictReader(stats) if r["Name"] == "Aggregated")
    if int(row["Request Count"]) == 0:
        raise SystemExit(
            f"{target}: locust measured no requests (exit {ran.returncode}): {ran.stderr[-500:]}"
        )
    requests = max(1, int(row["Request Count"]))
    return Measurement(
        requests=int(row["Request Count"]),
        failures=int(row["Failure Count"]),
        rate=float(row["Requests/s"]),
        p50_ms=float(row["50%"]),
        p99_ms=float(row["99%"]),
        cpu_us=process_cpu.per_request_us(before, after, requests),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=16, help="concurrent locust users (default 16)")
    parser.add_argument("--seconds", type=int, default=15, help="length of each measured run (default 15)")
    parser.add_argument("--rounds", type=int, default=3, help="runs per endpoint, alternating (default 3)")
    args = parser.parse_args()
    if args.seconds < 3:  # shorter runs came back from locust with no requests counted
        parser.error("--seconds: at least 3")
    config = load_config(REPOSITORY / "quality-attributes.yaml")
    admin_token = secrets.token_urlsafe(24)
    results: dict[str, list[Measurement]] = {target: [] for target in TARGETS}
    with embedded_server() as server, tempfile.TemporaryDirectory(prefix="bench-introspection-") as work:
        folder = Path(work)
        url = create_database(server.url("postgres"), "introspection_benchmark")
        run_installer(config, url)
        with running_services(
            config,
            ["auth"],
            url,
            admin_token=admin_token,
            log_dir=folder,
            environment={"FITGATE_AUTH_ACCESS_TOKEN_SECONDS": "3600"},
        ) as running:
            base_url = running["auth"].url
            pids = (running["auth"].pid, server.process.pid)
            token = log_in(base_url)
            for _ in range(args.rounds):
                for target in TARGETS:
                    measured = run_locust(
                        base_url, target, token, admin_token, args.users, args.seconds, folder, pids
                    )
                    results[target].append(measured)
    report(results, args)


def report(results: dict[str, list[Measurement]], args: argparse.Namespace) -> None:
    print(
        f"auth on embedded PostgreSQL, {os.cpu_count()} cores; locust: {args.users} users, "
        f"{args.rounds} x {args.seconds} s per endpoint, alternating"
    )
    medians: dict[str, tuple[float, float]] = {}
    for target, label in (
        ("healthz", "GET /healthz (no database)"),
        ("introspect", "POST /v1/token/introspect"),
    ):
        runs = results[target]
        rate = statistics.median(m.rate for m in runs)
        p99 = statistics.median(m.p99_ms for m in runs)
        failures = sum(m.failures for m in runs)
        medians[target] = (rate, p99)
        rates = ", ".join(f"{m.rate:.0f}" for m in runs)
        p50 = statistics.median(m.p50_ms for m in runs)
        cpu = "  ".join(
            f"{name} {statistics.median(m.cpu_us[name] for m in runs):.0f}" for name in runs[0].cpu_us
        )
        print(
            f"{label:30} {rate:8.0f} req/s (runs: {rates})  p50 {p50:.0f} ms  p99 {p99:.0f} ms"
            f"  failures {failures} of {sum(m.requests for m in runs)}"
        )
        print(f"{'':30} CPU per request (us): {cpu}")
    ratio = medians["introspect"][0] / medians["healthz"][0]
    verdict = "meets" if ratio >= GOAL else "misses"
    print(f"ratio introspection / no-database: {ratio:.2f} ({verdict} the {GOAL:.0%} goal)")


if __name__ == "__main__":
    main()
