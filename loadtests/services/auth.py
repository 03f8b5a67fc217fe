"""Auth's load: people logging in with password and TOTP, their apps' tokens introspected, the helpdesk.

Each simulated person is a ward's lead in a seeded tenant: the platform
operator opens their account (admin role) and they enrol an authenticator
(:mod:`loadtests.people`). Through the day the resource servers their apps
call introspect their access token (most of the traffic) and fetch the JWKS;
their app refreshes the tokens; they look at their sessions, change their
password, log out (and back in later), or log out everywhere. They also run
the helpdesk for a colleague whose account they opened: the colleague logs in
now and then; the lead looks at the colleague's credential, its history and
sessions, ends a session or all of them, resets the password, replaces a lost
phone (the factor removed, a new authenticator enrolled) and lifts a lockout
after the colleague mistyped the password once too often.

TOTP: auth takes each time step once per credential, and every person and
colleague has their own, so concurrent people never collide; a login waits
for a fresh step only in the rare case both usable ones were spent (a person
with no session meanwhile just lets the resource servers fetch keys).
"""

from __future__ import annotations

import random
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
from loadtests.sign_in import Credentials, Login, Person, log_in, refresh
from loadtests.tenants import ADMIN_ROLE, next_tenant
from reference.platform.totp import code_at

# Request names: the endpoint templates, exactly the budget keys in quality-attributes.yaml.
LOGIN = "/v1/login"
REFRESH = "/v1/token/refresh"
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
KEPT_COLLEAGUE_SESSIONS = 3


def _active(body: Any) -> str | None:
    """A body check: introspection says the token is usable."""
    return None if isinstance(body, dict) and body.get("active") is True else "introspection: not active"


