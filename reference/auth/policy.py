"""Auth's security policy: token lifetimes, lockout, password hashing; from the environment.

Defaults, and why (each can be set in seconds, like every fitgate duration):

- access tokens live 5 minutes (``FITGATE_AUTH_ACCESS_TOKEN_SECONDS``): every
  service verifies them offline, so a short life bounds what a stolen one is
  worth; revocation reaches them through introspection at once;
- a session lasts at most 12 hours, a clinic's longest shift
  (``FITGATE_AUTH_SESSION_SECONDS``), and its refresh token expires after 2 hours
  unused (``FITGATE_AUTH_REFRESH_IDLE_SECONDS``);
- 5 failed logins within 15 minutes lock the credential for 15 minutes
  (``FITGATE_AUTH_LOCKOUT_THRESHOLD``, ``FITGATE_AUTH_LOCKOUT_WINDOW_SECONDS``,
  ``FITGATE_AUTH_LOCKOUT_SECONDS``): online guessing gets under 500 tries a day,
  while a user who mistypes is back within a quarter of an hour without a
  helpdesk call. A successful login does not reset the count: the window does;
- an enrolment token (login of a user without a second factor) lives 10 minutes
  (``FITGATE_AUTH_ENROLMENT_TOKEN_SECONDS``);
- at most 4 password hashes are computed at once (``FITGATE_AUTH_HASHING_CONCURRENCY``):
  each takes 19 MiB and a core, and a burst of logins must not starve token introspection.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from reference.platform.settings import integer_setting

_PREFIX = "FITGATE_AUTH_"


@dataclass(frozen=True)
class AuthPolicy:
    """The numbers auth's security decisions use."""

    access_token_ttl_s: int = 300
    session_lifetime_s: int = 12 * 3600
    refresh_idle_s: int = 2 * 3600
    lockout_threshold: int = 5
    lockout_window_s: int = 15 * 60
    lockout_duration_s: int = 15 * 60
    enrolment_token_ttl_s: int = 10 * 60
    hashing_concurrency: int = 4

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> AuthPolicy:
        """The policy, with defaults for what the environment does not set; SettingsError otherwise."""
        env = os.environ if environ is None else environ
        default = cls()

        def setting(name: str, fallback: int) -> int:
            return integer_setting(env, _PREFIX + name, fallback, minimum=1)

        return cls(
            access_token_ttl_s=setting("ACCESS_TOKEN_SECONDS", default.access_token_ttl_s),
            session_lifetime_s=setting("SESSION_SECONDS", default.session_lifetime_s),
            refresh_idle_s=setting("REFRESH_IDLE_SECONDS", default.refresh_idle_s),
            lockout_threshold=setting("LOCKOUT_THRESHOLD", default.lockout_threshold),
            lockout_window_s=setting("LOCKOUT_WINDOW_SECONDS", default.lockout_window_s),
            lockout_duration_s=setting("LOCKOUT_SECONDS", default.lockout_duration_s),
            enrolment_token_ttl_s=setting("ENROLMENT_TOKEN_SECONDS", default.enrolment_token_ttl_s),
            hashing_concurrency=setting("HASHING_CONCURRENCY", default.hashing_concurrency),
        )
