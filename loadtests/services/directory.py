"""The directory's load: tenant administrators at the admin console, and now and then the platform operator.

Each simulated person is placed in a seeded tenant, where the platform
operator opens an account for them with the admin role (:mod:`loadtests.people`),
and signs in as that account with password and TOTP. From then on they work
through the directory's day: browsing and looking up users (most of it),
onboarding users with a role, renaming them, changing and revoking roles,
reading a user's history, offboarding, creating and reviewing roles, looking
at their tenant, and, rarely, the platform operator opening a new tenant.
Each person works only on the users they created, so concurrent people never
conflict; reads range over everyone.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from locust import task

from loadtests.people import new_account, onboard, unique_name
from loadtests.platform_user import PlatformUser, ShuffledTasks, think_time
from loadtests.sign_in import Session, platform_admin_headers
from loadtests.tenants import ADMIN_ROLE, next_tenant

# Request names: the endpoint templates, exactly the budget keys in quality-attributes.yaml.
CREATE_TENANT = "/v1/admin/tenants"
TENANT = "/v1/tenant"
USERS = "/v1/users"
USER = "/v1/users/{user_id}"
USERNAME = "/v1/users/{user_id}/username"
DEACTIVATE = "/v1/users/{user_id}/deactivate"
HISTORY = "/v1/users/{user_id}/history"
USER_ROLES = "/v1/users/{user_id}/roles"
USER_ROLE = "/v1/users/{user_id}/roles/{role_id}"
ROLES = "/v1/roles"
ROLE = "/v1/roles/{role_id}"

PAGE_SIZE = 20


@dataclass
class ManagedUser:
    """A user this person created: its current version and the roles it holds."""

    id: str
    version: int
    roles: set[str] = field(default_factory=set)


def _etag(version: int) -> dict[str, str]:
    return {"If-Match": f'"{version}"'}


class DirectoryAdministration(ShuffledTasks):
    """One person's work in the directory (state lives here for the person's whole session)."""

    user: DirectoryUser

    def __init__(self, parent: Any) -> None:
        super().__init__(parent)
        self.session: Session | None = None
        self.managed: dict[str, ManagedUser] = {}
        self.seen_users: list[str] = []  # ids met while browsing, to look up later
        self.roles: dict[str, str] = {}  # role name -> id, in the person's tenant
        self.next_page: str | None = None

    # -- arriving ------------------------------------------------------------------------------

    def arrive(self) -> Session:
        """Once: the person's account (with the admin role) is opened, and they sign in."""
        if self.session is None:
            person = onboard(self.user, next_tenant(), "admin", (ADMIN_ROLE,))
            session = Session(self.user, person)
            self._load_roles(session)
            self.session = session
        return self.session

    # -- the day's work ------------------------------------------------------------------------

    @task(6)
    def browse_users(self) -> None:
        """A page of users (first or next), then one of them opened."""
        session = self.arrive()
        params: dict[str, Any] = {"limit": PAGE_SIZE}
        if self.next_page is not None and random.random() < 0.5:
            params["after"] = self.next_page
        page = self.user.call("GET", USERS, headers=session.headers, params=params)
        self.next_page = page["next_after"]
        ids = [item["id"] for item in page["items"]]
        self.seen_users = (self.seen_users + ids)[-200:]
        if ids:
            self.user.call("GET", USER, headers=session.headers, user_id=random.choice(ids))

    @task(4)
    def look_up_user(self) -> None:
        """A user someone asked about, and the roles they hold."""
        session = self.arrive()
        candidates = self.seen_users or list(self.managed)
        if not candidates:
            self.onboard_user()
            return
        user_id = random.choice(candidates)
        self.user.call("GET", USER, headers=session.headers, user_id=user_id)
        self.user.call("GET", USER_ROLES, headers=session.headers, user_id=user_id)

    @task(3)
    def onboard_user(self) -> None:
        """A new colleague: their account, and a role."""
        session = self.arrive()
        created = self._create_user(session, unique_name("u"))
        managed = ManagedUser(created["id"], created["version"])
        self.managed[managed.id] = managed
        role_id = random.choice(self._assignable())
        self._assign(session, managed.id, role_id)
        managed.roles.add(role_id)

    @task(2)
    def rename_user(self) -> None:
        session = self.arrive()
        managed = self._some_managed()
        renamed = self.user.call(
            "PUT",
            USERNAME,
            headers={**session.headers, **_etag(managed.version)},
            json={"username": unique_name("u")},
            user_id=managed.id,
        )
        managed.version = renamed["version"]

    @task(2)
    def change_roles(self) -> None:
        """Revoke one of a user's roles; give a role to a user who holds none."""
        session = self.arrive()
        managed = self._some_managed()
        if not managed.roles:
            role_id = random.choice(self._assignable())
            self._assign(session, managed.id, role_id)
            managed.roles.add(role_id)
            return
        role_id = random.choice(sorted(managed.roles))
        self.user.call("DELETE", USER_ROLE, headers=session.headers, user_id=managed.id, role_id=role_id)
        managed.roles.discard(role_id)

    @task(1)
    def audit_user(self) -> None:
        """Who changed this user, and when: the user's history."""
        session = self.arrive()
        managed = self._some_managed()
        self.user.call("GET", HISTORY, headers=session.headers, user_id=managed.id)

    @task(1)
    def offboard_user(self) -> None:
        """A colleague leaves: their account is deactivated (the oldest of this person's users)."""
        session = self.arrive()
        if len(self.managed) < 2:
            self.onboard_user()
        managed = next(iter(self.managed.values()))
        self.user.call(
            "POST",
            DEACTIVATE,
            headers={**session.headers, **_etag(managed.version)},
            json={"reason": "left the organisation"},
            user_id=managed.id,
        )
        del self.managed[managed.id]

    @task(1)
    def create_role(self) -> None:
        """A role for a new team, opened to check it."""
        session = self.arrive()
        body = {"name": unique_name("team"), "description": "a team's own role"}
        created = self.user.call("POST", ROLES, expect=(201,), headers=session.headers, json=body)
        self.roles[created["name"]] = created["id"]
        self.user.call("GET", ROLE, headers=session.headers, role_id=created["id"])

    @task(1)
    def review_roles(self) -> None:
        session = self.arrive()
        self._load_roles(session)
        self.user.call("GET", ROLE, headers=session.headers, role_id=random.choice(list(self.roles.values())))

    @task(1)
    def check_tenant(self) -> None:
        session = self.arrive()
        self.user.call("GET", TENANT, headers=session.headers)

    @task(1)
    def open_tenant(self) -> None:
        """The platform operator opens a tenant for a new customer (platform admin token)."""
        self.arrive()
        opened = {"name": unique_name("clinic")}
        self.user.call("POST", CREATE_TENANT, expect=(201,), headers=platform_admin_headers(), json=opened)

    # -- helpers ---------------------------------------------------------------------------------

    def _create_user(self, session: Session, username: str) -> dict[str, Any]:
        created: dict[str, Any] = self.user.call(
            "POST", USERS, expect=(201,), headers=session.headers, json=new_account(username)
        )
        return created

    def _assign(self, session: Session, user_id: str, role_id: str) -> None:
        # 200: a revoked assignment made active again.
        body = {"role_id": role_id}
        self.user.call(
            "POST", USER_ROLES, expect=(200, 201), headers=session.headers, json=body, user_id=user_id
        )

    def _load_roles(self, session: Session) -> None:
        page = self.user.call("GET", ROLES, headers=session.headers, params={"limit": 100})
        self.roles.update({role["name"]: role["id"] for role in page["items"]})

    def _assignable(self) -> list[str]:
        return [role_id for name, role_id in self.roles.items() if name != ADMIN_ROLE]

    def _some_managed(self) -> ManagedUser:
        if not self.managed:
            self.onboard_user()
        return random.choice(list(self.managed.values()))


class DirectoryUser(PlatformUser):
    """A person administering a tenant's directory."""

    service = "directory"
    wait_time = think_time(1.0, 3.0)
    tasks = [DirectoryAdministration]  # noqa: RUF012  (locust's own form: it reads the class attribute)
