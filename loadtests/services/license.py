"""License's load: tenant administrators handing out and taking back seats, and the platform operator.

Each simulated person is a tenant administrator (admin role, their own
account: :mod:`loadtests.people`). When they arrive, the platform operator
grants the tenant a license for the person's team from the plan catalogue, and
the person picks the users seats go to from the tenant's directory. Through the
day they assign seats (mostly on their team's license, sometimes on the
tenant's seeded one, which every administrator of the tenant shares), release
them, look at licenses, seats and a user's seats, and read the history. Now and
then the operator changes the team license's seat count, or revokes it (every
seat released) and grants a new one.

Refusals are part of the day: a seat for a user who holds one already
(``seat_already_held``), on a license whose seats are all taken
(``seats_exhausted``), or for a user deactivated meanwhile (``user_inactive``)
is a 409 the service must give, and counts as a success. Each person changes
only the seats they assigned and the license granted for them, so no other
conflict is expected.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from locust import task

from loadtests.people import DIRECTORY, USERS, onboard
from loadtests.platform_user import PlatformUser, ShuffledTasks, think_time
from loadtests.sign_in import Session, platform_admin_headers
from loadtests.tenants import ADMIN_ROLE, next_tenant
from reference.license.seed import seed_license_id
from reference.platform.seeding import SeedTenant

# Request names: the endpoint templates, exactly the budget keys in quality-attributes.yaml.
PLANS = "/v1/plans"
PLAN = "/v1/plans/{plan_id}"
LICENSES = "/v1/licenses"
LICENSE = "/v1/licenses/{license_id}"
SEAT_COUNT = "/v1/licenses/{license_id}/seat-count"
REVOKE = "/v1/licenses/{license_id}/revoke"
HISTORY = "/v1/licenses/{license_id}/history"
SEATS = "/v1/licenses/{license_id}/seats"
SEAT = "/v1/licenses/{license_id}/seats/{seat_id}"
USER_SEATS = "/v1/users/{user_id}/seats"

# The 409s a seat assignment may rightly answer under concurrent administrators.
SEAT_REFUSALS = {409: ("seats_exhausted", "seat_already_held", "user_inactive")}
TEAM_SEATS = (3, 12)  # the fewest and most seats of a team's license (within its plan)
VALID_FOR = timedelta(days=365)


@dataclass
class HeldSeat:
    license_id: str
    seat_id: str
    user_id: str
    version: int


class SeatAdministration(ShuffledTasks):
    """One administrator's work with licenses (state lives here for the person's whole session)."""

    user: LicenseUser

    def __init__(self, parent: Any) -> None:
        super().__init__(parent)
        self.session: Session | None = None
        self.tenant: SeedTenant | None = None
        self.team_license: str | None = None
        self.plans: dict[str, int | None] = {}  # plan id -> most seats a license of it may have
        self.people: list[str] = []  # active users of the tenant, seats go to them
        self.held: list[HeldSeat] = []

    # -- arriving ------------------------------------------------------------------------------

    def arrive(self) -> Session:
        """Once: the person's account and login, a license granted for their team, the users to seat."""
        if self.session is None:
            self.tenant = next_tenant()
            self.session = Session(self.user, onboard(self.user, self.tenant, "seats", (ADMIN_ROLE,)))
        if not self.plans:
            catalogue = self.user.call("GET", PLANS, headers=self.session.headers)
            self.plans = {plan["id"]: plan["max_seats"] for plan in catalogue}
        if self.team_license is None:
            self.team_license = self._grant_team_license()
        if not self.people:
            self._load_people()
        return self.session

    # -- the day's work ------------------------------------------------------------------------

    @task(4)
    def assign_seat(self) -> None:
        """A seat for someone, mostly on the team's license (a 409 when none is left, or they hold one)."""
        session = self.arrive()
        license_id = self._some_license()
        user_id = random.choice(self.people)
        seat = self.user.call(
            "POST",
            SEATS,
            expect=(201,),
            refusals=SEAT_REFUSALS,
            headers=session.headers,
            json={"user_id": user_id},
            license_id=license_id,
        )
        if "error" not in seat:
            self.held.append(HeldSeat(license_id, seat["id"], user_id, seat["version"]))

    @task(3)
    def release_seat(self) -> None:
        """Someone left the team: their seat goes back (the oldest this person assigned)."""
        session = self.arrive()
        if not self.held:
            self.assign_seat()
            return
        seat = self.held.pop(0)
        self.user.call(
            "DELETE",
            SEAT,
            headers={**session.headers, "If-Match": f'"{seat.version}"'},
            json={"reason": "left the team"},
            license_id=seat.license_id,
            seat_id=seat.seat_id,
        )

    @task(3)
    def review_license(self) -> None:
        """The tenant's licenses, one of them, and who holds its seats."""
        session = self.arrive()
        self.user.call("GET", LICENSES, headers=session.headers, params={"limit": 20})
        license_id = self._some_license()
        self.user.call("GET", LICENSE, headers=session.headers, license_id=license_id)
        self.user.call(
            "GET", SEATS, headers=session.headers, params={"status": "assigned"}, license_id=license_id
        )

    @task(2)
    def look_up_seats(self) -> None:
        """One seat in detail, and every seat its user holds."""
        session = self.arrive()
        if not self.held:
            self.user.call("GET", USER_SEATS, headers=session.headers, user_id=random.choice(self.people))
            return
        seat = random.choice(self.held)
        self.user.call("GET", SEAT, headers=session.headers, license_id=seat.license_id, seat_id=seat.seat_id)
        self.user.call("GET", USER_SEATS, headers=session.headers, user_id=seat.user_id)

    @task(1)
    def browse_plans(self) -> None:
        session = self.arrive()
        self.user.call("GET", PLANS, headers=session.headers)
        self.user.call("GET", PLAN, headers=session.headers, plan_id=random.choice(list(self.plans)))

    @task(1)
    def audit_license(self) -> None:
        """Who assigned and released which seat, when: the license's history."""
        session = self.arrive()
        self.user.call("GET", HISTORY, headers=session.headers, license_id=self._some_license())

    @task(1)
    def resize_team_license(self) -> None:
        """The operator changes the team license's seats (never below those assigned)."""
        session = self.arrive()
        assert self.team_license is not None
        current = self.user.call("GET", LICENSE, headers=session.headers, license_id=self.team_license)
        most = self.plans.get(current["plan_id"]) or TEAM_SEATS[1]
        wanted = current["seats"] + random.choice((-2, -1, 1, 2))
        seats = max(current["seats_assigned"], min(wanted, most), 1)
        self.user.call(
            "PUT",
            SEAT_COUNT,
            headers={**self._operator(), "If-Match": f'"{current["version"]}"'},
            json={"seats": seats},
            license_id=self.team_license,
        )

    @task(1)
    def renew_team_license(self) -> None:
        """The team's contract ends: its license is revoked (every seat released) and a new one granted."""
        self.arrive()
        assert self.team_license is not None
        self.user.call(
            "POST",
            REVOKE,
            headers=self._operator(),
            json={"reason": "contract renewed"},
            license_id=self.team_license,
        )
        self.held = [seat for seat in self.held if seat.license_id != self.team_license]
        self.team_license = None  # granted again at once, or at the next task if that fails
        self.team_license = self._grant_team_license()

    # -- helpers ---------------------------------------------------------------------------------

    def _operator(self) -> dict[str, str]:
        assert self.tenant is not None
        return platform_admin_headers(self.tenant.id)

    def _grant_team_license(self) -> str:
        """The platform operator grants the tenant a license (only the operator may), within its plan."""
        plan_id, most = random.choice(list(self.plans.items()))
        body = {
            "plan_id": plan_id,
            "seats": random.randint(TEAM_SEATS[0], min(TEAM_SEATS[1], most or TEAM_SEATS[1])),
            "valid_until": (datetime.now(UTC) + VALID_FOR).isoformat(),
        }
        granted = self.user.call("POST", LICENSES, expect=(201,), headers=self._operator(), json=body)
        return str(granted["id"])

    def _load_people(self) -> None:
        """The tenant's active users, from its directory: seats go to them."""
        assert self.session is not None
        page = self.user.call(
            "GET",
            USERS,
            service=DIRECTORY,
            headers=self.session.headers,
            params={"status": "active", "limit": 100},
        )
        self.people = [item["id"] for item in page["items"]]

    def _some_license(self) -> str:
        assert self.team_license is not None and self.tenant is not None
        return self.team_license if random.random() < 0.7 else str(seed_license_id(self.tenant))


class LicenseUser(PlatformUser):
    """A tenant administrator handing out seats, and the platform operator granting licenses."""

    service = "license"
    wait_time = think_time(1.0, 3.0)
    tasks = [SeatAdministration]  # noqa: RUF012  (locust's own form: it reads the class attribute)
