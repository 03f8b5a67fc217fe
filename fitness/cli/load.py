"""``fitgate load``: run the load scenarios and hold every endpoint to its latency budget.

With no ``--host``: a fresh database on the embedded server (or the one
``FITGATE_DB`` / ``FITGATE_DATABASE_URL`` names), the config's installer, every
service with an app as its own process, the load, and everything stopped and
removed afterwards (also on Ctrl-C, SIGTERM or error). With ``--host URL`` (every
service) or ``--host NAME=URL`` (repeatable), the load goes to a deployed
platform; services without a ``--host`` use their ``url`` from the config.

Progress goes to stderr, the report to stdout; ``--output DIR`` also receives
every report format, locust's HTML report, CSV files and log, the measurement
as JSON, and (local runs) each service's log, written only once the run is complete.

``--guard`` (local runs only) starts every service under the runtime guard
(``FITGATE_GUARD=record``) and, after the load, judges ``no-cross-service-calls``
and ``tenant-scope`` with what the guard recorded (``guard.jsonl`` in the output
folder): the load's traffic doubles as the proof that services neither call
each other nor leave a tenant on a pooled connection.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fitness.config import DEFAULT_CONFIG, Config, LoadProfile, load_config
from fitness.engine import CheckContext, Result
from fitness.engine.check_run import CheckRun
from fitness.engine.runner import judge_findings, run_one
from fitness.errors import UsageError
from fitness.load.budgets import Judgement, judge
from fitness.load.latency_budgets import LatencyBudgets
from fitness.load.measurement import Measurement
from fitness.load.plan import LoadPlan, plan_load
from fitness.load.running import Progress, run_locust
from fitness.load.table import render as render_table
from fitness.load.targets import LoadTarget, deployed_target, fresh_installation, started_services
from fitness.report import FORMATS
from fitness.report.text import result_details
from fitness.runtime import GUARD_ENV, GUARD_LOG_ENV, GuardMode
from fitness.stop_signals import StopRequested, stop_on_signals

REPORT_FORMATS = ("text", "json", "junit", "markdown")
REPORT_FILES = {
    "text": "latency-budgets.txt",
    "json": "latency-budgets.json",
    "junit": "latency-budgets.junit.xml",
    "markdown": "latency-budgets.md",
}
MEASUREMENT_FILE = "load-measurement.json"
SERVICE_LOGS = "services"
GUARD_LOG = "guard.jsonl"
# Judged with the guard's log after a guarded load (their static halves run too).
GUARDED_FITNESS = ("no-cross-service-calls", "tenant-scope")
_NAMED_HOST = re.compile(r"^(?P<name>[A-Za-z][A-Za-z0-9_-]*)=(?P<url>.+)$")


def register(commands: Any) -> None:
    parser = commands.add_parser("load", help="run the load scenarios and hold endpoints to their budgets")
    parser.add_argument("--config", default=DEFAULT_CONFIG, type=Path, help="contract file")
    parser.add_argument(
        "--host",
        action="append",
        metavar="[NAME=]URL",
        help="load a deployed platform: URL for every service, or NAME=URL for one (repeatable)",
    )
    parser.add_argument("--users", type=_number(int, 1), help="simulated users (default 10)")
    parser.add_argument("--spawn-rate", type=_number(float, 0, strict=True), help="users started per second")
    parser.add_argument(
        "--duration", type=_number(float, 0, strict=True), help="seconds of load (default 60)"
    )
    parser.add_argument(
        "--warmup", type=_number(float, 0), help="seconds of load before --duration, not measured (default 0)"
    )
    parser.add_argument("--workers", type=_number(int, 0), help="local locust worker processes (default 0)")
    parser.add_argument("--profile", help="a profile under load.profiles in the config")
    parser.add_argument(
        "--guard",
        action="store_true",
        help="run the services under the runtime guard and judge no-cross-service-calls and "
        "tenant-scope with what it recorded (not with --host)",
    )
    parser.add_argument("--format", choices=REPORT_FORMATS, default="text")
    parser.add_argument("--output", type=Path, metavar="DIR", help="write reports and locust's files here")
    parser.set_defaults(handler=run)


def _number(
    kind: Callable[[str], int | float], minimum: float, *, strict: bool = False
) -> Callable[[str], Any]:
    """An argparse type: a number of ``kind`` at least (or, ``strict``, more than) ``minimum``."""
    expected = "an integer" if kind is int else "a number"
    bound = f"more than {minimum:g}" if strict else f"at least {minimum:g}"

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {expected}") from None
        if value < minimum or (strict and value == minimum):
            raise argparse.ArgumentTypeError(f"{text} must be {bound}")
        return value

    return parse


def run(args: argparse.Namespace) -> int:
    with stop_on_signals():
        try:
            return _load(args)
        except StopRequested:
            _say("fitgate load: stopped; services and database stopped and removed")
            return 130


def _load(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    hosts = parse_hosts(config, args.host or [])
    if args.guard and hosts:
        raise UsageError(
            "--guard: fitgate guards only the services it starts; for deployed ones, run them with "
            f"{GUARD_ENV}=1 and {GUARD_LOG_ENV}=PATH, then run fitgate check with the same {GUARD_LOG_ENV}"
        )
    overrides = LoadProfile(
        users=args.users,
        spawn_rate=args.spawn_rate,
        duration=args.duration,
        warmup=args.warmup,
        workers=args.workers,
    )
    plan = plan_load(config, args.profile, overrides)
    started = time.perf_counter()
    with _staged(args.output) as files_dir, _guard_log(args.guard, files_dir) as guard_log:
        logs = files_dir / SERVICE_LOGS if files_dir is not None else None
        with _target(config, hosts, logs, guard_log) as target:
            _say(f"fitgate load: under load: {', '.join(f'{n} at {u}' for n, u in target.urls.items())}")
            _say(f"fitgate load: {plan.describe()}" + ("; services guarded" if guard_log else ""))
            measurement = run_locust(config, plan, target, files_dir=files_dir, on_progress=_progress)
            judgement = judge(config, measurement, target, plan.budget_factor)
        context = CheckContext(config, guard_log=guard_log)
        result = judge_findings(context, LatencyBudgets.id, judgement.findings, time.perf_counter() - started)
        guarded = tuple(
            _naming_the_kept_log(run_one(context, fitness_id), guard_log, args.output)
            for fitness_id in GUARDED_FITNESS
            if guard_log is not None
        )
        check_run = CheckRun(
            system=config.system,
            config_path=str(config.path),
            database=target.label,
            results=(result, *guarded),
            seconds=time.perf_counter() - started,
        )
        reports = {
            name: render_table(judgement, result, plan, target.label) + _guard_report(guarded)
            if name == "text"
            else FORMATS[name](check_run)
            for name in REPORT_FORMATS
        }
        if files_dir is not None:
            for name, text in reports.items():
                (files_dir / REPORT_FILES[name]).write_text(text, encoding="utf-8")
            measurement_data = _measurement_data(plan, target, measurement, judgement, result)
            (files_dir / MEASUREMENT_FILE).write_text(json.dumps(measurement_data, indent=2) + "\n")
    sys.stdout.write(reports[args.format])
    if args.output is not None:
        _say(f"fitgate load: reports, locust's HTML report and CSV files in {args.output}")
    return check_run.exit_code


@contextlib.contextmanager
def _guard_log(guard: bool, files_dir: Path | None) -> Iterator[Path | None]:
    """Where the guarded services record (in the output folder, else a temporary one); None unguarded."""
    if not guard:
        yield None
    elif files_dir is not None:
        yield files_dir / GUARD_LOG
    else:
        with tempfile.TemporaryDirectory(prefix="fitgate-guard-") as folder:
            yield Path(folder) / GUARD_LOG


def _naming_the_kept_log(result: Result, log: Path, output: Path | None) -> Result:
    """The result with its notes naming the log where it is kept, not where it was judged (staged)."""
    kept = str(output / GUARD_LOG) if output is not None else "a temporary file (--output keeps it)"
    return replace(result, notes=tuple(note.replace(str(log), kept) for note in result.notes))


def _guard_report(results: tuple[Result, ...]) -> str:
    """The guard's verdicts after the budget table, as fitgate check prints them."""
    lines: list[str] = []
    for result in results:
        lines += [
            "",
            f"{result.fitness}: {result.status.value}" + (f" ({result.reason})" if result.reason else ""),
        ]
        lines += result_details(result)
    return "\n".join(lines) + "\n" if lines else ""


