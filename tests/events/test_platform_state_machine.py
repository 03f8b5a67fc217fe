"""Property-based proof of the event contract on the running reference platform.

A Hypothesis state machine drives random sequences of real API calls across the
four services (directory, license, device, auth), in both seed tenants, against
real service processes on a fresh copy of the installed reference. After every
step, event-completeness (the fitness function itself, on the database) holds,
and every aggregate the step changed is recorded as the API reports it, with
the database's clock. At the end of every sequence, the point-in-time state of
every recorded aggregate at every step's time is what was recorded then: through
the service schema's SQL function (as the service role, under the tenant policy)
at every step's time, and through ``fitgate events state-at`` at the time of
every recording.

Which aggregates a step changed is read from the event tables (the latest
version of every aggregate, before and after), not assumed from the call: a
side effect the test did not foresee is recorded too, and a change without an
event is event-completeness's to catch.

``FITGATE_HYPOTHESIS_PROFILE=thorough`` runs more and longer sequences.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import os
import re
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from psycopg import sql

from fitness.cli import main
from fitness.config import Config
from fitness.engine import CheckContext, Status
from fitness.engine.context import DatabaseTarget
from fitness.engine.runner import run_one
from fitness.pytest_plugin import DatabaseFactory
from fitness.serving import running_services
from reference.auth.policy import AuthPolicy
from reference.device.seed import SEED_DEVICES, seed_device_id
from reference.directory.seed import SEED_ROLES, seed_user_id
from reference.license.seed import CLINIC_PLAN, PHARMACY_PLAN
from reference.platform import totp
from reference.platform.seeding import SEED_CREDENTIALS, TENANT_A, TENANT_B, SeedTenant
from reference.platform.test_tokens import mint_test_access_token

pytestmark = pytest.mark.slow

PROFILES: dict[str, dict[str, Any]] = {
    # CI: about a minute and a half on a loaded 2-core machine
    "ci": {"max_examples": 15, "stateful_step_count": 20},
    "thorough": {"max_examples": 100, "stateful_step_count": 40},
}
TENANTS = (TENANT_A, TENANT_B)
ADMINS = {TENANT_A: "alice", TENANT_B: "dave"}  # seed users with the admin role
PASSWORD = "tall-cedar-window-seven"
WRONG_PASSWORD = "not-the-password-at-all"
LOCKOUT_THRESHOLD = AuthPolicy.from_environment().lockout_threshold  # as the services read it
ADMIN_TOKEN = secrets.token_urlsafe(24)
EXTRA_LOGIN_USERS = 2  # per tenant, beside the seed users
LOGINS_PER_SEQUENCE = 3  # Hypothesis likes a rule without arguments: this bounds the TOTP steps used
# Keys an API reports that are not columns of the aggregate's row (computed, or shown once).
DERIVED_KEYS = {
    "License": {"seats_assigned"},
    "Certificate": {"private_key_pem"},
    "RoleAssignment": {"role_name"},
}
LATEST_VERSIONS = (
    "SELECT DISTINCT ON (kind, aggregate_id) kind, aggregate_id, tenant_id, version, state"
    " FROM {events} ORDER BY kind, aggregate_id, version DESC"
)
STATE_AT = "SELECT state FROM {function}(%s, %s, %s)"
HISTORY = "SELECT version, state FROM {function}(%s, %s)"
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _profile() -> settings:
    name = os.environ.get("FITGATE_HYPOTHESIS_PROFILE", "ci")
    if name not in PROFILES:
        raise pytest.UsageError(f"FITGATE_HYPOTHESIS_PROFILE={name}: expected one of {', '.join(PROFILES)}")
    return settings(
        **PROFILES[name],
        deadline=None,
        database=None,  # every run draws new sequences; a failure prints its steps
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


@dataclass(frozen=True)
class Aggregate:
    """One aggregate, where its events live."""

    schema: str
    kind: str
    id: UUID
    tenant: UUID


@dataclass(frozen=True)
class Recording:
    at: datetime.datetime  # the database's clock after the step
    state: Mapping[str, Any]  # as the API reported it


@dataclass
class UserModel:
    """What the test knows of a user it created."""

    tenant: SeedTenant
    username: str
    active: bool = True
    credential: bool = False
    secret: str | None = None  # a confirmed TOTP factor
    failures: int = 0  # failed logins in the open window
    locked: bool = False


@dataclass(frozen=True)
class LoginUser:
    tenant: SeedTenant
    user: UUID
    username: str
    password: str
    secret: str


@dataclass
class SessionModel:
    tenant: SeedTenant
    user: UUID
    token: str
    spent: list[str] = field(default_factory=list)  # refresh tokens rotated away


SEED_LOGINS = [
    LoginUser(c.tenant, seed_user_id(c.tenant, c.username), c.username, c.password, c.totp_secret)
    for c in SEED_CREDENTIALS
]


@dataclass
class SecondFactors:
    """TOTP codes of every user the test logs in, each time step used once.

    Only the current and the next step are used: the previous one may leave the
    server's window (one step either way) while the request travels. When both
    are spent, the code waits for the next step (at most 30 s, and rarely: a
    sequence logs in a few times, spread over the seed users and those it enrolls),
    so that what a sequence does never depends on the clock.
    """

    last_step: dict[str, int] = field(default_factory=dict)

    def soonest(self, secrets_: list[str]) -> int:
        """Which of ``secrets_`` has a usable code soonest (the first of those that have one now)."""
        return min(range(len(secrets_)), key=lambda i: self.last_step.get(secrets_[i], 0))

    def code(self, secret: str) -> str:
        while True:
            current = totp.time_step()
            step = max(self.last_step.get(secret, 0) + 1, current)
            if step <= current + 1:
                self.last_step[secret] = step
                return totp.code_at_step(secret, step)
            time.sleep(max(0.05, (step - 1) * totp.STEP_S - time.time()))


class Platform:
    """The running services, their database and what the seed put in both tenants."""

    def __init__(self, config: Config, url: str, urls: Mapping[str, str]) -> None:
        self.config = config
        self.url = url
        self.http = {name: httpx.Client(base_url=base, timeout=30) for name, base in urls.items()}
        self.db = psycopg.connect(url, autocommit=True)
        self.second_factors = SecondFactors()
        self.role_of_schema = {s.schema: s.role for s in config.services.values()}
        self.schema_of_kind = {kind: table.split(".")[0] for table, kind in config.events.aggregates.items()}
        self.admin_headers = {
            tenant: {
                "Authorization": "Bearer "
                + mint_test_access_token(
                    url,
                    tenant_id=tenant.id,
                    user_id=seed_user_id(tenant, ADMINS[tenant]),
                    roles=["admin"],
                    ttl_s=6 * 3600,
                )
            }
            for tenant in TENANTS
        }
        self.roles = {tenant: self._role_ids(tenant) for tenant in TENANTS}
        self.seed_devices = {
            tenant: [
                seed_device_id(tenant, d.serial_number)
                for d in SEED_DEVICES[tenant]
                if d.decommission_reason is None
            ]
            for tenant in TENANTS
        }

        # Users enough to log in without waiting for TOTP steps (each secret takes two logins
        # at once, then one every 30 s): the seed users and a few more, made through the API.
        self.logins = list(SEED_LOGINS)
        for tenant in TENANTS:
            for _ in range(EXTRA_LOGIN_USERS):
                self.logins.append(self._login_user(tenant))

    def _login_user(self, tenant: SeedTenant) -> LoginUser:
        name = f"login-{secrets.token_hex(5)}"
        body = {"username": name, "display_name": name, "email": f"{name}@x.example"}
        created = self.http["directory"].post("/v1/users", json=body, headers=self.admin_headers[tenant])
        assert created.status_code == 201, created.text
        user = UUID(created.json()["id"])
        path = f"/v1/users/{user}/password"
        password = self.http["auth"].put(
            path, json={"password": PASSWORD}, headers=self.admin_headers[tenant]
        )
        assert password.status_code == 201, password.text
        return LoginUser(tenant, user, name, PASSWORD, self.enrol(tenant, name)[0])

    def enrol(self, tenant: SeedTenant, username: str) -> tuple[str, httpx.Response]:
        """A first login with the password alone, then a TOTP factor enrolled and confirmed:
        the secret, and the confirmation's response."""
        auth = self.http["auth"]
        body = {"tenant_id": str(tenant.id), "username": username, "password": PASSWORD}
        first = auth.post("/v1/login", json=body)
        assert first.status_code == 200 and first.json()["status"] == "second_factor_enrolment_required", (
            first.text
        )
        enrolment = {"Authorization": f"Bearer {first.json()['enrolment_token']}"}
        enrolled = auth.post("/v1/me/second-factor", headers=enrolment)
        assert enrolled.status_code == 201, enrolled.text
        secret = str(enrolled.json()["secret"])
        code = self.second_factors.code(secret)
        return secret, auth.post("/v1/me/second-factor/confirmation", json={"code": code}, headers=enrolment)

    def platform_admin(self, tenant: SeedTenant) -> dict[str, str]:
        return {"Authorization": f"Bearer {ADMIN_TOKEN}", "X-Tenant-ID": str(tenant.id)}

    def _role_ids(self, tenant: SeedTenant) -> list[UUID]:
        found = self.http["directory"].get("/v1/roles", headers=self.admin_headers[tenant])
        assert found.status_code == 200, found.text
        ids = [UUID(r["id"]) for r in found.json()["items"] if r["name"] in SEED_ROLES[tenant]]
        assert len(ids) == len(SEED_ROLES[tenant])
        return ids

    def latest_versions(self) -> dict[Aggregate, tuple[int, Mapping[str, Any]]]:
        """Every aggregate's latest version and state, from the event tables."""
        found: dict[Aggregate, tuple[int, Mapping[str, Any]]] = {}
        for schema in sorted(set(self.schema_of_kind.values())):
            query = sql.SQL(LATEST_VERSIONS).format(events=sql.Identifier(schema, self.config.events.table))
            for kind, aggregate_id, tenant, version, state in self.db.execute(query):
                found[Aggregate(schema, kind, aggregate_id, tenant)] = (int(version), state)
        return found

    def event_violations(self) -> set[tuple[str, str]]:
        """What event-completeness, the fitness function itself, finds now: (subject, message)."""
        result = run_one(
            CheckContext(self.config, DatabaseTarget(self.url, "test", False)), "event-completeness"
        )
        assert result.status in (Status.PASS, Status.FAIL), (result.status, result.reason)
        return {(v.subject, v.message) for v in result.violations}

    def clock(self) -> datetime.datetime:
        row = self.db.execute("SELECT clock_timestamp()").fetchone()
        assert row is not None
        return row[0]  # type: ignore[no-any-return]

    def state_at_in_sql(self, aggregate: Aggregate, at: datetime.datetime) -> Mapping[str, Any] | None:
        """The schema's aggregate_state_at, called as the service role with the tenant set."""
        rows = self._as_service(aggregate, STATE_AT, "aggregate_state_at", (aggregate.kind, aggregate.id, at))
        return rows[0][0] if rows else None

    def history_in_sql(self, aggregate: Aggregate) -> dict[int, Mapping[str, Any]]:
        """The schema's aggregate_history (version -> state), as the service role."""
        rows = self._as_service(aggregate, HISTORY, "aggregate_history", (aggregate.kind, aggregate.id))
        return {int(version): state for version, state in rows}

    def _as_service(
        self, aggregate: Aggregate, query: str, function: str, parameters: tuple[Any, ...]
    ) -> list[tuple[Any, ...]]:
        role = sql.Identifier(self.role_of_schema[aggregate.schema])
        with self.db.transaction():
            self.db.execute(sql.SQL("SET LOCAL ROLE {}").format(role))
            self.db.execute("SELECT set_config('app.tenant_id', %s, true)", (str(aggregate.tenant),))
            statement = sql.SQL(query).format(function=sql.Identifier(aggregate.schema, function))
            return self.db.execute(statement, parameters).fetchall()

    def state_at_by_cli(self, aggregate: Aggregate, at: datetime.datetime) -> Mapping[str, Any] | None:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(
                [
                    "events",
                    "state-at",
                    "--config",
                    str(self.config.path),
                    "--database-url",
                    self.url,
                    "--kind",
                    aggregate.kind,
                    "--id",
                    str(aggregate.id),
                    "--at",
                    at.isoformat(),
                    "--format",
                    "json",
                ]
            )
        assert code in (0, 1), out.getvalue()
        found = json.loads(out.getvalue())
        return found["state"]  # type: ignore[no-any-return]

    def read_back(self, aggregate: Aggregate, stored: Mapping[str, Any]) -> Mapping[str, Any]:
        """The aggregate as its service's API reports it now."""
        tenant = next(t for t in TENANTS if t.id == aggregate.tenant)
        headers = self.admin_headers[tenant]
        service, path = _address(aggregate, stored)
        response = self.http[service].get(path, headers=headers)
        assert response.status_code == 200, (aggregate, response.text)
        body = response.json()
        if aggregate.kind == "RoleAssignment":  # listed among the user's active roles
            matching = [item for item in body if item["id"] == str(aggregate.id)]
            assert matching, f"{aggregate} changed but {path} does not list it"
            return matching[0]  # type: ignore[no-any-return]
        return body  # type: ignore[no-any-return]

    def close(self) -> None:
        for client in self.http.values():
            client.close()
        self.db.close()


