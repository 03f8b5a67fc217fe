"""Creating, cloning and dropping databases on a server fitgate may administer."""

from __future__ import annotations

import psycopg
from psycopg import sql

from fitness.database.addresses import with_database


def create_database(server_url: str, name: str, template: str | None = None) -> str:
    """Create ``name`` (as a copy of ``template`` if given); returns its URL."""
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        statement = sql.SQL("{} TEMPLATE {}").format(statement, sql.Identifier(template))
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(statement)
    return with_database(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    """Drop ``name``, disconnecting whoever is still in it."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def database_exists(server_url: str, name: str) -> bool:
    with psycopg.connect(server_url, autocommit=True) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return row is not None


def drop_roles_with_prefix(server_url: str, prefix: str) -> None:
    """Drop every role named ``<prefix>_...``; the databases holding their objects must be gone."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        names = conn.execute(
            "SELECT rolname FROM pg_roles WHERE starts_with(rolname, %s) ORDER BY rolname",
            (prefix + "_",),
        ).fetchall()
        for (name,) in names:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))
