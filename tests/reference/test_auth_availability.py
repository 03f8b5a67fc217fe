"""Auth keeps working while the services it depends on are down, and its state outlives its process.

The availability story of the platform (ADR: service-based architecture): auth
reads directory's users and roles, and license's seats, directly from the
database, so with the directory process stopped (and license and device not
running at all) logins, refreshes and introspection keep succeeding. A lockout
is a database row, so it holds across a restart of auth; lifetimes and lockout
windows come from the policy in the environment.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fitness.config import Config
from fitness.pytest_plugin import DatabaseFactory
from fitness.serving import RunningService, ServiceStartError, running_services
from fitness.serving.processes import stop_services
from reference.platform.seeding import TENANT_A, TENANT_B, seed_credential
from tests.reference.auth_flows import Authenticators, logged_in, login
from tests.reference.conftest import ADMIN_TOKEN, bearer
from tests.reference.test_directory_api import assert_error


@pytest.fixture(scope="module")
def own_database(fitgate_databases: DatabaseFactory, fitgate_installed_template: str) -> Iterator[str]:
    """An installed platform of this module's own: it stops and restarts services at will."""
    url = fitgate_databases.clone(fitgate_installed_template)
    yield url
    fitgate_databases.drop(url)


def test_login_refresh_and_introspection_survive_a_directory_outage(
    fitgate_config: Config, own_database: str, tmp_path: Path
) -> None:
    authenticators = Authenticators()
    alice, dave = seed_credential(TENANT_A, "alice"), seed_credential(TENANT_B, "dave")
    with running_services(
        fitgate_config, ["auth", "directory"], own_database, admin_token=ADMIN_TOKEN, log_dir=tmp_path
    ) as services:
        auth = httpx.Client(base_url=services["auth"].url, timeout=30)
        directory = httpx.Client(base_url=services["directory"].url, timeout=5)
        with auth, directory:
            before = logged_in(auth, authenticators, alice)
            assert directory.get("/v1/users", headers=bearer(before["access_token"])).status_code == 200

            stop_services([services["directory"]])
            assert services["directory"].process.poll() is not None
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"{services['directory'].url}/healthz", timeout=5)  # a new connection: refused

            during = logged_in(auth, authenticators, dave)
            assert during["status"] == "authenticated"
            refreshed = auth.post("/v1/token/refresh", json={"refresh_token": before["refresh_token"]})
            assert refreshed.status_code == 200, refreshed.text
            for token in (before["access_token"], during["access_token"], refreshed.json()["access_token"]):
                answer = auth.post("/v1/token/introspect", data={"token": token}, headers=bearer(ADMIN_TOKEN))
                assert answer.json()["active"] is True
            assert answer.json()["roles"] == ["admin", "clinician"], (
                "roles still come from directory's tables"
            )
            assert auth.get("/.well-known/jwks.json").status_code == 200
            assert auth.get("/readyz").status_code == 200
            logout = auth.post("/v1/logout", json={"refresh_token": during["refresh_token"]})
            assert logout.status_code == 204


def test_a_lockout_survives_a_restart_and_lifetimes_follow_the_policy(
    fitgate_config: Config, own_database: str, tmp_path: Path
) -> None:
    authenticators = Authenticators()
    carol, bob = seed_credential(TENANT_A, "carol"), seed_credential(TENANT_A, "bob")
    policy = {
        "FITGATE_AUTH_LOCKOUT_THRESHOLD": "2",
        "FITGATE_AUTH_LOCKOUT_SECONDS": "12",
        "FITGATE_AUTH_REFRESH_IDLE_SECONDS": "3",
        "FITGATE_AUTH_SESSION_SECONDS": "12",
    }
    wrong = {"tenant_id": str(TENANT_A.id), "username": "carol", "password": "not carol's password"}

    def serve() -> contextlib.AbstractContextManager[dict[str, RunningService]]:
        return running_services(
            fitgate_config,
            ["auth"],
            own_database,
            admin_token=ADMIN_TOKEN,
            log_dir=tmp_path,
            environment=policy,
        )

    with serve() as services, httpx.Client(base_url=services["auth"].url, timeout=30) as auth:
        for _ in range(2):
            assert_error(auth.post("/v1/login", json=wrong), 401, "unauthenticated")
        locked_at = time.monotonic()
        assert_error(login(auth, authenticators, carol), 401, "credential_locked")
    with serve() as services, httpx.Client(base_url=services["auth"].url, timeout=30) as auth:
        locked = login(auth, authenticators, carol)
        assert time.monotonic() < locked_at + 12, "restarting auth took longer than the lock lasts"
        assert_error(locked, 401, "credential_locked")
        assert 0 < int(locked.headers["retry-after"]) <= 12
        idle = logged_in(auth, authenticators, bob)
        # Refreshed every 2 seconds (within the 3-second idle limit), until past the 12-second lifetime.
        session = logged_in(auth, authenticators, bob)
        started = time.monotonic()
        refresh_token, access_token = session["refresh_token"], session["access_token"]
        while True:
            time.sleep(2)
            response = auth.post("/v1/token/refresh", json={"refresh_token": refresh_token})
            elapsed = time.monotonic() - started
            if response.status_code != 200:
                break
            assert elapsed < 12.5, "a refresh extended the session past its lifetime"
            refresh_token, access_token = response.json()["refresh_token"], response.json()["access_token"]
        assert_error(response, 401, "unauthenticated")
        assert elapsed > 11.5, f"the session ended after {elapsed:.1f} s, before its lifetime"
        answer = auth.post("/v1/token/introspect", data={"token": access_token}, headers=bearer(ADMIN_TOKEN))
        assert answer.json() == {"active": False}, "an expired session's access tokens are inactive"
        unused = auth.post("/v1/token/refresh", json={"refresh_token": idle["refresh_token"]})
        assert_error(unused, 401, "unauthenticated")
        assert time.monotonic() > locked_at + 12
        assert logged_in(auth, authenticators, carol)["status"] == "authenticated", "the lock has ended"


def test_a_bad_policy_setting_stops_auth_at_start_naming_the_variable(
    fitgate_config: Config, own_database: str, tmp_path: Path
) -> None:
    with (
        pytest.raises(ServiceStartError, match="auth exited"),
        running_services(
            fitgate_config,
            ["auth"],
            own_database,
            admin_token=ADMIN_TOKEN,
            log_dir=tmp_path,
            environment={"FITGATE_AUTH_LOCKOUT_THRESHOLD": "five"},
        ),
    ):
        pass
    assert "FITGATE_AUTH_LOCKOUT_THRESHOLD: 'five' is not an integer" in (tmp_path / "auth.log").read_text()
