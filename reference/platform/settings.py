"""A service's settings, read from the environment once at start-up.

Variables (``<SERVICE>`` is the service name in upper case, e.g. ``DIRECTORY``):

- ``FITGATE_<SERVICE>_DATABASE_URL``: the service's own URL (its login role);
  otherwise ``FITGATE_DATABASE_URL`` with the user swapped for the service role
  (and any password dropped: a superuser's password is not the service's);
- ``FITGATE_<SERVICE>_POOL_MIN_SIZE`` / ``_POOL_MAX_SIZE`` (default 1 / 10),
  ``FITGATE_POOL_TIMEOUT_SECONDS`` (default 5);
- ``FITGATE_ADMIN_TOKEN``: the platform admin bearer token (admin endpoints are
  refused while it is unset);
- ``FITGATE_TOKEN_ISSUER`` / ``FITGATE_TOKEN_AUDIENCE``: the ``iss`` and ``aud``
  of access tokens (defaults ``fitgate-auth`` / ``fitgate-platform``);
- ``FITGATE_PUBLIC_KEY_CACHE_SECONDS``: how long verification keys are cached (default 30);
- ``FITGATE_LOG_LEVEL``: ``DEBUG``, ``INFO`` (default), ``WARNING`` or ``ERROR``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from reference.platform.errors import SettingsError

DEFAULT_ISSUER = "fitgate-auth"
DEFAULT_AUDIENCE = "fitgate-platform"
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True)
class Settings:
    """Everything a service reads from its environment."""

    service: str
    role: str
    database_url: str
    pool_min_size: int = 1
    pool_max_size: int = 10
    pool_timeout_s: float = 5.0
    admin_token: str | None = None
    token_issuer: str = DEFAULT_ISSUER
    token_audience: str = DEFAULT_AUDIENCE
    public_key_cache_s: float = 30.0
    log_level: str = "INFO"

    @classmethod
    def from_environment(cls, service: str, role: str, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings of ``service`` (connecting as ``role``); raise :class:`SettingsError`."""
        env = os.environ if environ is None else environ
        prefix = f"FITGATE_{service.upper().replace('-', '_')}_"
        explicit = env.get(f"{prefix}DATABASE_URL", "").strip()
        base = env.get("FITGATE_DATABASE_URL", "").strip()
        if explicit:
            database_url = explicit
        elif base:
            try:
                database_url = url_for_role(base, role)
            except (psycopg.ProgrammingError, ValueError):
                raise SettingsError("FITGATE_DATABASE_URL", "is not a valid connection string") from None
        else:
            raise SettingsError(
                f"{prefix}DATABASE_URL",
                f"is not set (nor FITGATE_DATABASE_URL): {service} cannot reach its database",
            )
        min_size = integer_setting(env, f"{prefix}POOL_MIN_SIZE", 1, minimum=0)
        max_size = integer_setting(env, f"{prefix}POOL_MAX_SIZE", 10, minimum=1)
        if min_size > max_size:
            raise SettingsError(f"{prefix}POOL_MIN_SIZE", f"{min_size} is more than POOL_MAX_SIZE {max_size}")
        log_level = env.get("FITGATE_LOG_LEVEL", "INFO").strip().upper() or "INFO"
        if log_level not in _LOG_LEVELS:
            raise SettingsError("FITGATE_LOG_LEVEL", f"must be one of {', '.join(_LOG_LEVELS)}")
        return cls(
            service=service,
            role=role,
            database_url=database_url,
            pool_min_size=min_size,
            pool_max_size=max_size,
            pool_timeout_s=number_setting(env, "FITGATE_POOL_TIMEOUT_SECONDS", 5.0),
            admin_token=env.get("FITGATE_ADMIN_TOKEN") or None,
            token_issuer=env.get("FITGATE_TOKEN_ISSUER") or DEFAULT_ISSUER,
            token_audience=env.get("FITGATE_TOKEN_AUDIENCE") or DEFAULT_AUDIENCE,
            public_key_cache_s=number_setting(env, "FITGATE_PUBLIC_KEY_CACHE_SECONDS", 30.0),
            log_level=log_level,
        )


def url_for_role(url: str, role: str) -> str:
    """``url`` with its user replaced by ``role`` and its password removed (URL or key=value form)."""
    if "://" not in url:
        params = {k: v for k, v in conninfo_to_dict(url).items() if k != "password"}
        params["user"] = role
        return make_conninfo("", **params)
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{quote(role, safe='')}@{host}"))


def url_user(url: str) -> str | None:
    """The user named in a connection string, if any."""
    if "://" not in url:
        user = conninfo_to_dict(url).get("user")
        return str(user) if user else None
    parts = urlsplit(url)
    return unquote(parts.username) if parts.username else None


def integer_setting(env: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    """The integer in ``env[name]`` (``default`` if unset); :class:`SettingsError` naming it otherwise."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(name, f"{raw!r} is not an integer") from None
    if value < minimum:
        raise SettingsError(name, f"must be at least {minimum}")
    return value


def number_setting(env: Mapping[str, str], name: str, default: float) -> float:
    """The positive number in ``env[name]`` (``default`` if unset); :class:`SettingsError` otherwise."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(name, f"{raw!r} is not a number") from None
    if value <= 0:
        raise SettingsError(name, "must be more than 0")
    return value
