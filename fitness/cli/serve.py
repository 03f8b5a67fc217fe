"""``fitgate serve NAME|all``: run services as separate processes until Ctrl-C or SIGTERM.

With no database URL, starts a throwaway server, creates database
``fitgate_serve`` and runs the config's installer into it; with
``--database-url`` (or ``FITGATE_DATABASE_URL``) serves that database as it is.
Each service listens where ``services.<name>.url`` says (``--port`` overrides it
for a single service; 0 picks a free port). Services whose app does not exist
yet are left out of ``all``, and said so.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fitness.config import DEFAULT_CONFIG, Config, load_config
from fitness.database import open_server
from fitness.database.databases import create_database
from fitness.database.existing import ExistingServer
from fitness.database.resolution import database_url_from_environment
from fitness.errors import FitgateError, UsageError
from fitness.installation import run_installer
from fitness.serving import RunningService, app_available, running_services
from fitness.stop_signals import StopRequested, stop_on_signals

SERVE_DATABASE = "fitgate_serve"
_WATCH_INTERVAL_S = 0.2


def register(commands: Any) -> None:
    parser = commands.add_parser("serve", help="run services as separate processes")
    parser.add_argument("service", help="a service named in the config, or 'all'")
    parser.add_argument("--port", type=int, help="port of a single service (0: any free port)")
    parser.add_argument("--database-url", help="serve this installed database (installs nothing)")
    parser.add_argument("--config", default=DEFAULT_CONFIG, type=Path, help="contract file")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    with stop_on_signals():
        try:
            return _serve(args)
        except StopRequested:
            print("stopped", flush=True)
            return 0


def _serve(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if args.port is not None and args.service == "all":
        raise UsageError("serve all: --port is for a single service; ports come from services.*.url")
    names = _servable(config, args.service)
    ports = _ports(config, names, args.port)
    token_from_environment = os.environ.get("FITGATE_ADMIN_TOKEN")
    admin_token = token_from_environment or secrets.token_urlsafe(32)
    with _database(config, args.database_url) as (database_url, label):
        print(f"database: {label}", flush=True)
        with running_services(config, names, database_url, admin_token=admin_token, ports=ports) as services:
            _announce(services, admin_token, generated=token_from_environment is None)
            return _watch(services)


def _servable(config: Config, wanted: str) -> list[str]:
    if wanted != "all":
        service = config.services.get(wanted)
        if service is None:
            known = ", ".join(config.services)
            raise UsageError(f"serve: no service named {wanted} in {config.path} (known: {known}, all)")
        problem = app_available(service, config.code_root)
        if problem is not None:
            raise UsageError(f"serve: {wanted} cannot be served: {problem}")
        return [wanted]
    names = []
    for name, service in config.services.items():
        problem = app_available(service, config.code_root)
        if problem is None:
            names.append(name)
        else:
            print(f"{name}: not served: {problem}", flush=True)
    if not names:
        raise UsageError(f"serve all: no service in {config.path} has an app to serve yet")
    return names


def _ports(config: Config, names: list[str], port: int | None) -> dict[str, int]:
    if port is not None:
        if not 0 <= port <= 65535:
            raise UsageError(f"--port {port}: not a port number")
        return {names[0]: port}
    ports = {}
    for name in names:
        url = config.services[name].url
        ports[name] = (urlsplit(url).port or 80) if url else 0
    return ports


@contextlib.contextmanager
def _database(config: Config, given: str | None) -> Iterator[tuple[str, str]]:
    """The URL of the database to serve and how to describe it."""
    url = database_url_from_environment(given)
    if url is not None:
        yield url, ExistingServer(url).label
        return
    if config.installer is None:
        raise FitgateError(f"{config.path}: no --database-url and no database.installer to build one")
    with open_server() as (server, _provisioned):
        target = create_database(server.url("postgres"), SERVE_DATABASE)
        run_installer(config, target)
        yield target, f"{server.label}, installed by {config.installer}; superuser URL {target}"


def _announce(services: dict[str, RunningService], admin_token: str, *, generated: bool) -> None:
    width = max(len(name) for name in services)
    for name, service in services.items():
        print(f"{name.ljust(width)}  {service.url}  (pid {service.pid}, API docs at {service.url}/docs)")
    origin = (
        "generated for this run; set FITGATE_ADMIN_TOKEN to choose it"
        if generated
        else "from FITGATE_ADMIN_TOKEN"
    )
    print(f"admin token ({origin}): {admin_token}")
    print(
        '  use it as "Authorization: Bearer <token>", with "X-Tenant-ID: <tenant uuid>" on tenant endpoints'
    )
    print("press Ctrl-C to stop", flush=True)


def _watch(services: dict[str, RunningService]) -> int:
    """Wait for a stop signal; if a service dies meanwhile, say so and stop the rest (exit 1)."""
    while True:
        for name, service in services.items():
            code = service.process.poll()
            if code is not None:
                print(f"{name} exited with code {code}; stopping the others", flush=True)
                return 1
        time.sleep(_WATCH_INTERVAL_S)

