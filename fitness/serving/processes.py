"""Starting, watching and stopping service processes."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from fitness.child_processes import die_with_parent
from fitness.config import Config, Service
from fitness.database.addresses import with_user
from fitness.errors import FitgateError

DEFAULT_HOST = "127.0.0.1"
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
_POLL_S = 0.05
# Local services are asked directly, whatever proxy the environment names.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ServiceStartError(FitgateError):
    """A service process could not be started or did not become ready."""


@dataclass
class RunningService:
    """A started service: where it listens and its process."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def last_log_line(self) -> str:
        """The last line the process wrote (when its output goes to a file), for error messages."""
        if self.log_path is None:
            return "see its output above"
        try:
            lines = [line for line in self.log_path.read_text(errors="replace").splitlines() if line.strip()]
        except OSError:
            lines = []
        return lines[-1] if lines else "it wrote nothing"


def service_environment_variable(name: str) -> str:
    """The variable holding a service's database URL: ``FITGATE_<NAME>_DATABASE_URL``."""
    return f"FITGATE_{name.upper().replace('-', '_')}_DATABASE_URL"


def app_available(service: Service, code_root: Path) -> str | None:
    """None if ``services.<name>.app`` names a module that exists; otherwise why it cannot be served."""
    if service.app is None:
        return f"no app declared (services.{service.name}.app)"
    module = service.app.partition(":")[0]
    root = str(code_root)
    if root not in sys.path:
        sys.path.insert(0, root)
    try:
        found = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        found = None
    return None if found is not None else f"module {module} (of {service.app}) does not exist yet"


@contextlib.contextmanager
def running_services(
    config: Config,
    names: Sequence[str],
    database_url: str,
    *,
    admin_token: str,
    ports: Mapping[str, int] | None = None,
    log_dir: Path | None = None,
    environment: Mapping[str, str] | None = None,
    ready_timeout_s: float = READY_TIMEOUT_S,
) -> Iterator[dict[str, RunningService]]:
    """Start ``names`` as separate processes; yield them once every ``/readyz`` answers 200.

    ``database_url`` reaches the installed database (a superuser is fine): each
    service gets it with the user swapped for its role in
    ``FITGATE_<NAME>_DATABASE_URL`` (unless that is already set), plus
    ``FITGATE_ADMIN_TOKEN``. ``ports`` maps a name to a port (0 or absent: a
    free one). Output goes to ``log_dir/<name>.log`` if given, else to ours.
    All processes are stopped (SIGTERM, then SIGKILL) when the block ends.
    """
    started: dict[str, RunningService] = {}
    try:
        for name in names:
            service = _service(config, name)
            port = (ports or {}).get(name, 0)
            started[name] = _start(
                config, service, port, database_url, admin_token, log_dir, environment or {}
            )
        deadline = time.monotonic() + ready_timeout_s
        for running in started.values():
            _wait_until_ready(running, deadline, ready_timeout_s)
        yield started
    finally:
        stop_services(started.values())


def stop_services(services: Iterable[RunningService]) -> None:
    """SIGTERM every process, then SIGKILL those still running after the grace period."""
    running = [s for s in services if s.process.poll() is None]
    for service in running:
        with contextlib.suppress(ProcessLookupError):
            service.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for service in running:
        try:
            service.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            service.process.kill()
            service.process.wait()


def _service(config: Config, name: str) -> Service:
    service = config.services.get(name)
    if service is None:
        known = ", ".join(config.services) or "none"
        raise ServiceStartError(f"{config.path}: no service named {name} (known: {known})")
    problem = app_available(service, config.code_root)
    if problem is not None:
        raise ServiceStartError(f"{config.path}: services.{name}.app: {problem}")
    return service


def _start(
    config: Config,
    service: Service,
    port: int,
    database_url: str,
    admin_token: str,
    log_dir: Path | None,
    extra_environment: Mapping[str, str],
) -> RunningService:
    host = _host(service)
    listener = _listen(service.name, host, port)
    env = dict(os.environ)
    env.pop("FITGATE_DATABASE_URL", None)  # a superuser URL is not the service's business
    variable = service_environment_variable(service.name)
    env[variable] = os.environ.get(variable) or with_user(database_url, service.role)
    env["FITGATE_ADMIN_TOKEN"] = admin_token
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra_environment)
    log_path = None if log_dir is None else log_dir / f"{service.name}.log"
    output: IO[bytes] | None = None if log_path is None else log_path.open("ab")
    command = [
        sys.executable,
        "-m",
        "fitness.serving.worker",
        "--config",
        str(config.path.resolve()),
        "--service",
        service.name,
        "--fd",
        str(listener.fileno()),
    ]
    try:
        process = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT if output is not None else None,
            pass_fds=(listener.fileno(),),
            start_new_session=True,  # Ctrl-C reaches fitgate, which stops services in order
            preexec_fn=die_with_parent(signal.SIGTERM),
        )
    except OSError as exc:
        raise ServiceStartError(f"{service.name}: cannot start a process: {exc.strerror}") from None
    finally:
        bound_port = listener.getsockname()[1]
        listener.close()  # the child holds its own copy
        if output is not None:
            output.close()
    return RunningService(service.name, f"http://{host}:{bound_port}", process, log_path)


def _host(service: Service) -> str:
    if service.url is None:
        return DEFAULT_HOST
    return urlsplit(service.url).hostname or DEFAULT_HOST


def _listen(name: str, host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
        listener.listen(1024)
    except OSError as exc:
        listener.close()
        raise ServiceStartError(f"{name}: cannot listen on {host}:{port}: {exc.strerror}") from None
    listener.set_inheritable(True)
    return listener


def _wait_until_ready(service: RunningService, deadline: float, timeout_s: float) -> None:
    last_answer = "no answer"
    while True:
        code = service.process.poll()
        if code is not None:
            raise ServiceStartError(
                f"{service.name} exited with code {code} before it was ready: {service.last_log_line()}"
            )
        try:
            with _DIRECT.open(f"{service.url}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except urllib.error.HTTPError as exc:
            last_answer = f"/readyz answered {exc.code}: {exc.read(500).decode(errors='replace')}"
        except (urllib.error.URLError, OSError) as exc:
            last_answer = f"no answer ({exc})"
        if time.monotonic() > deadline:
            raise ServiceStartError(
                f"{service.name} did not become ready in {timeout_s:.0f} s at {service.url}: {last_answer}"
            )
        time.sleep(_POLL_S)
