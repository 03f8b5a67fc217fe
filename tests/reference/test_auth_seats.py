"""The ``seats`` claim: the licenses where the user holds an assigned seat, read from license's table.

Auth reads ``license.seat_assignments`` directly (the published contract:
tenant_id, id, license_id, user_id, status 'assigned' or 'released',
assigned_at, released_at, version), at every login and every refresh. These
tests need the license service's migrations (they create the table and grant
auth SELECT on it), so they are skipped until the license service is merged.
Seat rows are changed here with plain SQL on a database of this module's own,
so the contract, not license's API, is what is tested.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from fitness.config import Config
from fitness.pytest_plugin import DatabaseFactory
from fitness.serving import running_services
from reference.platform.seeding import SEED_CREDENTIALS, TENANT_A, seed_credential
from tests.reference.auth_flows import Authenticators, logged_in
from tests.reference.conftest import ADMIN_TOKEN, bearer

LICENSE_MIGRATIONS = Path(__file__).resolve().parents[2] / "reference" / "license" / "migrations"
pytestmark = pytest.mark.skipif(
    not LICENSE_MIGRATIONS.is_dir(),
    reason="license.seat_assignments comes with the license service's migrations (not merged yet)",
)

ASSIGNED_SEATS = (
    "SELECT coalesce(array_agg(s.license_id::text ORDER BY s.license_id), '{}') "
    "FROM license.seat_assignments s "
    "JOIN directory.users u ON u.tenant_id = s.tenant_id AND u.id = s.user_id "
    "WHERE s.tenant_id = %s AND u.username = %s AND s.status = 'assigned'"
)
USER_ID = "SELECT id FROM directory.users WHERE tenant_id = %s AND username = %s"
A_LICENSE = "SELECT id FROM license.licenses WHERE tenant_id = %s ORDER BY id LIMIT 1"
ASSIGN = (
    "INSERT INTO license.seat_assignments (tenant_id, id, license_id, user_id, status, assigned_at, version) "
    "VALUES (%s, gen_random_uuid(), %s, %s, 'assigned', now(), 1)"
)
RELEASE = (
    "UPDATE license.seat_assignments SET status = 'released', released_at = now(), version = version + 1 "
    "WHERE tenant_id = %s AND license_id = %s AND user_id = %s AND status = 'assigned'"
)


@pytest.fixture(scope="module")
def seats_database(fitgate_databases: DatabaseFactory, fitgate_installed_template: str) -> Iterator[str]:
    url = fitgate_databases.clone(fitgate_installed_template)
    yield url
    fitgate_databases.drop(url)


@pytest.fixture(scope="module")
def seats_auth(
    fitgate_config: Config, seats_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    logs = tmp_path_factory.mktemp("seats-logs")
    with (
        running_services(
            fitgate_config, ["auth"], seats_database, admin_token=ADMIN_TOKEN, log_dir=logs
        ) as running,
        httpx.Client(base_url=running["auth"].url, timeout=30) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def codes() -> Authenticators:
    """TOTP codes for this module's database (its credentials spend their time steps here only)."""
    return Authenticators()


def claims_of(auth: httpx.Client, access_token: str) -> dict[str, Any]:
    answer = auth.post("/v1/token/introspect", data={"token": access_token}, headers=bearer(ADMIN_TOKEN))
    assert answer.json()["active"] is True
    return dict(answer.json())


def test_every_seed_user_gets_the_seats_license_assigns_them(
    seats_auth: httpx.Client, seats_database: str, codes: Authenticators
) -> None:
    held: set[str] = set()
    with psycopg.connect(seats_database) as superuser:
        for seeded in SEED_CREDENTIALS:
            row = superuser.execute(ASSIGNED_SEATS, (seeded.tenant.id, seeded.username)).fetchone()
            assert row is not None
            claims = claims_of(seats_auth, logged_in(seats_auth, codes, seeded)["access_token"])
            assert claims["seats"] == row[0], seeded.username
            held.update(row[0])
    assert held, "license's seed assigns seats to some seed users: the claim was never exercised"


def test_seats_follow_assignments_at_every_refresh(
    seats_auth: httpx.Client, seats_database: str, codes: Authenticators
) -> None:
    carol = seed_credential(TENANT_A, "carol")
    with psycopg.connect(seats_database, autocommit=True) as superuser:
        user_id = superuser.execute(USER_ID, (TENANT_A.id, "carol")).fetchone()[0]  # type: ignore[index]
        license_id = superuser.execute(A_LICENSE, (TENANT_A.id,)).fetchone()[0]  # type: ignore[index]
        superuser.execute(RELEASE, (TENANT_A.id, license_id, user_id))
        session = logged_in(seats_auth, codes, carol)
        assert claims_of(seats_auth, session["access_token"])["seats"] == []
        superuser.execute(ASSIGN, (TENANT_A.id, license_id, user_id))
        refreshed = seats_auth.post(
            "/v1/token/refresh", json={"refresh_token": session["refresh_token"]}
        ).json()
        assert claims_of(seats_auth, refreshed["access_token"])["seats"] == [str(license_id)]
        superuser.execute(RELEASE, (TENANT_A.id, license_id, user_id))
        released = seats_auth.post(
            "/v1/token/refresh", json={"refresh_token": refreshed["refresh_token"]}
        ).json()
        assert claims_of(seats_auth, released["access_token"])["seats"] == []
