"""Ordered SQL migrations of one service's schema, applied once, as the schema's owner.

A service keeps its migrations in ``<package>/migrations/NNNN_what_it_does.sql``
(numbered from 0001 with no gap). Each file runs in its own transaction under
``SET LOCAL ROLE <schema>_owner``, so every object it creates belongs to the
NOLOGIN owner role, never to the service's login role, and is recorded in
``<schema>.schema_migrations`` with a checksum: a file changed after it was
applied is refused, not silently re-run. Files hold DDL, grants, RLS policies and
``event_types`` rows; they must not contain transaction control.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

import psycopg
from psycopg import sql

from reference.platform.errors import MigrationError

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

CREATE_HISTORY = """
CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""
READ_HISTORY = "SELECT version, name, checksum FROM {schema}.schema_migrations ORDER BY version"
RECORD = "INSERT INTO {schema}.schema_migrations (version, name, checksum) VALUES (%s, %s, %s)"
# Two installers on one database must not interleave; the lock ends with the transaction.
LOCK_SCHEMA = "SELECT pg_advisory_xact_lock(hashtext('fitgate-migrations'), hashtext(%s))"


@dataclass(frozen=True)
class Migration:
    """One migration file."""

    version: int
    name: str
    file: str  # "<package path>/migrations/0001_name.sql", for messages
    text: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def discover_migrations(package: str) -> list[Migration]:
    """The migrations of ``package`` in order (empty if it has no ``migrations`` folder)."""
    folder = resources.files(package).joinpath("migrations")
    if not folder.is_dir():
        return []
    where = package.replace(".", "/") + "/migrations"
    found: list[Migration] = []
    for entry in folder.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _FILE_NAME.match(entry.name)
        if match is None:
            raise MigrationError(f"{where}/{entry.name}: expected a name like 0001_create_users.sql")
        found.append(
            Migration(
                version=int(match.group(1)),
                name=match.group(2),
                file=f"{where}/{entry.name}",
                text=entry.read_text(encoding="utf-8"),
            )
        )
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise MigrationError(
                f"{migration.file}: migration numbers must run 0001, 0002, ... without gaps or "
                f"repeats; expected {expected:04d}"
            )
    return found


def apply_migrations(
    connection: psycopg.Connection[tuple[object, ...]], schema: str, owner: str, package: str
) -> list[Migration]:
    """Apply the migrations of ``package`` not yet recorded in ``schema``; returns those applied.

    ``connection`` is a superuser (or a member of ``owner``) in autocommit mode.
    """
    migrations = discover_migrations(package)
    if not migrations:
        return []
    schema_id = sql.Identifier(schema)
    with connection.transaction():
        connection.execute(LOCK_SCHEMA, (schema,))
        _become(connection, owner, schema)
        connection.execute(sql.SQL(CREATE_HISTORY).format(schema=schema_id))
        # Only the owner reads the history: no grant to anyone.
    applied: list[Migration] = []
    for migration in migrations:
        with connection.transaction():
            connection.execute(LOCK_SCHEMA, (schema,))
            _become(connection, owner, schema)
            history = {
                int(str(v)): (str(n), str(c))
                for v, n, c in connection.execute(sql.SQL(READ_HISTORY).format(schema=schema_id))
            }
            if migration.version in history:
                _check_unchanged(migration, *history[migration.version])
                continue
            try:
                connection.execute(migration.text.encode("utf-8"))
            except psycopg.Error as exc:
                raise MigrationError(f"{migration.file}: {_first_line(exc)}") from exc
            connection.execute(
                sql.SQL(RECORD).format(schema=schema_id),
                (migration.version, migration.name, migration.checksum),
            )
            applied.append(migration)
    return applied


def _become(connection: psycopg.Connection[tuple[object, ...]], owner: str, schema: str) -> None:
    connection.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(owner)))
    connection.execute(sql.SQL("SET LOCAL search_path TO {}, pg_catalog").format(sql.Identifier(schema)))


def _check_unchanged(migration: Migration, name: str, checksum: str) -> None:
    if checksum != migration.checksum or name != migration.name:
        raise MigrationError(
            f"{migration.file}: changed after it was applied as {migration.version:04d}_{name}; "
            "write a new migration instead of editing an applied one"
        )


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else exc.__class__.__name__