def parse_hosts(config: Config, values: list[str]) -> dict[str | None, str]:
    """``--host`` values as {service or None (every service): URL}."""
    hosts: dict[str | None, str] = {}
    for value in values:
        named = _NAMED_HOST.match(value)
        name, url = (named["name"], named["url"]) if named and "://" not in named["name"] else (None, value)
        if name is not None and name not in config.services:
            known = ", ".join(config.services)
            raise UsageError(f"--host {value}: no service named {name} in {config.path} (known: {known})")
        parts = urlsplit(url)
        try:
            parts.port  # noqa: B018  (raises on a port that is not a number)
        except ValueError:
            raise UsageError(f"--host {value}: the port is not a number") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"--host {value}: not an http(s) URL such as http://127.0.0.1:8002")
        if name in hosts:
            whose = "every service" if name is None else name
            raise UsageError(f"--host {value}: {whose} already has a host")
        hosts[name] = url.rstrip("/")
    return hosts


@contextlib.contextmanager
def _target(
    config: Config, hosts: Mapping[str | None, str], log_dir: Path | None, guard_log: Path | None
) -> Iterator[LoadTarget]:
    if hosts:
        yield deployed_target(config, hosts)
        return
    if log_dir is not None:
        log_dir.mkdir()
    guard = {} if guard_log is None else {GUARD_ENV: GuardMode.RECORD.value, GUARD_LOG_ENV: str(guard_log)}
    with fresh_installation(config) as (database_url, label):
        _say(f"fitgate load: database {label}")
        with started_services(
            config, database_url, database_label=label, log_dir=log_dir, environment=guard
        ) as target:
            yield target


