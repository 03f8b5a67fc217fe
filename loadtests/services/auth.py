"""Auth's load: people logging in with password and TOTP, their apps' tokens introspected, the helpdesk.

Each simulated person is a ward's lead in a seeded tenant: the platform
operator opens their account (admin role) and they enrol an authenticator
(:mod:`loadtests.people`). The lead stays logged in all day: the resource
servers their apps call introspect the access token (most of the traffic) and
fetch the JWKS, the app refreshes the tokens, and the lead looks at their own
sessions now and then. The lead also runs the helpdesk of their team, whose
accounts they open (a colleague at a time, as the work needs one): colleagues
log in, log out, log out everywhere and change their password; the lead looks
at a colleague's credential, its history and sessions, ends a session or all of
them, resets a password, replaces a lost phone (the factor removed, a new
authenticator enrolled) and lifts a lockout after a colleague mistyped the
password once too often.

TOTP: auth takes each time step once per credential, so a credential can start
at most a session or two per 30 seconds. Every person has their own, and the
logins are spread over the lead's team: a login is made by a colleague whose
authenticator shows an unused code (a new colleague joins when none does, up
to a team of :data:`MOST_COLLEAGUES`), so nobody waits for a code.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from locust import task

from loadtests.people import (
    DIRECTORY,
    USERS,
    enrol_authenticator,
    new_account,
    new_password,
    onboard,
    set_password,
    unique_name,
)
from loadtests.platform_user import PlatformUser, ShuffledTasks, think_time
from loadtests.sign_in import Credentials, Login, Person, Session, log_in
from loadtests.tenants import ADMIN_ROLE, next_tenant
from reference.platform.totp import code_at

# Request names: the endpoint templates, exactly the budget keys in quality-attributes.yaml.
LOGIN = "/v1/login"
INTROSPECT = "/v1/token/introspect"
LOGOUT = "/v1/logout"
JWKS = "/.well-known/jwks.json"
MY_PASSWORD = "/v1/me/password"
MY_SESSIONS = "/v1/me/sessions"
CREDENTIAL = "/v1/users/{user_id}/credential"
CREDENTIAL_HISTORY = "/v1/users/{user_id}/credential/history"
UNLOCK = "/v1/users/{user_id}/credential/unlock"
SECOND_FACTOR = "/v1/users/{user_id}/second-factor"
USER_SESSIONS = "/v1/users/{user_id}/sessions"
SESSION = "/v1/sessions/{session_id}"

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
CREDENTIAL_LOCKED = "credential_locked"
# More wrong passwords than any sensible lockout threshold (the default is 5).
MOST_TYPOS = 12
MOST_COLLEAGUES = 10
SESSIONS_KEPT = 3  # per colleague: older ones are left to expire


@dataclass
class Colleague:
    """A member of the lead's team, and the sessions they hold (newest last)."""

    person: Person
    sessions: list[Credentials] = field(default_factory=list)

    @property
    def login(self) -> Login:
        assert self.person.login is not None
        return self.person.login


def _active(body: Any) -> str | None:
    """A body check: introspection says the token is usable."""
    return None if isinstance(body, dict) and body.get("active") is True else "introspection: not active"


