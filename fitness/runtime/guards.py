"""Installing the runtime guards in a service process.

A service process calls :func:`install_guards` first thing (``fitgate serve``'s worker does,
before importing the app) when ``FITGATE_GUARD`` asks for it:

- ``1`` or ``record``: record connections to other services and pooled
  connections returned with a tenant still set;
- ``refuse``: record them, refuse the connection
  (:class:`CrossServiceConnectionRefused`) and discard the leaking connection.

Records go to the JSON-lines file named by ``FITGATE_GUARD_LOG`` (standard
error if unset); no-cross-service-calls and tenant-scope read it back.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import fitness
from fitness.config import Config
from fitness.errors import FitgateError
from fitness.runtime.call_site import CallSites, caller_frame
from fitness.runtime.connection_guard import (
    CrossServiceConnectionRefused,
    Destination,
    destinations,
    install_connection_guard,
)
from fitness.runtime.guard_log import (
    CROSS_SERVICE_CONNECTION,
    INSTALLED,
    TENANT_LEAK,
    GuardLogWriter,
    guard_log_path,
)
from fitness.runtime.pool_guard import install_pool_guard
from fitness.service_addresses import Endpoint, service_addresses

GUARD_ENV = "FITGATE_GUARD"


class GuardMode(StrEnum):
    RECORD = "record"
    REFUSE = "refuse"


@dataclass(frozen=True)
class InstalledGuards:
    service: str
    mode: GuardMode
    log: Path | None
    watched: tuple[str, ...]  # the other services whose addresses are guarded


_installed: InstalledGuards | None = None


def guard_mode_from_environment() -> GuardMode | None:
    """The mode ``FITGATE_GUARD`` asks for; None when unset, empty or ``0``."""
    value = os.environ.get(GUARD_ENV, "").strip().lower()
    if value in ("", "0", "off", "false", "no"):
        return None
    if value in ("1", "on", "true", "yes", GuardMode.RECORD):
        return GuardMode.RECORD
    if value == GuardMode.REFUSE:
        return GuardMode.REFUSE
    raise FitgateError(f"{GUARD_ENV}={value!r}: expected 1 (record) or refuse")


def install_guards(
    config: Config,
    service_name: str,
    *,
    mode: GuardMode | None = None,
    log: Path | None = None,
) -> InstalledGuards | None:
    """Guard this process as ``service_name``; mode and log default to the environment.

    Returns None when no guard is asked for. Installing twice is harmless (the
    first installation stays: audit hooks cannot be removed).
    """
    global _installed
    mode = mode or guard_mode_from_environment()
    if mode is None:
        return None
    if _installed is not None:
        return _installed
    service = config.services.get(service_name)
    if service is None:
        raise FitgateError(f"{config.path}: no service named {service_name} to guard")
    log = log or guard_log_path()
    writer = GuardLogWriter(log)
    sites = CallSites(
        config.code_root,
        service.package_dir(config.code_root),
        Path(fitness.__file__).resolve().parent,
    )
    targets = destinations(service_addresses(config), service_name)

    def on_connect(target: Destination, endpoint: Endpoint) -> None:
        found = sites.find(caller_frame())
        refused = mode is GuardMode.REFUSE
        writer.write(
            CROSS_SERVICE_CONNECTION,
            service_name,
            found.site,
            target=target.service,
            address=str(endpoint),
            declared=str(target.declared),
            refused=refused,
            request=found.request,
            stack=found.stack,
        )
        if refused:
            raise CrossServiceConnectionRefused(
                f"fitgate guard: {service_name} may not connect to service {target.service} at "
                f"{endpoint}: services never call each other"
            )

    def on_leak(value: str) -> bool:
        found = sites.find(caller_frame())
        discard = mode is GuardMode.REFUSE
        writer.write(
            TENANT_LEAK,
            service_name,
            found.site,
            setting=config.tenancy.setting,
            value=value,
            discarded=discard,
            request=found.request,
            stack=found.stack,
        )
        return discard

    install_connection_guard(targets, on_connect)
    install_pool_guard(config.tenancy.setting, on_leak)
    _installed = InstalledGuards(service_name, mode, log, tuple(t.service for t in targets))
    writer.write(
        INSTALLED,
        service_name,
        None,
        mode=str(mode),
        watched={t.service: [str(e) for e in t.endpoints] for t in targets},
        setting=config.tenancy.setting,
    )
    return _installed
