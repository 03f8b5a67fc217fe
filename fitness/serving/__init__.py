"""Running a system's services as separate processes, by the names the contract gives them.

``running_services(config, ["directory"], database_url, admin_token=...)`` starts
each named service (``services.<name>.app``, loaded by name in its own uvicorn
process, never imported here), waits until its ``/readyz`` answers 200, and stops
them all when the block ends. Used by ``fitgate serve``, load tests and the
integration tests of every service.
"""

from fitness.serving.processes import (
    RunningService,
    ServiceStartError,
    app_available,
    running_services,
    service_environment_variable,
)

__all__ = [
    "RunningService",
    "ServiceStartError",
    "app_available",
    "running_services",
    "service_environment_variable",
]