@contextlib.contextmanager
def _staged(output: Path | None) -> Iterator[Path | None]:
    """A hidden folder inside ``output`` whose files move into it only when the run is complete."""
    if output is None:
        yield None
        return
    if output.exists() and not output.is_dir():
        raise UsageError(f"--output {output}: is a file, not a folder")
    created = not output.exists()
    try:
        output.mkdir(exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".fitgate-load-", dir=output))
    except OSError as exc:
        raise UsageError(f"--output {output}: cannot create: {exc.strerror}") from None
    complete = False
    try:
        yield staging
        for item in staging.iterdir():
            destination = output / item.name
            if destination.is_dir() and not destination.is_symlink():
                shutil.rmtree(destination)
            os.replace(item, destination)
        complete = True
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if created and not complete:
            shutil.rmtree(output, ignore_errors=True)


def _measurement_data(
    plan: LoadPlan, target: LoadTarget, measurement: Measurement, judgement: Judgement, result: Result
) -> dict[str, Any]:
    """Everything measured, with each budget's limits and margins, for scripts."""
    return {
        "status": result.status.value,
        "target": target.label,
        "plan": {
            "profile": plan.profile,
            "users": plan.users,
            "spawn_rate": plan.spawn_rate,
            "duration_s": plan.duration_s,
            "warmup_s": plan.warmup_s,
            "workers": plan.workers,
            "budget_factor": plan.budget_factor,
        },
        "measurement": measurement.as_json(),
        "budgets": [
            {
                "endpoint": line.endpoint,
                "service": line.service,
                "verdict": line.verdict.value,
                "limits_ms": {p: line.limit_ms(p) for p in ("p50", "p95", "p99")},
                "error_rate": line.budget.error_rate if line.budget else None,
                "margins": {p: line.margin(p) for p in ("p50", "p95", "p99")},
                "breaches": list(line.breaches),
            }
            for line in judgement.lines
        ],
    }


def _progress(progress: Progress) -> None:
    _say(f"  {progress.describe()}")


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
