"""Choosing the server, the same way for the command line and the tests.

1. a URL (``--database-url`` or ``FITGATE_DATABASE_URL``): an existing server;
2. ``FITGATE_DB=docker``: a throwaway server in Docker;
3. otherwise: the embedded server from the wheel.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Protocol

from fitness.database.docker import docker_server
from fitness.database.embedded import embedded_server
from fitness.database.existing import ExistingServer
from fitness.errors import UsageError


class Server(Protocol):
    """A PostgreSQL server fitgate can connect to as a superuser."""

    version: str

    @property
    def label(self) -> str: ...

    def url(self, database: str) -> str: ...


def database_url_from_environment(explicit: str | None = None) -> str | None:
    return explicit or os.environ.get("FITGATE_DATABASE_URL") or None


@contextlib.contextmanager
def open_server(url: str | None = None) -> Iterator[tuple[Server, bool]]:
    """Yield ``(server, provisioned)``; ``provisioned`` is true when fitgate started it."""
    given = database_url_from_environment(url)
    if given is not None:
        yield ExistingServer(given), False
        return
    choice = os.environ.get("FITGATE_DB", "embedded").strip().lower()
    if choice == "docker":
        with docker_server() as server:
            yield server, True
    elif choice in ("", "embedded"):
        with embedded_server() as embedded:
            yield embedded, True
    else:
        raise UsageError(f"FITGATE_DB={choice!r}: expected 'embedded' or 'docker'")