class WardLead(ShuffledTasks):
    """One lead's day with auth (state lives here for the person's whole session)."""

    user: AuthUser

    def __init__(self, parent: Any) -> None:
        super().__init__(parent)
        self.session: Session | None = None
        self.team: list[Colleague] = []

    def arrive(self) -> Session:
        """Once: the lead's account and authenticator, and a first login."""
        if self.session is None:
            self.session = Session(self.user, onboard(self.user, next_tenant(), "lead", (ADMIN_ROLE,)))
        return self.session

    # -- the lead's own day --------------------------------------------------------------------

    @task(6)
    def apps_at_work(self) -> None:
        """The lead's apps call resource servers, which introspect the token on each call."""
        credentials = self.arrive().credentials
        for _ in range(random.randint(3, 6)):
            self._introspect(credentials, str(credentials.access_token))
        if random.random() < 0.2:  # a client checking that its refresh token is still good
            self._introspect(credentials, str(credentials.refresh_token))

    @task(3)
    def refresh_tokens(self) -> None:
        """The app renews its access token with the refresh token (which rotates)."""
        self.arrive().refresh()

    @task(1)
    def fetch_keys(self) -> None:
        """A resource server fetches the keys that verify access tokens."""
        self.user.call("GET", JWKS)

    @task(1)
    def review_sessions(self) -> None:
        """Where am I logged in: the lead's sessions, and the current one."""
        credentials = self.arrive().credentials
        self.user.call("GET", MY_SESSIONS, headers=credentials.headers)
        self.user.call("GET", SESSION, headers=credentials.headers, session_id=credentials.session_id)

    # -- the team's own doings -----------------------------------------------------------------

    @task(1)
    def colleague_logs_in(self) -> None:
        """A colleague starts a session (one whose authenticator shows an unused code)."""
        colleague = self._colleague_with_code()
        if colleague is None:
            self.look_at_colleague()
            return
        colleague.sessions.append(log_in(self.user, colleague.person))
        del colleague.sessions[:-SESSIONS_KEPT]

    @task(1)
    def colleague_logs_out(self) -> None:
        """End of a colleague's shift: one session ends."""
        found = self._colleague_session()
        if found is None:
            return
        colleague, credentials = found
        self.user.call("POST", LOGOUT, expect=(204,), json={"refresh_token": credentials.refresh_token})
        colleague.sessions.remove(credentials)

    @task(1)
    def colleague_logs_out_everywhere(self) -> None:
        """A colleague left a phone in the staff room: every session of theirs ends."""
        found = self._colleague_session()
        if found is None:
            return
        colleague, credentials = found
        self.user.call("DELETE", MY_SESSIONS, headers=credentials.headers)
        colleague.sessions.clear()

    @task(1)
    def colleague_changes_password(self) -> None:
        """A colleague picks a new password (the current one is checked first)."""
        found = self._colleague_session()
        if found is None:
            return
        colleague, credentials = found
        fresh = new_password()
        body = {"current_password": colleague.login.password, "new_password": fresh}
        self.user.call("PUT", MY_PASSWORD, headers=credentials.headers, json=body)
        colleague.login.password = fresh

    # -- the helpdesk --------------------------------------------------------------------------

    @task(1)
    def look_at_colleague(self) -> None:
        """A colleague's credential (locked? second factor?), its history and their sessions."""
        headers = self.arrive().headers
        colleague = self._any_colleague()
        user_id = colleague.person.user_id
        self.user.call("GET", CREDENTIAL, headers=headers, user_id=user_id)
        self.user.call("GET", CREDENTIAL_HISTORY, headers=headers, user_id=user_id)
        self.user.call("GET", USER_SESSIONS, headers=headers, user_id=user_id)

    @task(1)
    def end_colleague_session(self) -> None:
        """One of a colleague's sessions, looked at and ended (a shared terminal left logged in)."""
        found = self._colleague_session()
        if found is None:
            return
        colleague, credentials = found
        headers = self.arrive().headers
        self.user.call("GET", SESSION, headers=headers, session_id=credentials.session_id)
        self.user.call("DELETE", SESSION, headers=headers, session_id=credentials.session_id)
        colleague.sessions.remove(credentials)

    @task(1)
    def sign_colleague_out_everywhere(self) -> None:
        colleague = self._any_colleague()
        headers = self.arrive().headers
        self.user.call("DELETE", USER_SESSIONS, headers=headers, user_id=colleague.person.user_id)
        colleague.sessions.clear()

    @task(1)
    def reset_colleague_password(self) -> None:
        """A colleague forgot their password: the lead sets a new one."""
        colleague = self._any_colleague()
        colleague.login.password = new_password()
        set_password(self.user, self.arrive().headers, colleague.person)

    @task(2)
    def replace_lost_phone(self) -> None:
        """A colleague lost their phone: the factor is removed, and they enrol a new authenticator."""
        colleague = self._colleague_with_code()  # they confirm the new one with a code not used yet
        if colleague is None:
            self.look_at_colleague()
            return
        body = {"reason": "phone lost"}
        headers = self.arrive().headers
        self.user.call("DELETE", SECOND_FACTOR, headers=headers, json=body, user_id=colleague.person.user_id)
        enrol_authenticator(self.user, colleague.person)

    @task(1)
    def lift_lockout(self) -> None:
        """A colleague mistypes the password until the credential locks; the lead unlocks it."""
        colleague = self._any_colleague()
        wrong = {
            "tenant_id": str(colleague.person.tenant_id),
            "username": colleague.person.username,
            "password": f"{colleague.login.password}!",
            "code": code_at(colleague.login.totp_secret),  # a wrong password never spends the code
        }
        for _ in range(MOST_TYPOS):
            refused = self.user.call("POST", LOGIN, expect=(401,), json=wrong)
            if refused.get("error") == CREDENTIAL_LOCKED:
                break
        else:
            raise RuntimeError(f"{MOST_TYPOS} wrong passwords did not lock the credential")
        body = {"reason": "called the helpdesk"}
        headers = self.arrive().headers
        self.user.call("POST", UNLOCK, headers=headers, json=body, user_id=colleague.person.user_id)

    # -- helpers ---------------------------------------------------------------------------------

    def _introspect(self, credentials: Credentials, token: str) -> None:
        self.user.call(
            "POST",
            INTROSPECT,
            headers={**credentials.headers, **FORM},
            data=urlencode({"token": token}),
            check=_active,
        )

    def _any_colleague(self) -> Colleague:
        return random.choice(self.team) if self.team else self._join_team()

    def _colleague_with_code(self) -> Colleague | None:
        """A colleague whose authenticator shows an unused code (a new one joins if none does)."""
        ready = [colleague for colleague in self.team if colleague.login.code_ready()]
        if ready:
            return random.choice(ready)
        return self._join_team() if len(self.team) < MOST_COLLEAGUES else None

    def _colleague_session(self) -> tuple[Colleague, Credentials] | None:
        """A session some colleague holds (one logs in if nobody does)."""
        if not any(colleague.sessions for colleague in self.team):
            self.colleague_logs_in()
        holding = [colleague for colleague in self.team if colleague.sessions]
        if not holding:
            return None
        colleague = random.choice(holding)
        return colleague, random.choice(colleague.sessions)

    def _join_team(self) -> Colleague:
        """The lead opens a colleague's account and sets their first password; they enrol an authenticator."""
        session = self.arrive()
        body = new_account(unique_name("colleague"))
        account = self.user.call(
            "POST", USERS, service=DIRECTORY, expect=(201,), headers=session.headers, json=body
        )
        person = Person(
            session.person.tenant_id, account["username"], account["id"], (), Login(new_password())
        )
        set_password(self.user, session.headers, person, expect=(201,))
        enrol_authenticator(self.user, person)
        colleague = Colleague(person)
        self.team.append(colleague)
        return colleague


class AuthUser(PlatformUser):
    """A ward's lead logged in all day, their apps' tokens checked, and the helpdesk of their team."""

    service = "auth"
    wait_time = think_time(1.0, 3.0)
    tasks = [WardLead]  # noqa: RUF012  (locust's own form: it reads the class attribute)
