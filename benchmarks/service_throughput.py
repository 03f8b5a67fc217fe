"""Service throughput: each service's hottest endpoint against a no-database endpoint of the same app.

Starts the platform as ``fitgate load`` does (embedded PostgreSQL, the installer,
each service with an app as its own process), then drives one endpoint at a
time with the same closed-loop locust load (users with no think time, locust in
its own process): ``GET /healthz`` (no database) and the service's hottest
endpoints (``benchmarks/throughput_locustfile.py``): directory's user by id and
page of users, license's license with its seat count, device's device by id,
and auth's token introspection (of a token from a real login). Runs alternate
between the endpoints for several rounds so the machine's noise falls on all of
them; the median rate and p99 over rounds are reported, and the ratio of each
endpoint's rate to its own app's ``/healthz`` (goal: at least 0.6). For each
endpoint it also prints the CPU time per measured request of the service's
process and of the database (server and backends), and how busy the service's
process was: one event loop serves the app, so when it is near one core for
both endpoints, the ratio is the ratio of the service's own CPU per request.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from fitness.config import DEFAULT_CONFIG, load_config
from fitness.load.measurement import EndpointMeasurement
from fitness.load.plan import LoadPlan
from fitness.load.running import Progress, run_locust
from fitness.load.targets import LoadTarget, fresh_installation, started_services

LOCUSTFILE = Path(__file__).resolve().with_name("throughput_locustfile.py")
BASELINE = "GET /healthz"
SERVICE_VARIABLE = "THROUGHPUT_SERVICE"
ENDPOINT_VARIABLE = "THROUGHPUT_ENDPOINT"
ACCESS_TOKEN_VARIABLE = "THROUGHPUT_ACCESS_TOKEN"
HOTTEST = {
    "directory": ("GET /v1/users/{user_id}", "GET /v1/users"),
    "license": ("GET /v1/licenses/{license_id}",),
    "device": ("GET /v1/devices/{device_id}",),
    "auth": ("POST /v1/token/introspect",),
}
GOAL = 0.6

sys.path.insert(0, str(Path(__file__).resolve().parent))
from process_cpu import cpu_snapshot, per_request_us, postmaster_of  # noqa: E402
from seed_login import log_in  # noqa: E402


@dataclass(frozen=True)
class Run:
    measured: EndpointMeasurement
    cpu_us: dict[str, float]  # CPU per measured request: the service, the database


class CpuDuringMeasurement:
    """CPU snapshots at the start of the measured part of a run and at its last progress line."""

    def __init__(self, service: str, pid: int, postmaster: int) -> None:
        self.processes = {service: pid}
        self.postmaster = postmaster
        self.start: dict[str, float] | None = None
        self.last: tuple[int, dict[str, float]] | None = None

    def __call__(self, progress: Progress) -> None:
        snapshot = cpu_snapshot(self.processes, self.postmaster)
        snapshot.pop("locust")  # counted only once it exits: not per request
        if progress.phase == "warm-up":
            self.start = snapshot  # the warm-up's last line is sent as measuring starts
        elif self.start is not None:
            self.last = (progress.requests, snapshot)

    def per_request(self) -> dict[str, float]:
        if self.start is None or self.last is None:
            return {}
        requests, snapshot = self.last
        return per_request_us(self.start, snapshot, requests)


def run_endpoint(
    config_path: Path, plan: LoadPlan, target: LoadTarget, service: str, endpoint: str, postmaster: int
) -> Run:
    config = load_config(config_path)
    config = replace(config, load=replace(config.load, locustfile=LOCUSTFILE, locustfile_declared=True))
    os.environ[SERVICE_VARIABLE], os.environ[ENDPOINT_VARIABLE] = service, endpoint
    cpu = CpuDuringMeasurement(service, target.processes[service].pid, postmaster)
    measurement = run_locust(
        config, plan, replace(target, urls={service: target.urls[service]}), on_progress=cpu
    )
    measured = measurement.endpoint(endpoint)
    if measured is None or not measured.requests:
        raise SystemExit(f"{service} {endpoint}: no requests were measured")
    if measured.failures:
        raise SystemExit(f"{service} {endpoint}: {measured.failures} failures ({', '.join(measured.errors)})")
    return Run(measured, cpu.per_request())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", default=DEFAULT_CONFIG, type=Path)
    parser.add_argument("--users", type=int, default=20, help="concurrent users, each with no think time")
    parser.add_argument("--duration", type=float, default=20, help="measured seconds per run")
    parser.add_argument(
        "--warmup", type=float, default=3, help="seconds of load before each run, not measured"
    )
    parser.add_argument(
        "--workers", type=int, default=0, help="locust worker processes (0: one load process)"
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--services", default=",".join(HOTTEST), help="comma-separated services to measure (default: all)"
    )
    args = parser.parse_args()
    services = [name.strip() for name in args.services.split(",") if name.strip()]
    unknown = sorted(set(services) - set(HOTTEST))
    if unknown:
        parser.error(f"--services: no hottest endpoint known for {', '.join(unknown)}")
    # The benchmark's login must stay valid for the whole run.
    os.environ["FITGATE_AUTH_ACCESS_TOKEN_SECONDS"] = "3600"
    plan = LoadPlan(
        users=args.users,
        spawn_rate=args.users,
        duration_s=args.duration,
        warmup_s=args.warmup,
        workers=args.workers,
        budget_factor=1,
    )
    config = load_config(args.config)
    with (
        fresh_installation(config) as (url, label),
        started_services(config, url, database_label=label) as target,
    ):
        print(f"{target.label}; {plan.describe()}, {args.rounds} rounds per endpoint, {os.cpu_count()} cores")
        postmaster = postmaster_of(url)
        if "auth" in services and "auth" in target.urls:
            os.environ[ACCESS_TOKEN_VARIABLE] = log_in(target.urls["auth"])
        for service in services:
            hottest = HOTTEST[service]
            if service not in target.urls:
                print(f"{service}: not running ({target.left_out.get(service, 'no app')})")
                continue
            endpoints = [BASELINE, *hottest]
            runs: dict[str, list[Run]] = {endpoint: [] for endpoint in endpoints}
            for round_number in range(args.rounds):
                for endpoint in endpoints if round_number % 2 == 0 else endpoints[::-1]:
                    runs[endpoint].append(
                        run_endpoint(args.config, plan, target, service, endpoint, postmaster)
                    )
            report(service, runs)


def report(service: str, runs: dict[str, list[Run]]) -> None:
    """Median rate, p50 and p99 over rounds, the ratio to /healthz, and CPU per request."""
    baseline_rate = statistics.median(run.measured.requests_per_s for run in runs[BASELINE])
    print(f"\n{service}")
    for endpoint, measured in runs.items():
        rate = statistics.median(run.measured.requests_per_s for run in measured)
        p50 = statistics.median(run.measured.p50_ms for run in measured)
        p99 = statistics.median(run.measured.p99_ms for run in measured)
        rates = ", ".join(f"{run.measured.requests_per_s:.0f}" for run in measured)
        ratio = "" if endpoint == BASELINE else f"  ratio {rate / baseline_rate:.2f} (goal >= {GOAL})"
        print(
            f"  {endpoint:30s} {rate:7.1f} req/s (runs: {rates})  p50 {p50:4.0f} ms  p99 {p99:4.0f} ms{ratio}"
        )
        cpu = [run.cpu_us for run in measured if run.cpu_us]
        if cpu:
            medians = {name: statistics.median(c[name] for c in cpu) for name in cpu[0]}
            spent = "  ".join(f"{name} {value:.0f}" for name, value in medians.items())
            # One event loop serves the app: near 1.0, its own CPU is what bounds the rate.
            busy = rate * medians[service] / 1e6
            print(f"  {'':30s} CPU per request (us): {spent};  {service} process busy {busy:.2f} of a core")


if __name__ == "__main__":
    main()
