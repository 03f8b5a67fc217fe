"""Service throughput: each service's hottest endpoint against a no-database endpoint of the same app.

Starts the platform as ``fitgate load`` does (embedded PostgreSQL, the installer,
each service with an app as its own process), then drives one endpoint at a
time with the same closed-loop locust load (users with no think time, locust in
its own process): ``GET /healthz`` (no database) and the service's hottest
endpoints (``benchmarks/throughput_locustfile.py``). Runs alternate between the
endpoints for several rounds so the machine's noise falls on all of them; the
median rate and p99 over rounds are reported, and the ratio of each endpoint's
rate to ``/healthz`` (goal: at least 0.6).
"""

from __future__ import annotations

import argparse
import os
import statistics
from dataclasses import replace
from pathlib import Path

from fitness.config import DEFAULT_CONFIG, load_config
from fitness.load.measurement import EndpointMeasurement
from fitness.load.plan import LoadPlan
from fitness.load.running import run_locust
from fitness.load.targets import LoadTarget, fresh_installation, started_services

LOCUSTFILE = Path(__file__).resolve().with_name("throughput_locustfile.py")
BASELINE = "GET /healthz"
SERVICE_VARIABLE = "THROUGHPUT_SERVICE"
ENDPOINT_VARIABLE = "THROUGHPUT_ENDPOINT"
HOTTEST = {"directory": ("GET /v1/users/{user_id}", "GET /v1/users")}


def run_endpoint(
    config_path: Path, plan: LoadPlan, target: LoadTarget, service: str, endpoint: str
) -> EndpointMeasurement:
    config = load_config(config_path)
    config = replace(config, load=replace(config.load, locustfile=LOCUSTFILE, locustfile_declared=True))
    os.environ[SERVICE_VARIABLE], os.environ[ENDPOINT_VARIABLE] = service, endpoint
    measurement = run_locust(config, plan, replace(target, urls={service: target.urls[service]}))
    measured = measurement.endpoint(endpoint)
    if measured is None or not measured.requests:
        raise SystemExit(f"{service} {endpoint}: no requests were measured")
    if measured.failures:
        raise SystemExit(f"{service} {endpoint}: {measured.failures} failures ({', '.join(measured.errors)})")
    return measured


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
    args = parser.parse_args()
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
        print(f"{target.label}; {plan.describe()}, {args.rounds} rounds per endpoint")
        for service, hottest in HOTTEST.items():
            if service not in target.urls:
                print(f"{service}: not running ({target.left_out.get(service, 'no app')})")
                continue
            endpoints = [BASELINE, *hottest]
            runs: dict[str, list[EndpointMeasurement]] = {endpoint: [] for endpoint in endpoints}
            for round_number in range(args.rounds):
                for endpoint in endpoints if round_number % 2 == 0 else endpoints[::-1]:
                    runs[endpoint].append(run_endpoint(args.config, plan, target, service, endpoint))
            baseline_rate = statistics.median(m.requests_per_s for m in runs[BASELINE])
            print(f"\n{service}")
            for endpoint, measured in runs.items():
                rate = statistics.median(m.requests_per_s for m in measured)
                p50 = statistics.median(m.p50_ms for m in measured)
                p99 = statistics.median(m.p99_ms for m in measured)
                ratio = (
                    ""
                    if endpoint == BASELINE
                    else f"  ratio to {BASELINE}: {rate / baseline_rate:.2f} (goal >= 0.6)"
                )
                print(f"  {endpoint:28s} {rate:8.1f} req/s  p50 {p50:5.0f} ms  p99 {p99:5.0f} ms{ratio}")


if __name__ == "__main__":
    main()