class WardLead(ShuffledTasks):
    """One person's day with auth (state lives here for the person's whole session)."""

    user: AuthUser

    def __init__(self, parent: Any) -> None:
        super().__init__(parent)
        self.person: Person | None = None
        self.credentials: Credentials | None = None
        self.colleague: Person | None = None
        self.colleague_sessions: list[Credentials] = []

    # -- arriving ------------------------------------------------------------------------------

    def arrive(self) -> Person:
        """Once: the person's account and authenticator, and a first login."""
        if self.person is None:
            self.person = onboard(self.user, next_tenant(), "lead", (ADMIN_ROLE,))
            self.credentials = log_in(self.user, self.person)
        return self.person

    def signed_in(self) -> Credentials | None:
        """The person's tokens: refreshed when due, a new login if they have none and a code is ready."""
        login = self.arrive().login
        assert login is not None
        if self.credentials is None and login.code_ready():
            self.credentials = log_in(self.user, self.arrive())
        elif self.credentials is not None and not self.credentials.current():
            self.credentials = refresh(self.user, self.credentials)
        return self.credentials

    def helpdesk(self) -> tuple[Credentials, Person] | None:
        """The person's tokens and their colleague (whose account they open the first time)."""
        credentials = self.signed_in()
        if credentials is None:
            return None
        if self.colleague is None:
            self.colleague = self._open_colleague_account(credentials)
        return credentials, self.colleague

    # -- the person's own day ------------------------------------------------------------------

    @task(6)
    def apps_at_work(self) -> None:
        """The person's apps call resource servers, which introspect the token on each call."""
        credentials = self.signed_in()
        if credentials is None:
            self.fetch_keys()
            return
        for _ in range(random.randint(3, 6)):
            self._introspect(credentials, str(credentials.access_token))
        if random.random() < 0.2:  # a client checking its refresh token is still good
            self._introspect(credentials, str(credentials.refresh_token))

    @task(3)
    def refresh_tokens(self) -> None:
        """The app renews its access token with the refresh token (which rotates)."""
        credentials = self.signed_in()
        if credentials is not None:
            self.credentials = refresh(self.user, credentials)

    @task(1)
    def fetch_keys(self) -> None:
        """A resource server fetches the keys that verify access tokens."""
        self.user.call("GET", JWKS)

    @task(1)
    def review_sessions(self) -> None:
        """Where am I logged in: the person's sessions, and the current one."""
        credentials = self.signed_in()
        if credentials is None:
            return
        self.user.call("GET", MY_SESSIONS, headers=credentials.headers)
        self.user.call("GET", SESSION, headers=credentials.headers, session_id=credentials.session_id)

    @task(1)
    def log_out(self) -> None:
        """End of a shift: the session ends (a login later starts the next)."""
        credentials = self.signed_in()
        if credentials is not None:
            self.user.call("POST", LOGOUT, expect=(204,), json={"refresh_token": credentials.refresh_token})
            self.credentials = None

    @task(1)
    def log_out_everywhere(self) -> None:
        """A phone left in the staff room: every session of the person ends."""
        credentials = self.signed_in()
        if credentials is not None:
            self.user.call("DELETE", MY_SESSIONS, headers=credentials.headers)
            self.credentials = None

    @task(1)
    def change_password(self) -> None:
        """The person picks a new password (the current one is checked first)."""
        credentials = self.signed_in()
        if credentials is None or self.person is None or self.person.login is None:
            return
        login = self.person.login
        fresh = new_password()
        body = {"current_password": login.password, "new_password": fresh}
        self.user.call("PUT", MY_PASSWORD, headers=credentials.headers, json=body)
        login.password = fresh

    # -- the helpdesk, for the colleague -------------------------------------------------------

    @task(2)
    def colleague_logs_in(self) -> None:
        """The colleague starts a session (when their authenticator shows an unused code)."""
        found = self.helpdesk()
        if found is None:
            return
        _, colleague = found
        assert colleague.login is not None
        if not colleague.login.code_ready():
            self.look_at_colleague()
            return
        self.colleague_sessions.append(log_in(self.user, colleague))
        del self.colleague_sessions[:-KEPT_COLLEAGUE_SESSIONS]

    @task(1)
    def look_at_colleague(self) -> None:
        """The colleague's credential (locked? second factor?), its history and their sessions."""
        found = self.helpdesk()
        if found is None:
            return
        credentials, colleague = found
        self.user.call("GET", CREDENTIAL, headers=credentials.headers, user_id=colleague.user_id)
        self.user.call("GET", CREDENTIAL_HISTORY, headers=credentials.headers, user_id=colleague.user_id)
        self.user.call("GET", USER_SESSIONS, headers=credentials.headers, user_id=colleague.user_id)

    @task(1)
    def end_colleague_session(self) -> None:
        """One of the colleague's sessions, looked at and ended (a shared terminal left logged in)."""
        found = self.helpdesk()
        if found is None:
            return
        credentials, _ = found
        if not self.colleague_sessions:
            self.colleague_logs_in()
        if not self.colleague_sessions:  # no unused code to log in with right now
            return
        session_id = self.colleague_sessions.pop(0).session_id
        self.user.call("GET", SESSION, headers=credentials.headers, session_id=session_id)
        self.user.call("DELETE", SESSION, headers=credentials.headers, session_id=session_id)

    @task(1)
    def sign_colleague_out_everywhere(self) -> None:
        found = self.helpdesk()
        if found is None:
            return
        credentials, colleague = found
        self.user.call("DELETE", USER_SESSIONS, headers=credentials.headers, user_id=colleague.user_id)
        self.colleague_sessions.clear()

    @task(1)
    def reset_colleague_password(self) -> None:
        """The colleague forgot their password: the lead sets a new one."""
        found = self.helpdesk()
        if found is None or found[1].login is None:
            return
        credentials, colleague = found
        colleague.login.password = new_password()
        set_password(self.user, credentials.headers, colleague)

    @task(2)
    def replace_lost_phone(self) -> None:
        """The colleague lost their phone: the factor is removed, and they enrol a new authenticator."""
        found = self.helpdesk()
        if found is None or found[1].login is None:
            return
        credentials, colleague = found
        if not found[1].login.code_ready():  # they will confirm the new one with a code not used yet
            self.look_at_colleague()
            return
        body = {"reason": "phone lost"}
        self.user.call(
            "DELETE", SECOND_FACTOR, headers=credentials.headers, json=body, user_id=colleague.user_id
        )
        enrol_authenticator(self.user, colleague)

    @task(1)
    def lift_lockout(self) -> None:
        """The colleague mistypes the password until the credential locks; the lead unlocks it."""
        found = self.helpdesk()
        if found is None or found[1].login is None:
            return
        credentials, colleague = found
        login = colleague.login
        wrong = {
            "tenant_id": str(colleague.tenant_id),
            "username": colleague.username,
            "password": f"{login.password}!",
            "code": code_at(login.totp_secret),  # a wrong password never spends the code
        }
        for _ in range(MOST_TYPOS):
            refused = self.user.call("POST", LOGIN, expect=(401,), json=wrong)
            if refused.get("error") == CREDENTIAL_LOCKED:
                break
        else:
            raise RuntimeError(f"{MOST_TYPOS} wrong passwords did not lock the credential")
        body = {"reason": "called the helpdesk"}
        self.user.call("POST", UNLOCK, headers=credentials.headers, json=body, user_id=colleague.user_id)

    # -- helpers ---------------------------------------------------------------------------------

    def _introspect(self, credentials: Credentials, token: str) -> None:
        self.user.call(
            "POST",
            INTROSPECT,
            headers={**credentials.headers, **FORM},
            data=urlencode({"token": token}),
            check=_active,
        )

    def _open_colleague_account(self, credentials: Credentials) -> Person:
        """The lead opens a colleague's account, sets their first password; they enrol an authenticator."""
        headers = credentials.headers
        body = new_account(unique_name("colleague"))
        account = self.user.call("POST", USERS, service=DIRECTORY, expect=(201,), headers=headers, json=body)
        tenant_id = self.arrive().tenant_id
        colleague = Person(tenant_id, account["username"], account["id"], (), Login(new_password()))
        set_password(self.user, headers, colleague, expect=(201,))
        enrol_authenticator(self.user, colleague)
        return colleague


class AuthUser(PlatformUser):
    """A person logging in, their apps' tokens checked, and the helpdesk they run."""

    service = "auth"
    wait_time = think_time(1.0, 3.0)
    tasks = [WardLead]  # noqa: RUF012  (locust's own form: it reads the class attribute)
