"""``python -m fitness.load.generator``: the locust process behind ``fitgate load``.

Importing locust monkey-patches the interpreter with gevent, so locust never
runs inside fitgate's own process: fitgate starts this module as a child. It
loads the locustfile, keeps the user classes whose ``service`` is under load,
runs them headless (alone, or as the master of local worker processes it
starts: locust's own distributed runner), and speaks JSON lines on its
original stdout: ``started``, a ``progress`` line every few seconds, then
``result`` (or ``error``). Everything else written to stdout, by locust or by
the locustfile, goes to stderr, which fitgate keeps as the run's log.

SIGTERM stops the run at once: users stopped, workers told to quit, no result.
"""

# ruff: noqa: I001  (locust must be imported first: it monkey-patches the interpreter)
from __future__ import annotations

import locust

import argparse
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import gevent
import gevent.event
from locust.env import Environment
from locust.html import get_html_report
from locust.runners import MasterRunner, Runner
from locust.stats import PERCENTILES_TO_REPORT, StatsCSVFileWriter, StatsEntry, stats_history
from locust.user.users import User
from locust.util.load_locustfile import load_locustfile

from fitness.child_processes import die_with_parent
from fitness.load.measurement import EndpointMeasurement, Measurement, endpoint_key
from fitness.load.scenario_environment import SERVICE_ATTRIBUTE, service_url_variable

WORKERS_READY_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 5.0
MASTER_HOST = "127.0.0.1"
_COMMON_ERRORS = 3
_log = logging.getLogger("fitgate.load")


class RunFailed(Exception):
    """The run could not be made; the message is one line for the user."""


def main(argv: Sequence[str] | None = None) -> int:
    protocol = _take_stdout()
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = _parser().parse_args(argv)
    try:
        classes, left_out = select_user_classes(_load(args.locustfile), set(args.services.split(",")))
        if args.role == "worker":
            return _work(args, classes)
        check_reachable(classes)
        return _lead(args, classes, left_out, protocol)
    except RunFailed as exc:
        _send(protocol, "error", message=str(exc))
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m fitness.load.generator")
    roles = parser.add_subparsers(dest="role", required=True)
    for role in ("run", "worker"):
        sub = roles.add_parser(role)
        sub.add_argument("--locustfile", required=True, type=Path)
        sub.add_argument("--services", required=True, help="comma-separated services under load")
        if role == "worker":
            sub.add_argument("--master-port", required=True, type=int)
            continue
        sub.add_argument("--users", required=True, type=int)
        sub.add_argument("--spawn-rate", required=True, type=float)
        sub.add_argument("--duration", required=True, type=float, help="seconds measured")
        sub.add_argument("--warmup", default=0.0, type=float, help="seconds of load before, not measured")
        sub.add_argument("--workers", default=0, type=int)
        sub.add_argument("--progress-every", default=5.0, type=float)
        sub.add_argument("--csv-prefix", help="write locust's CSV files with this prefix")
        sub.add_argument("--html", type=Path, help="write locust's HTML report here")
    return parser


def _take_stdout() -> IO[str]:
    """Keep the real stdout for the protocol; send every other write to stdout to stderr."""
    protocol = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    sys.stdout.flush()
    os.dup2(2, 1)
    return protocol


def _send(protocol: IO[str], event: str, **fields: Any) -> None:
    protocol.write(json.dumps({"event": event, **fields}) + "\n")
    protocol.flush()


def _load(locustfile: Path) -> dict[str, type[User]]:
    if not locustfile.is_file():
        raise RunFailed(f"no locustfile at {locustfile}")
    try:
        user_classes, _shapes = load_locustfile(str(locustfile))
    except SystemExit as exc:  # locust's loader exits on some problems
        raise RunFailed(f"{locustfile}: locust could not load it (exit {exc.code})") from None
    except Exception as exc:  # any import-time failure of the team's scenarios
        problem = " ".join(str(exc).split())
        raise RunFailed(f"{locustfile}: cannot load: {exc.__class__.__name__}: {problem}") from None
    return user_classes


def select_user_classes(
    user_classes: Mapping[str, type[User]], services: set[str]
) -> tuple[list[type[User]], dict[str, str]]:
    """The user classes whose ``service`` is under load, and why each other one is left out."""
    chosen: list[type[User]] = []
    left_out: dict[str, str] = {}
    for name, cls in sorted(user_classes.items()):
        service = getattr(cls, SERVICE_ATTRIBUTE, None)
        if not isinstance(service, str):
            left_out[name] = f"declares no service (set {SERVICE_ATTRIBUTE} = '<name>' on the class)"
        elif service not in services:
            left_out[name] = f"its service {service} is not under load"
        else:
            chosen.append(cls)
    if not chosen:
        raise RunFailed(
            f"no user class for {', '.join(sorted(services))} in the locustfile "
            f"(found: {', '.join(sorted(user_classes)) or 'none'}); "
            f"a class declares {SERVICE_ATTRIBUTE} = '<name>'"
        )
    return chosen, left_out


