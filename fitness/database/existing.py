"""A server fitgate did not start: reached by URL, checked once before use."""

from __future__ import annotations

from typing import Any

import psycopg

from fitness.database.addresses import describe_url, with_database
from fitness.errors import DatabaseUnavailable


class ExistingServer:
    """The server behind a user-given URL. fitgate never installs into it unasked."""

    def __init__(self, url: str) -> None:
        self._url = url
        self.version = server_version(url)

    @property
    def label(self) -> str:
        return f"PostgreSQL {self.version} at {describe_url(self._url)}"

    def url(self, database: str | None = None) -> str:
        return self._url if database is None else with_database(self._url, database)

    def stop(self) -> None:
        """Nothing to stop: the server belongs to someone else."""


def server_version(url: str) -> str:
    """The server's version, or a one-line :class:`DatabaseUnavailable`."""
    try:
        with psycopg.connect(url, connect_timeout=5, autocommit=True) as conn:
            return str(conn.execute("SHOW server_version").fetchone()[0]).split()[0]  # type: ignore[index]
    except psycopg.Error as exc:
        raise DatabaseUnavailable(
            f"cannot connect to the database at {describe_url(url)}: {first_line(exc)}"
        ) from None
    except ValueError as exc:  # psycopg rejects malformed conninfo with ValueError-like errors
        raise DatabaseUnavailable(f"database URL is malformed: {first_line(exc)}") from None


def connect(url: str, *, autocommit: bool = False) -> psycopg.Connection[tuple[Any, ...]]:
    """A connection to the database at ``url``, or a one-line :class:`DatabaseUnavailable`."""
    try:
        return psycopg.connect(url, connect_timeout=5, autocommit=autocommit)
    except psycopg.Error as exc:
        raise DatabaseUnavailable(
            f"cannot connect to the database at {describe_url(url)}: {first_line(exc)}"
        ) from None
    except ValueError as exc:
        raise DatabaseUnavailable(f"database URL is malformed: {first_line(exc)}") from None


def first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else exc.__class__.__name__
