"""What a load run is aimed at: services fitgate starts on a fresh install, or a deployed platform.

The scenarios learn where each service is from the environment fitgate gives
the locust process (:mod:`fitness.load.scenario_environment`).
"""

from __future__ import annotations

import contextlib
import secrets
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from fitness.config import Config
from fitness.database import open_server
from fitness.database.databases import create_database, drop_database
from fitness.errors import FitgateError
from fitness.installation import run_installer
from fitness.load.scenario_environment import (
    ADMIN_TOKEN_VARIABLE,
    LOAD_DATABASE_VARIABLE,
    service_url_variable,
)
from fitness.serving import RunningService, app_available, running_services

LOAD_DATABASE_PREFIX = "fitgate_load"


@dataclass(frozen=True)
class LoadTarget:
    """The services under load, where they are, and what the scenarios may use to sign in."""

    urls: Mapping[str, str]  # service -> base URL
    label: str  # how to name the target to a human
    admin_token: str | None = None
    database_url: str | None = None  # superuser URL of the installed database (local runs)
    left_out: Mapping[str, str] = field(default_factory=dict)  # service -> why it gets no load
    processes: Mapping[str, RunningService] = field(default_factory=dict)  # local runs

    def exited(self) -> dict[str, int]:
        """Services fitgate started that are no longer running, with their exit codes."""
        codes = {name: service.process.poll() for name, service in self.processes.items()}
        return {name: code for name, code in codes.items() if code is not None}


def target_environment(target: LoadTarget) -> dict[str, str]:
    """What the locust process is told about the target."""
    environment = {service_url_variable(name): url for name, url in target.urls.items()}
    if target.admin_token is not None:
        environment[ADMIN_TOKEN_VARIABLE] = target.admin_token
    if target.database_url is not None:
        environment[LOAD_DATABASE_VARIABLE] = target.database_url
    return environment


@contextlib.contextmanager
def fresh_installation(config: Config) -> Iterator[tuple[str, str]]:
    """``(superuser URL, label)`` of a new database holding the installed system, removed afterwards.

    The server is the embedded one unless ``FITGATE_DB`` or ``FITGATE_DATABASE_URL``
    names another; on a server fitgate did not start, the database is dropped at the end.
    """
    if config.installer is None:
        raise FitgateError(
            f"{config.path}: database.installer is not set, so fitgate cannot build the system to load "
            "(give --host to load a deployed one)"
        )
    with open_server() as (server, provisioned):
        name = f"{LOAD_DATABASE_PREFIX}_{secrets.token_hex(4)}"
        url = create_database(server.url("postgres"), name)
        try:
            run_installer(config, url)
            yield url, f"{server.label}, installed by {config.installer}"
        finally:
            if not provisioned:
                drop_database(server.url("postgres"), name)


@contextlib.contextmanager
def started_services(
    config: Config,
    database_url: str,
    *,
    database_label: str,
    log_dir: Path | None = None,
    environment: Mapping[str, str] | None = None,
) -> Iterator[LoadTarget]:
    """Every service with an app, each its own process on the installed database, stopped afterwards.

    Service output goes to ``log_dir/<name>.log`` (a temporary folder, removed
    at the end, if none is given); ``environment`` is added to theirs (the
    runtime guard's variables, say).
    """
    names: list[str] = []
    left_out: dict[str, str] = {}
    for name, service in config.services.items():
        problem = app_available(service, config.code_root)
        if problem is None:
            names.append(name)
        else:
            left_out[name] = problem
    if not names:
        raise FitgateError(f"{config.path}: no service declares an app to start (services.<name>.app)")
    admin_token = secrets.token_urlsafe(32)
    with contextlib.ExitStack() as stack:
        logs = log_dir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fitgate-load-logs-")))
        running = stack.enter_context(
            running_services(
                config, names, database_url, admin_token=admin_token, log_dir=logs, environment=environment
            )
        )
        yield LoadTarget(
            urls={name: service.url for name, service in running.items()},
            label=f"{', '.join(names)} started on {database_label}",
            admin_token=admin_token,
            database_url=database_url,
            left_out=left_out,
            processes=running,
        )


def deployed_target(config: Config, hosts: Mapping[str | None, str]) -> LoadTarget:
    """Services already running, at ``hosts[name]``, else ``hosts[None]``, else their config ``url``."""
    urls: dict[str, str] = {}
    left_out: dict[str, str] = {}
    for name, service in config.services.items():
        url = hosts.get(name) or hosts.get(None) or service.url
        if url:
            urls[name] = url.rstrip("/")
        else:
            left_out[name] = f"no --host {name}=URL and no services.{name}.url"
    if not urls:
        raise FitgateError(f"{config.path}: no service has a URL to load")
    described = ", ".join(f"{name} at {url}" for name, url in urls.items())
    return LoadTarget(urls=urls, label=f"deployed: {described}", left_out=left_out)
