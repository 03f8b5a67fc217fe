"""Running the load: locust in a child process, its progress relayed, its measurement read back.

fitgate never imports locust (gevent would monkey-patch fitgate itself): it
starts ``python -m fitness.load.generator`` and reads the JSON lines it writes.
The child never outlives fitgate: it is stopped when the run ends however it
ends (Ctrl-C included), and the kernel stops it if fitgate is killed.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from fitness.child_processes import die_with_parent
from fitness.config import Config
from fitness.errors import FitgateError
from fitness.load.measurement import Measurement
from fitness.load.plan import LoadPlan
from fitness.load.targets import LoadTarget, target_environment

PROGRESS_EVERY_S = 5.0
# Beyond the planned duration: workers connecting, users stopping, reports written.
_GRACE_S = 120.0
_STOP_TIMEOUT_S = 15.0
LOCUST_LOG = "locust.log"
LOCUST_HTML = "locust-report.html"
LOCUST_CSV_PREFIX = "locust"


class LoadRunError(FitgateError):
    """The load could not be run (locustfile broken, no user class, workers missing, ...)."""


@dataclass(frozen=True)
class Progress:
    """One progress report of a running load."""

    phase: str  # "warm-up" or "measuring"
    elapsed_s: float
    users: int
    requests_per_s: float
    requests: int
    failures: int

    def describe(self) -> str:
        return (
            f"{self.elapsed_s:5.0f} s  {self.phase:9}  {self.users:4d} users  "
            f"{self.requests_per_s:7.1f} req/s  {self.requests:7d} requests  {self.failures} failed"
        )


ProgressCallback = Callable[[Progress], None]


def run_locust(
    config: Config,
    plan: LoadPlan,
    target: LoadTarget,
    *,
    files_dir: Path | None = None,
    on_progress: ProgressCallback | None = None,
) -> Measurement:
    """Run the config's locustfile against ``target`` as ``plan`` says; return what it measured.

    With ``files_dir``, locust's HTML report, CSV files and log are written there.
    """
    locustfile = config.load.locustfile
    if not locustfile.is_file():
        where = config.error_at(("load", "locustfile"), f"no such file: {locustfile}")
        if config.load.locustfile_declared:
            raise where
        raise LoadRunError(f"no locustfile at {locustfile} (set load.locustfile in {config.path})")
    command = [
        sys.executable,
        "-m",
        "fitness.load.generator",
        "run",
        "--locustfile",
        str(locustfile),
        "--services",
        ",".join(target.urls),
        "--users",
        str(plan.users),
        "--spawn-rate",
        str(plan.spawn_rate),
        "--duration",
        str(plan.duration_s),
        "--warmup",
        str(plan.warmup_s),
        "--workers",
        str(plan.workers),
        "--progress-every",
        str(PROGRESS_EVERY_S),
    ]
    if files_dir is not None:
        command += ["--csv-prefix", str(files_dir / LOCUST_CSV_PREFIX)]
        command += ["--html", str(files_dir / LOCUST_HTML)]
    environment = {**os.environ, **target_environment(target)}
    with _log_file(files_dir) as log:
        process = subprocess.Popen(
            command,
            env=environment,
            cwd=str(config.code_root),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            start_new_session=True,  # Ctrl-C reaches fitgate, which stops the load in order
            preexec_fn=die_with_parent(signal.SIGTERM),
        )
        try:
            events = _read_events(process, plan.warmup_s + plan.duration_s + _GRACE_S + plan.workers * 5)
            return _result(events, process, log, on_progress)
        finally:
            _stop(process)


@contextlib.contextmanager
def _log_file(files_dir: Path | None) -> Iterator[IO[bytes]]:
    if files_dir is None:
        with tempfile.TemporaryFile() as anonymous:
            yield anonymous
    else:
        with (files_dir / LOCUST_LOG).open("w+b") as named:
            yield named


def _result(
    events: Iterator[dict[str, Any]],
    process: subprocess.Popen[bytes],
    log: IO[bytes],
    on_progress: ProgressCallback | None,
) -> Measurement:
    for event in events:
        kind = event.get("event")
        if kind == "progress" and on_progress is not None:
            on_progress(
                Progress(
                    phase=str(event["phase"]),
                    elapsed_s=float(event["elapsed"]),
                    users=int(event["users"]),
                    requests_per_s=float(event["requests_per_s"]),
                    requests=int(event["requests"]),
                    failures=int(event["failures"]),
                )
            )
        elif kind == "error":
            raise LoadRunError(f"load generator: {event['message']}")
        elif kind == "result":
            return Measurement.from_json(event["measurement"])
    code = process.wait()
    raise LoadRunError(f"load generator exited with code {code} without a result: {_last_line(log)}")


def _read_events(process: subprocess.Popen[bytes], timeout_s: float) -> Iterator[dict[str, Any]]:
    """The child's JSON lines as they come; a line that is not JSON is ignored (it is not ours)."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout_s
    stream = process.stdout.fileno()
    pending = b""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise LoadRunError(f"load generator did not finish within {timeout_s:.0f} s")
        ready, _, _ = select.select([stream], [], [], min(remaining, 1.0))
        if not ready:
            continue
        chunk = os.read(stream, 65536)
        if not chunk:
            return
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                if isinstance(event, dict):
                    yield event


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdout is not None:
        process.stdout.close()


def _last_line(log: IO[bytes]) -> str:
    log.flush()
    log.seek(0)
    lines = [line.strip() for line in log.read().decode(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else "it wrote nothing"
