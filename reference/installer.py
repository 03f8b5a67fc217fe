"""Installing the reference platform into an empty database: ``install(url)``.

Given a superuser URL, in order:

1. roles (cluster-wide, so they may already exist from another database on the
   same server: kept, and their attributes reset): a NOLOGIN owner role per
   schema (``<schema>_owner``) and a login role per service (``<service>_service``);
   none is a superuser, none bypasses row-level security, none is a member of another;
2. the database: PUBLIC loses CONNECT and TEMPORARY on it and everything on
   schema ``public``; each service role may CONNECT;
3. a schema per service, owned by its owner role;
4. each service's migrations, as its owner role (grants are in the migrations);
5. each service's seed step, as its service role.

Running it again on an installed database applies only new migrations and seeds
only what is missing. The services and their roles are listed here, as a team's
deployment would list them; ``quality-attributes.yaml`` is the contract the
result is checked against, never an input.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import importlib.util
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

import psycopg
from psycopg import sql

from reference.platform.migrations import apply_migrations
from reference.platform.pool import SESSION_OPTIONS


@dataclass(frozen=True)
class ServicePackage:
    """One service as the installer sees it."""

    name: str
    schema: str
    role: str
    package: str

    @property
    def owner(self) -> str:
        return f"{self.schema}_owner"


# In dependency order: a service's seed step may read what the services before it seeded
# (auth seeds credentials for the users directory seeds; license seats for them too).
PLATFORM = (
    ServicePackage("directory", "directory", "directory_service", "reference.directory"),
    ServicePackage("auth", "auth", "auth_service", "reference.auth"),
    ServicePackage("license", "license", "license_service", "reference.license"),
    ServicePackage("device", "device", "device_service", "reference.device"),
)

IS_SUPERUSER = "SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user"
ROLE_EXISTS = "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = %s"
SCHEMA_OWNER = "SELECT pg_catalog.pg_get_userbyid(nspowner) FROM pg_catalog.pg_namespace WHERE nspname = %s"
CREATE_ROLE = "CREATE ROLE {}"
OWNER_ATTRIBUTES = "ALTER ROLE {} WITH NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
SERVICE_ATTRIBUTES = "ALTER ROLE {} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
LOCK_DOWN_DATABASE = (
    "REVOKE ALL ON DATABASE {database} FROM PUBLIC",
    "REVOKE ALL ON SCHEMA public FROM PUBLIC",
)
ALLOW_CONNECT = "GRANT CONNECT ON DATABASE {database} TO {role}"
CREATE_SCHEMA = "CREATE SCHEMA {schema} AUTHORIZATION {owner}"
ALTER_SCHEMA_OWNER = "ALTER SCHEMA {schema} OWNER TO {owner}"

SeedStep = Callable[[psycopg.AsyncConnection[Any]], Awaitable[None]]


class InstallError(Exception):
    """The platform cannot be installed into this database."""


def install(url: str) -> None:
    """Install (or bring up to date) the reference platform in the database at ``url`` (a superuser)."""
    with psycopg.connect(url, autocommit=True) as connection:
        row = connection.execute(IS_SUPERUSER).fetchone()
        if not row or not row[0]:
            raise InstallError("install(url) needs a superuser URL: it creates roles and schemas")
        for service in PLATFORM:
            _ensure_role(connection, service.owner, OWNER_ATTRIBUTES)
            _ensure_role(connection, service.role, SERVICE_ATTRIBUTES)
        _lock_down_database(connection)
        for service in PLATFORM:
            _ensure_schema(connection, service)
        for service in PLATFORM:
            apply_migrations(connection, service.schema, service.owner, service.package)
    asyncio.run(_seed(url))


def _ensure_role(connection: psycopg.Connection[Any], role: str, attributes: str) -> None:
    name = sql.Identifier(role)
    if connection.execute(ROLE_EXISTS, (role,)).fetchone() is None:
        # Another installer, working on another database of this server, may create it meanwhile.
        with contextlib.suppress(psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
            connection.execute(sql.SQL(CREATE_ROLE).format(name))
    connection.execute(sql.SQL(attributes).format(name))


def _lock_down_database(connection: psycopg.Connection[Any]) -> None:
    database = sql.Identifier(connection.info.dbname)
    for statement in LOCK_DOWN_DATABASE:
        connection.execute(sql.SQL(statement).format(database=database))
    for service in PLATFORM:
        connection.execute(
            sql.SQL(ALLOW_CONNECT).format(database=database, role=sql.Identifier(service.role))
        )


def _ensure_schema(connection: psycopg.Connection[Any], service: ServicePackage) -> None:
    names = {"schema": sql.Identifier(service.schema), "owner": sql.Identifier(service.owner)}
    row = connection.execute(SCHEMA_OWNER, (service.schema,)).fetchone()
    if row is None:
        connection.execute(sql.SQL(CREATE_SCHEMA).format(**names))
    elif row[0] != service.owner:
        connection.execute(sql.SQL(ALTER_SCHEMA_OWNER).format(**names))


def _seed_step(service: ServicePackage) -> SeedStep | None:
    if importlib.util.find_spec(f"{service.package}.seed") is None:
        return None
    module = importlib.import_module(f"{service.package}.seed")
    return cast(SeedStep, module.seed)


async def _seed(url: str) -> None:
    """Each service's seed step, on a connection acting as that service's role."""
    for service in PLATFORM:
        step = _seed_step(service)
        if step is None:
            continue
        connection = await psycopg.AsyncConnection.connect(url, autocommit=True, options=SESSION_OPTIONS)
        async with connection:
            await connection.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(service.role)))
            await step(connection)
