"""A throwaway PostgreSQL in Docker, through testcontainers (``FITGATE_DB=docker``)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from fitness.database.existing import ExistingServer, first_line
from fitness.errors import DatabaseUnavailable

DEFAULT_IMAGE = "postgres:17-alpine"


@contextlib.contextmanager
def docker_server() -> Iterator[ExistingServer]:
    try:
        from testcontainers.community.postgres import PostgresContainer
    except ImportError:
        try:
            from testcontainers.postgres import PostgresContainer
        except ImportError:
            raise DatabaseUnavailable(
                "FITGATE_DB=docker needs testcontainers (pip install 'fitgate[docker]')"
            ) from None
    image = os.environ.get("FITGATE_DOCKER_IMAGE", DEFAULT_IMAGE)
    try:
        container = PostgresContainer(image, driver=None)  # connects to the engine already
        container.start()
    except Exception as exc:  # DockerException and connection errors from docker-py
        raise DatabaseUnavailable(f"FITGATE_DB=docker: cannot start {image}: {first_line(exc)}") from None
    try:
        yield ExistingServer(container.get_connection_url())
    finally:
        with contextlib.suppress(Exception):
            container.stop()
