"""Runtime guards installed in service processes, and what they recorded.

A service process started with ``FITGATE_GUARD=1`` (or ``refuse``) calls
``install_guards(config, service_name)`` before importing its app; the guards
append JSON lines to ``FITGATE_GUARD_LOG``, which the runtime halves of
no-cross-service-calls and tenant-scope read. ``fitgate serve`` (its worker,
:mod:`fitness.serving.worker`) starts every service that way.
"""

from fitness.runtime.connection_guard import CrossServiceConnectionRefused
from fitness.runtime.guard_log import GUARD_LOG_ENV, GuardRecord, guard_log_path, read_guard_log
from fitness.runtime.guards import GUARD_ENV, GuardMode, InstalledGuards, install_guards

__all__ = [
    "GUARD_ENV",
    "GUARD_LOG_ENV",
    "CrossServiceConnectionRefused",
    "GuardMode",
    "GuardRecord",
    "InstalledGuards",
    "guard_log_path",
    "install_guards",
    "read_guard_log",
]