def _address(aggregate: Aggregate, stored: Mapping[str, Any]) -> tuple[str, str]:
    """Which service answers GET for this aggregate, and the path."""
    i = aggregate.id
    paths: dict[str, Callable[[], tuple[str, str]]] = {
        "Tenant": lambda: ("directory", "/v1/tenant"),
        "User": lambda: ("directory", f"/v1/users/{i}"),
        "Role": lambda: ("directory", f"/v1/roles/{i}"),
        "RoleAssignment": lambda: ("directory", f"/v1/users/{stored['user_id']}/roles"),
        "Credential": lambda: ("auth", f"/v1/users/{stored['user_id']}/credential"),
        "Session": lambda: ("auth", f"/v1/sessions/{i}"),
        "License": lambda: ("license", f"/v1/licenses/{i}"),
        "SeatAssignment": lambda: ("license", f"/v1/licenses/{stored['license_id']}/seats/{i}"),
        "Device": lambda: ("device", f"/v1/devices/{i}"),
        "Certificate": lambda: ("device", f"/v1/certificates/{i}"),
        "CertificateAuthority": lambda: ("device", "/v1/ca"),
    }
    return paths[aggregate.kind]()


def _value(value: Any) -> Any:
    """A JSON value compared by meaning: times as instants (the API writes Z, jsonb +00:00)."""
    if isinstance(value, str) and _ISO_TIME.match(value):
        with contextlib.suppress(ValueError):
            return datetime.datetime.fromisoformat(value)
    return value