def check_reachable(classes: Iterable[type[User]]) -> None:
    """Every chosen class has a host that accepts connections: otherwise the run cannot be made."""
    checked: set[str] = set()
    for cls in classes:
        service = str(getattr(cls, SERVICE_ATTRIBUTE))
        host = cls.host
        if not host:
            raise RunFailed(f"{cls.__name__} has no host: set {service_url_variable(service)}")
        if host in checked:
            continue
        parts = urlsplit(host)
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            port = 0
        if parts.scheme not in ("http", "https") or not parts.hostname or not port:
            raise RunFailed(f"{cls.__name__}: host {host!r} is not an http(s) URL")
        try:
            socket.create_connection((parts.hostname, port), timeout=CONNECT_TIMEOUT_S).close()
        except OSError as exc:
            raise RunFailed(f"{service} at {host}: no answer ({exc.strerror or exc})") from None
        checked.add(host)


def _environment(locustfile: Path, classes: list[type[User]]) -> Environment:
    return Environment(user_classes=classes, events=locust.events, locustfile=locustfile.name)


def _work(args: argparse.Namespace, classes: list[type[User]]) -> int:
    environment = _environment(args.locustfile, classes)
    runner = environment.create_worker_runner(MASTER_HOST, args.master_port)
    # locust's Event.fire is untyped
    environment.events.init.fire(environment=environment, runner=runner, web_ui=None)  # type: ignore[no-untyped-call]
    gevent.signal_handler(signal.SIGTERM, runner.quit)
    runner.greenlet.join()
    return 0


def _lead(
    args: argparse.Namespace, classes: list[type[User]], left_out: dict[str, str], protocol: IO[str]
) -> int:
    environment = _environment(args.locustfile, classes)
    stop = gevent.event.Event()
    gevent.signal_handler(signal.SIGTERM, stop.set)
    workers: list[subprocess.Popen[bytes]] = []
    runner: Runner
    try:
        if args.workers > 0:
            master = environment.create_master_runner(MASTER_HOST, 0)
            runner = master
            workers = _start_workers(args, master.server.port)
            _wait_for_workers(master, workers, stop)
        else:
            runner = environment.create_local_runner()
        environment.events.init.fire(environment=environment, runner=runner, web_ui=None)  # type: ignore[no-untyped-call]
        by_service: dict[str, list[str]] = {}
        for cls in classes:
            by_service.setdefault(str(getattr(cls, SERVICE_ATTRIBUTE)), []).append(cls.__name__)
        _send(protocol, "started", user_classes=by_service, classes_left_out=left_out)
        csv_writer = _csv_writer(environment, args.csv_prefix)
        gevent.spawn(stats_history, runner)
        started = time.monotonic()
        gevent.spawn(runner.start, args.users, args.spawn_rate)  # a master blocks while it ramps up
        progress = _Progress(runner, protocol, started, "warm-up" if args.warmup else "measuring", started)
        reporting = gevent.spawn(progress.every, args.progress_every)
        stopped_early = args.warmup > 0 and stop.wait(timeout=args.warmup)
        if not stopped_early and args.warmup > 0:
            progress.start_measuring()
            # Resets the master's figures, as locust's own reset does; worker
            # reports in flight (at most 3 s of them) may still carry warm-up samples.
            runner.stats.reset_all()
            runner.exceptions = {}
        measuring = time.monotonic()
        stopped_early = stopped_early or stop.wait(timeout=args.duration)
        seconds = time.monotonic() - measuring
        reporting.kill()
        runner.stop()
        runner.quit()
        if csv_writer is not None:
            csv_writer.close_files()
        if stopped_early:
            return 143
        if args.html is not None:
            report = get_html_report(environment, show_download_link=False)  # type: ignore[no-untyped-call]
            args.html.write_text(report, encoding="utf-8")
        measurement = measure(runner, seconds, args.users, args.workers, by_service, left_out)
        _send(protocol, "result", measurement=measurement.as_json())
        return 0
    finally:
        _stop_workers(workers)


def _start_workers(args: argparse.Namespace, port: int) -> list[subprocess.Popen[bytes]]:
    command = [
        sys.executable,
        "-m",
        "fitness.load.generator",
        "worker",
        "--locustfile",
        str(args.locustfile),
        "--services",
        args.services,
        "--master-port",
        str(port),
    ]
    return [
        subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=sys.stderr,
            stderr=sys.stderr,
            preexec_fn=die_with_parent(signal.SIGTERM),
        )
        for _ in range(args.workers)
    ]


