"""pytest fixtures for testing against real PostgreSQL.

One server per test session (resolved as the command line does: a URL in
``FITGATE_DATABASE_URL``, ``FITGATE_DB=docker``, or the embedded server);
each test that asks gets its own database, cloned from a template that is
built once per session.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from fitness import registry
from fitness.config import DEFAULT_CONFIG, Config, load_config
from fitness.database import Server, describe_url, open_server
from fitness.database.databases import create_database, drop_database, drop_roles_with_prefix
from fitness.engine import CheckContext
from fitness.engine.check_run import CheckRun
from fitness.engine.context import DatabaseTarget
from fitness.engine.runner import check
from fitness.installation import run_installer


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fitgate-config",
        default=None,
        help=f"contract file for the fitgate fixtures (default: {DEFAULT_CONFIG} in rootdir)",
    )


class DatabaseFactory:
    """Makes throwaway databases on the session's server and drops them afterwards."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.admin_url = server.url("postgres")
        self._templates: dict[str, str] = {}
        self._created: list[str] = []

    def empty(self) -> str:
        """A new empty database; returns its superuser URL."""
        name = _unique("fitgate_test")
        url = create_database(self.admin_url, name)
        self._created.append(name)
        return url

    def template(self, key: str, build: Callable[[str], None]) -> str:
        """The name of a template database built once per session by ``build(url)``."""
        if key not in self._templates:
            name = _unique("fitgate_template")
            url = create_database(self.admin_url, name)
            self._created.append(name)
            build(url)
            _disconnect_everyone(self.admin_url, name)
            self._templates[key] = name
        return self._templates[key]

    def clone(self, template: str) -> str:
        """A new database copied from ``template``; returns its superuser URL."""
        name = _unique("fitgate_test")
        url = create_database(self.admin_url, name, template=template)
        self._created.append(name)
        return url

    def drop(self, url_or_name: str) -> None:
        # the URL's host may be a socket folder (…?host=/tmp/…): ask libpq for the name
        is_url = "://" in url_or_name or "=" in url_or_name
        name = str(conninfo_to_dict(url_or_name)["dbname"]) if is_url else url_or_name
        drop_database(self.admin_url, name)
        if name in self._created:
            self._created.remove(name)

    def drop_all(self) -> None:
        for name in reversed(self._created):
            drop_database(self.admin_url, name)
        self._created.clear()


class ScratchDatabase:
    """An empty database, and a prefix for the cluster-wide names (roles) a test creates.

    Roles are shared by every database of the server, so a test names its roles
    ``role("x")`` (``<prefix>_x``); all of them are dropped with the database.
    """

    def __init__(self, url: str, prefix: str) -> None:
        self.url = url
        self.prefix = prefix

    def role(self, name: str) -> str:
        return f"{self.prefix}_{name}"

    def execute(self, statements: str) -> None:
        """Run SQL (several statements allowed) as the superuser, committed."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(statements)


def _unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def _disconnect_everyone(admin_url: str, database: str) -> None:
    """CREATE DATABASE ... TEMPLATE fails while anyone is connected to the template."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        )


@pytest.fixture(scope="session")
def fitgate_server() -> Iterator[Server]:
    """The session's PostgreSQL server."""
    with open_server() as (server, _provisioned):
        yield server


@pytest.fixture(scope="session")
def fitgate_databases(fitgate_server: Server) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(fitgate_server)
    yield factory
    factory.drop_all()


@pytest.fixture(scope="session")
def fitgate_config(request: pytest.FixtureRequest) -> Config:
    """The contract file named by ``--fitgate-config`` (default: the rootdir's)."""
    option = request.config.getoption("--fitgate-config")
    path = Path(option) if option else Path(request.config.rootpath) / DEFAULT_CONFIG
    return load_config(path)


@pytest.fixture
def fitgate_empty_database(fitgate_databases: DatabaseFactory) -> Iterator[str]:
    """URL of a new empty database, dropped after the test."""
    url = fitgate_databases.empty()
    yield url
    fitgate_databases.drop(url)


@pytest.fixture
def fitgate_scratch_database(fitgate_databases: DatabaseFactory) -> Iterator[ScratchDatabase]:
    """An empty database and a unique role prefix; both, and every such role, dropped after."""
    url = fitgate_databases.empty()
    prefix = _unique("r")
    yield ScratchDatabase(url, prefix)
    fitgate_databases.drop(url)
    drop_roles_with_prefix(fitgate_databases.admin_url, prefix)


@pytest.fixture(scope="session")
def fitgate_installed_template(fitgate_databases: DatabaseFactory, fitgate_config: Config) -> str:
    """Name of a template database holding the system built by the config's installer."""
    return fitgate_databases.template(
        f"installed:{fitgate_config.path}", lambda url: run_installer(fitgate_config, url)
    )


@pytest.fixture
def fitgate_installed_database(
    fitgate_databases: DatabaseFactory, fitgate_installed_template: str
) -> Iterator[str]:
    """URL of a fresh copy of the installed system, dropped after the test."""
    url = fitgate_databases.clone(fitgate_installed_template)
    yield url
    fitgate_databases.drop(url)


@pytest.fixture(scope="session")
def fitgate_check(fitgate_config: Config) -> Callable[..., CheckRun]:
    """Run fitness functions from a test: ``fitgate_check(url, only=["rls-coverage"])``.

    The run's ``exit_code`` is what ``fitgate check`` would exit with;
    ``fitness.report.FORMATS["text"](run)`` makes a readable assertion message.
    """

    def run(database_url: str | None = None, only: Sequence[str] | None = None) -> CheckRun:
        target = (
            DatabaseTarget(database_url, describe_url(database_url), installed_by_fitgate=False)
            if database_url
            else None
        )
        context = CheckContext(fitgate_config, target, "no database was given to fitgate_check")
        return check(context, list(only) if only else registry.default_ids())

    return run