def differences(kind: str, reported: Mapping[str, Any], stored: Mapping[str, Any] | None) -> list[str]:
    """The keys in which a state the API reported and a stored state disagree."""
    if stored is None:
        return ["(no state)"]
    keys = set(reported) - DERIVED_KEYS.get(kind, set())
    return sorted(k for k in keys if k not in stored or _value(reported[k]) != _value(stored[k]))


@pytest.fixture(scope="module")
def platform(
    fitgate_config: Config,
    fitgate_databases: DatabaseFactory,
    fitgate_installed_template: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Platform]:
    url = fitgate_databases.clone(fitgate_installed_template)
    logs = tmp_path_factory.mktemp("state-machine-logs")
    names = ["directory", "auth", "license", "device"]
    try:
        with running_services(fitgate_config, names, url, admin_token=ADMIN_TOKEN, log_dir=logs) as running:
            world = Platform(fitgate_config, url, {name: running[name].url for name in names})
            assert world.event_violations() == set(), "the installed reference must start clean"
            try:
                yield world
            finally:
                world.close()
    finally:
        fitgate_databases.drop(url)


class PlatformMachine(RuleBasedStateMachine):
    """Random API calls; the event log must keep every state the API reported, in time.

    The test keeps a model of what it created (users, roles, seats, certificates,
    sessions) so that it knows each call's answer in advance, and so that which
    rules can run depends only on earlier draws, never on the database's past runs.
    """

    platform: Platform  # set by the test

    def __init__(self) -> None:
        super().__init__()
        world = self.platform
        self.known = world.latest_versions()
        self.violations_before = world.event_violations()
        self.recordings: dict[Aggregate, list[Recording]] = {}
        self.created: set[Aggregate] = set()
        self.step_times = [world.clock()]
        self.users: dict[UUID, UserModel] = {}
        self.assignments: dict[tuple[UUID, UUID], bool] = {}  # (user, role) -> active
        self.licenses: dict[SeedTenant, tuple[UUID, int]] = {}  # a license of this run, its seats
        self.seats: dict[UUID, tuple[SeedTenant, UUID, UUID]] = {}  # held seat -> tenant, license, user
        self.devices = {tenant: list(world.seed_devices[tenant]) for tenant in TENANTS}
        self.certificates: list[tuple[SeedTenant, UUID]] = []  # active
        self.sessions: dict[UUID, SessionModel] = {}
        self.logins = 0

    # Observing a step

    def observe(self, reported: Mapping[UUID, Mapping[str, Any]] | None = None) -> None:
        """Record every aggregate whose events changed in this step, as the API reports it."""
        world = self.platform
        reported = reported or {}
        latest = world.latest_versions()
        at = world.clock()
        for aggregate, (version, stored) in latest.items():
            if self.known.get(aggregate, (0, None))[0] == version:
                continue
            if aggregate not in self.known:
                self.created.add(aggregate)
            state = reported.get(aggregate.id) or world.read_back(aggregate, stored)
            assert state["version"] == version, (
                f"{aggregate}: the API reports version {state['version']}, its latest event is {version}"
            )
            self.recordings.setdefault(aggregate, []).append(Recording(at, state))
        self.known = latest
        self.step_times.append(at)

    def expect(self, response: httpx.Response, status: int, error: str | None = None) -> Any:
        what = (response.request.method, str(response.request.url), response.text)
        assert response.status_code == status, what
        body = response.json() if response.content else None
        if error is not None:
            assert body["error"] == error, what
        return body

    @staticmethod
    def states(*bodies: Mapping[str, Any]) -> dict[UUID, Mapping[str, Any]]:
        return {UUID(body["id"]): body for body in bodies}

    def call(
        self, service: str, method: str, path: str, tenant: SeedTenant | None, **kwargs: Any
    ) -> httpx.Response:
        headers = self.platform.admin_headers[tenant] if tenant is not None else {}
        return self.platform.http[service].request(method, path, headers=headers, **kwargs)

    def _of(self, predicate: Callable[[UserModel], bool]) -> list[UUID]:
        return [user for user, model in self.users.items() if predicate(model)]

    def _login_pool(self) -> list[LoginUser]:
        created = [
            LoginUser(m.tenant, user, m.username, PASSWORD, m.secret)
            for user, m in self.users.items()
            if m.active and m.secret is not None and not m.locked
        ]
        return self.platform.logins + created

    # Licenses of this run: their seats are the test's to count

    @initialize(seats=st.integers(min_value=1, max_value=3))
    def grant_licenses(self, seats: int) -> None:
        valid_until = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=30)).isoformat()
        granted = []
        for tenant, plan in ((TENANT_A, CLINIC_PLAN), (TENANT_B, PHARMACY_PLAN)):
            body = {"plan_id": str(plan), "seats": seats, "valid_until": valid_until}
            response = self.platform.http["license"].post(
                "/v1/licenses", json=body, headers=self.platform.platform_admin(tenant)
            )
            license = self.expect(response, 201)
            self.licenses[tenant] = (UUID(license["id"]), seats)
            granted.append(license)
        self.observe(self.states(*granted))

    # Directory

    @rule(tenant=st.sampled_from(TENANTS))
    def create_user(self, tenant: SeedTenant) -> None:
        name = f"u-{secrets.token_hex(6)}"
        body = {"username": name, "display_name": name.title(), "email": f"{name}@x.example"}
        created = self.expect(self.call("directory", "POST", "/v1/users", tenant, json=body), 201)
        self.users[UUID(created["id"])] = UserModel(tenant, name)
        self.observe(self.states(created))

    @precondition(lambda self: self.users)
    @rule(data=st.data())
    def rename_user(self, data: st.DataObject) -> None:
        user = data.draw(st.sampled_from(list(self.users)))
        model = self.users[user]
        name = f"r-{secrets.token_hex(6)}"
        path = f"/v1/users/{user}/username"
        renamed = self.expect(self.call("directory", "PUT", path, model.tenant, json={"username": name}), 200)
        model.username = name
        self.observe(self.states(renamed))

    @precondition(lambda self: self._of(lambda m: m.active))
    @rule(data=st.data())
    def deactivate_user(self, data: st.DataObject) -> None:
        user = data.draw(st.sampled_from(self._of(lambda m: m.active)))
        model = self.users[user]
        path = f"/v1/users/{user}/deactivate"
        done = self.expect(self.call("directory", "POST", path, model.tenant, json={"reason": "left"}), 200)
        model.active = False
        self.observe(self.states(done))

    @precondition(lambda self: self._of(lambda m: m.active))
    @rule(data=st.data())
    def assign_role(self, data: st.DataObject) -> None:
        user = data.draw(st.sampled_from(self._of(lambda m: m.active)))
        tenant = self.users[user].tenant
        role = data.draw(st.sampled_from(self.platform.roles[tenant]))
        response = self.call(
            "directory", "POST", f"/v1/users/{user}/roles", tenant, json={"role_id": str(role)}
        )
        if self.assignments.get((user, role)):
            self.expect(response, 409, "conflict")
            self.observe()
            return
        assigned = self.expect(response, 200 if (user, role) in self.assignments else 201)
        self.assignments[(user, role)] = True
        self.observe(self.states(assigned))

    @precondition(lambda self: any(self.assignments.values()))
    @rule(data=st.data())
    def revoke_role(self, data: st.DataObject) -> None:
        user, role = data.draw(st.sampled_from([key for key, active in self.assignments.items() if active]))
        path = f"/v1/users/{user}/roles/{role}"
        revoked = self.expect(self.call("directory", "DELETE", path, self.users[user].tenant), 200)
        self.assignments[(user, role)] = False
        self.observe(self.states(revoked))

    # License

    def _held(self, license_id: UUID) -> int:
        return sum(1 for _tenant, held, _user in self.seats.values() if held == license_id)

    def _seatless(self) -> list[UUID]:
        holders = {(tenant, user) for tenant, _license, user in self.seats.values()}
        return (
            self._of(lambda m: m.active)
            if not holders
            else [u for u in self._of(lambda m: m.active) if (self.users[u].tenant, u) not in holders]
        )

    @precondition(lambda self: self._seatless())
    @rule(data=st.data())
    def assign_seat(self, data: st.DataObject) -> None:
        user = data.draw(st.sampled_from(self._seatless()))
        tenant = self.users[user].tenant
        license_id, seats = self.licenses[tenant]
        path = f"/v1/licenses/{license_id}/seats"
        response = self.call("license", "POST", path, tenant, json={"user_id": str(user)})
        if self._held(license_id) >= seats:
            self.expect(response, 409, "seats_exhausted")
            self.observe()
            return
        seat = self.expect(response, 201)
        self.seats[UUID(seat["id"])] = (tenant, license_id, user)
        self.observe(self.states(seat))

    @precondition(lambda self: self.seats)
    @rule(data=st.data())
    def release_seat(self, data: st.DataObject) -> None:
        seat = data.draw(st.sampled_from(list(self.seats)))
        tenant, license_id, _user = self.seats.pop(seat)
        path = f"/v1/licenses/{license_id}/seats/{seat}"
        released = self.expect(self.call("license", "DELETE", path, tenant, json={"reason": "moved on"}), 200)
        self.observe(self.states(released))

    @rule(tenant=st.sampled_from(TENANTS), seats=st.integers(min_value=1, max_value=5))
    def change_seat_count(self, tenant: SeedTenant, seats: int) -> None:
        license_id, _current = self.licenses[tenant]
        response = self.platform.http["license"].put(
            f"/v1/licenses/{license_id}/seat-count",
            json={"seats": seats},
            headers=self.platform.platform_admin(tenant),
        )
        if seats < self._held(license_id):
            self.expect(response, 409, "seats_in_use")
            self.observe()
            return
        changed = self.expect(response, 200)
        assert (changed["seats"], changed["seats_assigned"]) == (seats, self._held(license_id))
        self.licenses[tenant] = (license_id, seats)
        self.observe(self.states(changed))

    # Device

    @rule(tenant=st.sampled_from(TENANTS), kind=st.sampled_from(["infusion-pump", "patient-monitor"]))
    def register_device(self, tenant: SeedTenant, kind: str) -> None:
        serial = f"SN-{secrets.token_hex(6).upper()}"
        body = {"name": f"{kind} {serial}", "serial_number": serial, "model": "Model 1", "kind": kind}
        device = self.expect(self.call("device", "POST", "/v1/devices", tenant, json=body), 201)
        self.devices[tenant].append(UUID(device["id"]))
        self.observe(self.states(device))

    @rule(tenant=st.sampled_from(TENANTS), key=st.sampled_from(["ecdsa-p256", "ed25519"]))
    def issue_certificate(self, tenant: SeedTenant, key: str) -> None:
        body = {"generate_key": key, "common_name": f"cn-{secrets.token_hex(4)}", "validity_days": 30}
        issued = self.expect(self.call("device", "POST", "/v1/certificates", tenant, json=body), 201)
        self.certificates.append((tenant, UUID(issued["id"])))
        self.observe(self.states(issued))

    @precondition(lambda self: self.certificates)
    @rule(data=st.data())
    def bind_certificate(self, data: st.DataObject) -> None:
        tenant, certificate = data.draw(st.sampled_from(self.certificates))
        device = data.draw(st.sampled_from(self.devices[tenant]))
        path = f"/v1/certificates/{certificate}/device"
        bound = self.expect(self.call("device", "PUT", path, tenant, json={"device_id": str(device)}), 200)
        assert bound["device_id"] == str(device)
        self.observe(self.states(bound))

    @precondition(lambda self: self.certificates)
    @rule(data=st.data(), reason=st.sampled_from(["superseded", "key_compromise", "cessation_of_operation"]))
    def revoke_certificate(self, data: st.DataObject, reason: str) -> None:
        tenant, certificate = data.draw(st.sampled_from(self.certificates))
        path = f"/v1/certificates/{certificate}/revoke"
        revoked = self.expect(self.call("device", "POST", path, tenant, json={"reason": reason}), 200)
        self.certificates.remove((tenant, certificate))
        self.observe(self.states(revoked))

    # Auth

    @precondition(lambda self: self._of(lambda m: m.active))
    @rule(data=st.data())
    def set_credential(self, data: st.DataObject) -> None:
        user = data.draw(st.sampled_from(self._of(lambda m: m.active)))
        model = self.users[user]
        path = f"/v1/users/{user}/password"
        response = self.call("auth", "PUT", path, model.tenant, json={"password": PASSWORD})
        credential = self.expect(response, 200 if model.credential else 201)
        model.credential = True
        self.observe(self.states(credential))

    @precondition(
        lambda self: self._of(lambda m: m.active and m.credential and not m.secret and not m.locked)
    )
    @rule(data=st.data())
    def enrol_second_factor(self, data: st.DataObject) -> None:
        """A first login with the password alone, then enrolling and confirming a TOTP factor."""
        user = data.draw(
            st.sampled_from(self._of(lambda m: m.active and m.credential and not m.secret and not m.locked))
        )
        model = self.users[user]
        secret, confirmed = self.platform.enrol(model.tenant, model.username)
        self.observe(self.states(self.expect(confirmed, 200)))
        model.secret = secret

    @precondition(lambda self: self.logins < LOGINS_PER_SEQUENCE)
    @rule()
    def login(self) -> None:
        # Not drawn: the user whose code is usable soonest, so that logins rarely wait for a
        # TOTP step (and a sequence's draws, and so what it can do next, stay the same).
        pool = self._login_pool()
        user = pool[self.platform.second_factors.soonest([u.secret for u in pool])]
        body = {
            "tenant_id": str(user.tenant.id),
            "username": user.username,
            "password": user.password,
            "code": self.platform.second_factors.code(user.secret),
        }
        granted = self.expect(self.platform.http["auth"].post("/v1/login", json=body), 200)
        assert granted["status"] == "authenticated"
        self.sessions[UUID(granted["session_id"])] = SessionModel(
            user.tenant, user.user, granted["refresh_token"]
        )
        self.logins += 1
        self.observe()

    @precondition(lambda self: self._of(lambda m: m.active and m.credential))
    @rule(data=st.data())
    def fail_a_login(self, data: st.DataObject) -> None:
        user = data.draw(st.sampled_from(self._of(lambda m: m.active and m.credential)))
        model = self.users[user]
        body = {"tenant_id": str(model.tenant.id), "username": model.username, "password": WRONG_PASSWORD}
        response = self.platform.http["auth"].post("/v1/login", json=body)
        if model.locked:
            self.expect(response, 401, "credential_locked")
        else:
            self.expect(response, 401, "unauthenticated")
            model.failures += 1
            if model.failures == LOCKOUT_THRESHOLD:
                model.failures, model.locked = 0, True
        self.observe()

    def _usable(self, session: SessionModel) -> bool:
        created = self.users.get(session.user)
        return created is None or created.active

    @precondition(lambda self: self.sessions)
    @rule(data=st.data())
    def refresh(self, data: st.DataObject) -> None:
        session_id = data.draw(st.sampled_from(list(self.sessions)))
        session = self.sessions[session_id]
        response = self.platform.http["auth"].post("/v1/token/refresh", json={"refresh_token": session.token})
        if not self._usable(session):  # its user was deactivated
            self.expect(response, 401, "unauthenticated")
        else:
            session.spent.append(session.token)
            session.token = self.expect(response, 200)["refresh_token"]
        self.observe()

    @precondition(lambda self: any(s.spent for s in self.sessions.values()))
    @rule(data=st.data())
    def replay_a_spent_refresh_token(self, data: st.DataObject) -> None:
        """Whoever presents a rotated refresh token may have stolen it: the session ends."""
        session_id = data.draw(st.sampled_from([k for k, s in self.sessions.items() if s.spent]))
        spent = data.draw(st.sampled_from(self.sessions.pop(session_id).spent))
        response = self.platform.http["auth"].post("/v1/token/refresh", json={"refresh_token": spent})
        self.expect(response, 401, "unauthenticated")
        self.observe()

    @precondition(lambda self: self.sessions)
    @rule(data=st.data())
    def logout(self, data: st.DataObject) -> None:
        session = self.sessions.pop(data.draw(st.sampled_from(list(self.sessions))))
        self.expect(self.platform.http["auth"].post("/v1/logout", json={"refresh_token": session.token}), 204)
        self.observe()

    # The properties

    @invariant()
    def event_completeness_holds(self) -> None:
        # The database starts clean (the fixture checks it): anything found before this sequence
        # began was left by an earlier, failing one, and is not this sequence's to answer for
        # (so that shrinking replays a failure against the database it left behind).
        new = self.platform.event_violations() - self.violations_before
        assert not new, sorted(new)

    def teardown(self) -> None:
        world = self.platform
        for aggregate, recordings in self.recordings.items():
            for at in self.step_times:
                earlier = [r for r in recordings if r.at <= at]
                if not earlier and aggregate not in self.created:
                    continue  # it existed before this sequence, in a state the test did not see
                found = world.state_at_in_sql(aggregate, at)
                if not earlier:
                    assert found is None, f"{aggregate} at {at}: it did not exist yet, but {found}"
                    continue
                expected = earlier[-1].state
                assert differences(aggregate.kind, expected, found) == [], (aggregate, at, expected, found)
            history = world.history_in_sql(aggregate)
            for recording in recordings:
                stored = history.get(int(recording.state["version"]))
                assert differences(aggregate.kind, recording.state, stored) == [], (
                    aggregate,
                    recording,
                    stored,
                )
                found = world.state_at_by_cli(aggregate, recording.at)
                assert differences(aggregate.kind, recording.state, found) == [], (
                    aggregate,
                    recording,
                    found,
                )


def test_every_sequence_of_api_calls_keeps_the_event_contract(platform: Platform) -> None:
    machine = type("Machine", (PlatformMachine,), {"platform": platform})
    run_state_machine_as_test(machine, settings=_profile())