def _wait_for_workers(
    master: MasterRunner, workers: list[subprocess.Popen[bytes]], stop: gevent.event.Event
) -> None:
    deadline = time.monotonic() + WORKERS_READY_TIMEOUT_S
    while len(master.clients.ready) < len(workers):
        for worker in workers:
            code = worker.poll()
            if code is not None:
                raise RunFailed(f"a locust worker exited with code {code} before it was ready (see the log)")
        if stop.is_set():
            raise RunFailed("stopped while waiting for the locust workers")
        if time.monotonic() > deadline:
            raise RunFailed(
                f"{len(master.clients.ready)} of {len(workers)} locust workers connected "
                f"in {WORKERS_READY_TIMEOUT_S:.0f} s"
            )
        gevent.sleep(0.1)


def _stop_workers(workers: Iterable[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.terminate()
    for worker in workers:
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def _csv_writer(environment: Environment, prefix: str | None) -> StatsCSVFileWriter | None:
    if prefix is None:
        return None
    writer = StatsCSVFileWriter(environment, PERCENTILES_TO_REPORT, prefix, full_history=True)
    gevent.spawn(writer.stats_writer)
    return writer


@dataclass
class _Progress:
    """Progress lines: requests per second since the last line; counts start again when measuring starts."""

    runner: Runner
    protocol: IO[str]
    started: float
    phase: str
    last_time: float
    last_requests: int = 0

    def report(self) -> None:
        now = time.monotonic()
        total = self.runner.stats.total
        rate = (total.num_requests - self.last_requests) / max(now - self.last_time, 1e-9)
        self.last_time, self.last_requests = now, total.num_requests
        _send(
            self.protocol,
            "progress",
            phase=self.phase,
            elapsed=round(now - self.started, 1),
            users=self.runner.user_count,
            requests_per_s=round(rate, 1),
            requests=total.num_requests,
            failures=total.num_failures,
        )

    def start_measuring(self) -> None:
        """The warm-up's last line, then counting from zero (the figures are reset right after)."""
        self.report()
        self.phase, self.last_requests = "measuring", 0

    def every(self, seconds: float) -> None:
        while True:
            gevent.sleep(seconds)
            if time.monotonic() - self.last_time >= seconds / 2:  # not right after the warm-up's line
                self.report()


def measure(
    runner: Runner,
    seconds: float,
    users: int,
    workers: int,
    by_service: Mapping[str, list[str]],
    left_out: Mapping[str, str],
) -> Measurement:
    """The figures of every endpoint locust saw, with the commonest failure messages of each."""
    errors: dict[str, Counter[str]] = {}
    for error in runner.stats.errors.values():
        key = endpoint_key(error.method or "", error.name)
        errors.setdefault(key, Counter())[" ".join(str(error.error).split())[:200]] += error.occurrences
    return Measurement(
        seconds=round(seconds, 3),
        users=users,
        workers=workers,
        endpoints=tuple(
            sorted(
                (
                    _endpoint(entry, seconds, errors)
                    for entry in runner.stats.entries.values()
                    if entry.num_requests  # an entry left from the warm-up, reset to nothing
                ),
                key=lambda endpoint: endpoint.endpoint,
            )
        ),
        user_classes={service: tuple(names) for service, names in by_service.items()},
        classes_left_out=dict(left_out),
        exceptions=tuple(
            f"{exception['count']} x {' '.join(str(exception['msg']).split())[:200]}"
            for exception in runner.exceptions.values()
        ),
    )


def _endpoint(entry: StatsEntry, seconds: float, errors: Mapping[str, Counter[str]]) -> EndpointMeasurement:
    key = endpoint_key(entry.method or "", entry.name)
    commonest = errors.get(key, Counter()).most_common(_COMMON_ERRORS)
    return EndpointMeasurement(
        endpoint=key,
        requests=entry.num_requests,
        failures=entry.num_failures,
        p50_ms=float(entry.get_response_time_percentile(0.50)),
        p95_ms=float(entry.get_response_time_percentile(0.95)),
        p99_ms=float(entry.get_response_time_percentile(0.99)),
        average_ms=round(entry.avg_response_time, 2),
        max_ms=round(float(entry.max_response_time), 2),
        requests_per_s=round(entry.num_requests / seconds, 2) if seconds > 0 else 0.0,
        errors=tuple(f"{count} x {message}" for message, count in commonest),
    )


if __name__ == "__main__":
    sys.exit(main())
