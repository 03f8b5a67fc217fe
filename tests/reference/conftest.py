"""Fixtures for the reference platform's tests: an installed database, service processes, tokens.

``platform_database`` is one copy of the installed platform shared by the whole
session (tests that change data make their own tenants, so they never collide);
``platform_services("directory")`` starts a service once per session as a real
uvicorn process on it; ``tokens`` mints access tokens from the installed key.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from uuid import UUID

import httpx
import psycopg
import pytest

from fitness.config import Config
from fitness.pytest_plugin import DatabaseFactory
from fitness.serving import RunningService, running_services
from reference.platform.test_tokens import mint_test_access_token
from tests.reference.auth_flows import Authenticators

ADMIN_TOKEN = secrets.token_urlsafe(24)


@pytest.fixture(scope="session")
def platform_database(fitgate_databases: DatabaseFactory, fitgate_installed_template: str) -> str:
    """Superuser URL of an installed platform shared by the session (dropped at its end)."""
    return fitgate_databases.clone(fitgate_installed_template)


@pytest.fixture(scope="session")
def platform_services(
    fitgate_config: Config, platform_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], RunningService]]:
    """``platform_services(name)``: the service running as its own process (started on first use)."""
    logs = tmp_path_factory.mktemp("service-logs")
    started: dict[str, RunningService] = {}
    with contextlib.ExitStack() as stack:

        def service(name: str) -> RunningService:
            if name not in started:
                running = stack.enter_context(
                    running_services(
                        fitgate_config, [name], platform_database, admin_token=ADMIN_TOKEN, log_dir=logs
                    )
                )
                started[name] = running[name]
            return started[name]

        yield service


class Tokens:
    """Access tokens for the installed platform."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def user(self, tenant_id: UUID, roles: Sequence[str] = (), user_id: UUID | str | None = None) -> str:
        subject = user_id if user_id is not None else f"test-user-{secrets.token_hex(4)}"
        return mint_test_access_token(self.database_url, tenant_id=tenant_id, user_id=subject, roles=roles)

    @staticmethod
    def admin() -> str:
        return ADMIN_TOKEN


@pytest.fixture(scope="session")
def tokens(platform_database: str) -> Tokens:
    return Tokens(platform_database)


def bearer(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


@pytest.fixture(scope="session")
def superuser(platform_database: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """An autocommit superuser connection to the shared platform database (sees every tenant)."""
    with psycopg.connect(platform_database, autocommit=True, options="-c TimeZone=UTC") as connection:
        yield connection


def log_of(service: RunningService) -> str:
    return Path(service.log_path).read_text() if service.log_path else ""


class TenantCaller:
    """A fresh tenant made through the admin API, with an admin and a plain reader token."""

    def __init__(self, tenant_id: UUID, tokens: Tokens) -> None:
        self.id = tenant_id
        self.admin_user = f"admin-of-{tenant_id}"
        self.admin = bearer(tokens.user(tenant_id, ["admin"], self.admin_user))
        self.reader = bearer(tokens.user(tenant_id, ["clinician"]))


@pytest.fixture(scope="session")
def directory(platform_services: Callable[[str], RunningService]) -> Iterator[httpx.Client]:
    """An HTTP client of the directory service process."""
    with httpx.Client(base_url=platform_services("directory").url, timeout=10) as client:
        yield client


@pytest.fixture(scope="session")
def licenses(platform_services: Callable[[str], RunningService]) -> Iterator[httpx.Client]:
    """An HTTP client of the license service process."""
    with httpx.Client(base_url=platform_services("license").url, timeout=10) as client:
        yield client


@pytest.fixture
def new_tenant(directory: httpx.Client, tokens: Tokens) -> Callable[[], TenantCaller]:
    """``new_tenant()``: a tenant of its own for the test, created through POST /v1/admin/tenants."""

    def make() -> TenantCaller:
        response = directory.post(
            "/v1/admin/tenants", json={"name": "test tenant"}, headers=bearer(tokens.admin())
        )
        assert response.status_code == 201, response.text
        return TenantCaller(UUID(response.json()["id"]), tokens)

    return make


@pytest.fixture(scope="session")
def device(platform_services: Callable[[str], RunningService]) -> Iterator[httpx.Client]:
    """An HTTP client of the device service process."""
    with httpx.Client(base_url=platform_services("device").url, timeout=10) as client:
        yield client


@pytest.fixture(scope="session")
def auth(platform_services: Callable[[str], RunningService]) -> Iterator[httpx.Client]:
    """An HTTP client of the auth service process."""
    with httpx.Client(base_url=platform_services("auth").url, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def authenticators() -> Authenticators:
    """The TOTP codes of every test user, never replaying a time step."""
    return Authenticators()
