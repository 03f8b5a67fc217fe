"""Fixtures for the rls-coverage corpus: one empty database per test, built from a few
SQL statements, checked with a minimal contract written next to the test."""

from __future__ import annotations

import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from fitness.config import load_config
from fitness.engine.context import CheckContext, DatabaseTarget
from fitness.engine.fitness_function import Result, Status
from fitness.engine.runner import run_one

TENANT = "(SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)"


class RlsDatabase:
    """An empty database to break on purpose, and the contract that describes it.

    ``{role}``-style placeholders in SQL are replaced by the unique names of roles
    made with :meth:`role`, so that fixtures never collide on a shared server.
    """

    tenant = TENANT

    def __init__(self, url: str, folder: Path) -> None:
        self.url = url
        self.folder = folder
        self.suffix = uuid.uuid4().hex[:8]
        self.roles: dict[str, str] = {}
        with psycopg.connect(url) as conn:
            self.database = str(conn.execute("SELECT current_database()").fetchone()[0])  # type: ignore[index]
            self.server_version = conn.info.server_version
        self.role("directory_service")

    def role(self, base: str, options: str = "NOLOGIN") -> str:
        """Create a role named after ``base``, unique to this database; returns its name."""
        name = f"{base}_{self.suffix}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE ROLE {} {}").format(sql.Identifier(name), sql.SQL(options)))
        self.roles[base] = name
        return name

    def execute(self, statements: str) -> None:
        text = textwrap.dedent(statements)
        for base, name in self.roles.items():
            text = text.replace("{" + base + "}", name)
        text = text.replace("{database}", self.database).replace("{tenant}", TENANT)
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(text)

    def tenant_table(self, table: str = "directory.users") -> None:
        """A correct tenant table: tenant column, keys, RLS forced, one policy for all commands."""
        self.execute(
            f"""
            CREATE SCHEMA IF NOT EXISTS {table.split(".")[0]};
            CREATE TABLE {table} (
                tenant_id uuid NOT NULL,
                id uuid NOT NULL,
                email text,
                PRIMARY KEY (tenant_id, id),
                UNIQUE (tenant_id, email)
            );
            ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
            ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
            CREATE POLICY tenant_isolation ON {table}
                USING (tenant_id = {TENANT}) WITH CHECK (tenant_id = {TENANT});
            """
        )

    def contract(self, extra: str = "", services: str | None = None) -> Path:
        """Write a minimal contract (schema and role per service); returns its path."""
        services = (
            services or f"  directory: {{schema: directory, role: {self.roles['directory_service']}}}\n"
        )
        text = "version: 1\nservices:\n" + services + textwrap.dedent(extra)
        for base, name in self.roles.items():
            text = text.replace("{" + base + "}", name)
        path = self.folder / "quality-attributes.yaml"
        path.write_text(text)
        return path

    def check(self, extra: str = "", services: str | None = None) -> Result:
        config = load_config(self.contract(extra, services))
        target = DatabaseTarget(self.url, "test database", installed_by_fitgate=False)
        return run_one(CheckContext(config, target), "rls-coverage")

    def check_as(self, user: str, password: str) -> Result:
        """The check with the default contract, connected as another role."""
        config = load_config(self.contract())
        url = make_conninfo(self.url, user=user, password=password)
        return run_one(
            CheckContext(config, DatabaseTarget(url, user, installed_by_fitgate=False)), "rls-coverage"
        )

    @staticmethod
    def expect(result: Result, *expected: tuple[str, str]) -> None:
        """The run reported exactly these violations: (subject, part of the message)."""
        assert result.fitness == "rls-coverage"
        found = sorted((v.subject, v.message) for v in result.violations)
        assert result.status is (Status.FAIL if expected else Status.PASS), (result.reason, found)
        unmatched = list(found)
        for subject, fragment in expected:
            match = next((f for f in unmatched if f[0] == subject and fragment in f[1]), None)
            assert match is not None, f"{subject}: {fragment!r} not among {found}"
            unmatched.remove(match)
        assert not unmatched, f"unexpected violations: {unmatched}"

    @staticmethod
    def hint(result: Result, subject: str) -> str:
        hints = [v.hint or "" for v in result.violations if v.subject == subject]
        assert len(hints) == 1, hints
        return hints[0]

    def drop_roles(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            for name in self.roles.values():
                conn.execute(sql.SQL("DROP OWNED BY {} CASCADE").format(sql.Identifier(name)))
                conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


@pytest.fixture
def rls(fitgate_empty_database: str, tmp_path: Path) -> Iterator[RlsDatabase]:
    database = RlsDatabase(fitgate_empty_database, tmp_path)
    yield database
    database.drop_roles()
