"""A small service platform, built correctly, that each test then breaks in one way.

Two services on one database, shaped like the reference platform: each schema
owned by a NOLOGIN owner role, each service a LOGIN role with rights on its own
schema only, row-level security enabled, forced and fail-closed on every tenant
table, and directory.users published to (and read by) license. Roles carry the
test's unique prefix; the contract is written to tmp_path from ``contract``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from fitness.config import load_config
from fitness.engine.context import CheckContext, DatabaseTarget
from fitness.engine.fitness_function import Result, Violation
from fitness.engine.runner import run_one
from fitness.pytest_plugin import ScratchDatabase

TENANT_A = "11111111-1111-1111-1111-111111111111"
TENANT_B = "22222222-2222-2222-2222-222222222222"

PLATFORM_SQL = """
CREATE ROLE {p}_directory_owner NOLOGIN;
CREATE ROLE {p}_license_owner NOLOGIN;
CREATE ROLE {p}_directory_service LOGIN;
CREATE ROLE {p}_license_service LOGIN;
CREATE SCHEMA directory AUTHORIZATION {p}_directory_owner;
CREATE SCHEMA license AUTHORIZATION {p}_license_owner;

SET ROLE {p}_directory_owner;
CREATE TABLE directory.users (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    email text NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, email)
);
CREATE TABLE directory.audit_log (
    tenant_id uuid NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    note text NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
RESET ROLE;

SET ROLE {p}_license_owner;
CREATE TABLE license.licenses (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    seats integer NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, id)
);
CREATE TABLE license.plans (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text NOT NULL);
RESET ROLE;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['directory.users', 'directory.audit_log', 'license.licenses'] LOOP
        EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %s'
            ' USING (tenant_id = (SELECT NULLIF(current_setting(''app.tenant_id'', true), '''')::uuid))'
            ' WITH CHECK (tenant_id = (SELECT NULLIF(current_setting(''app.tenant_id'', true), '''')::uuid))',
            t);
    END LOOP;
END $$;

GRANT USAGE ON SCHEMA directory TO {p}_directory_service, {p}_license_service;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA directory TO {p}_directory_service;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA directory TO {p}_directory_service;
GRANT SELECT ON directory.users TO {p}_license_service;
GRANT USAGE ON SCHEMA license TO {p}_license_service;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA license TO {p}_license_service;

INSERT INTO directory.users (tenant_id, email)
SELECT CASE WHEN g % 2 = 0 THEN '{a}'::uuid ELSE '{b}'::uuid END, 'user' || g || '@example.org'
FROM generate_series(1, 2000) AS g;
INSERT INTO license.licenses (tenant_id, seats) VALUES ('{a}', 5), ('{b}', 7);
INSERT INTO license.plans (name) VALUES ('basic');
ANALYZE directory.users;
"""

CONTRACT: dict[str, Any] = {
    "version": 1,
    "system": "privilege-fixture",
    "tenancy": {"column": "tenant_id", "setting": "app.tenant_id"},
    "services": {
        "directory": {
            "schema": "directory",
            "role": "{p}_directory_service",
            "publishes": ["users"],
        },
        "license": {
            "schema": "license",
            "role": "{p}_license_service",
            "publishes": ["licenses"],
            "reads": {"directory": ["users"]},
            "global_tables": {"plans": "the catalogue of plans offered to every tenant"},
        },
    },
}


@dataclass
class ServicePlatform:
    """The built platform: break it with ``sql``, adjust ``contract``, then ``run`` a check."""

    scratch: ScratchDatabase
    folder: Path
    contract: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(CONTRACT))

    @property
    def url(self) -> str:
        return self.scratch.url

    @property
    def prefix(self) -> str:
        return self.scratch.prefix

    def role(self, name: str) -> str:
        return self.scratch.role(name)

    def sql(self, statements: str) -> None:
        """Run test SQL with ``{p}`` standing for the role prefix, ``{a}``/``{b}`` for tenants."""
        self.scratch.execute(
            statements.replace("{p}", self.prefix).replace("{a}", TENANT_A).replace("{b}", TENANT_B)
        )

    def write_contract(self) -> Path:
        text = yaml.safe_dump(self.contract, sort_keys=False).replace("{p}", self.prefix)
        path = self.folder / "quality-attributes.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    def run(self, fitness_id: str) -> Result:
        config = load_config(self.write_contract())
        context = CheckContext(config, DatabaseTarget(self.url, "test database", False))
        return run_one(context, fitness_id)

    def ours(self, violations: Iterable[Violation]) -> list[Violation]:
        """Violations about this platform's objects and roles.

        Roles are cluster-wide: on a shared server, other sessions' roles (an
        undeclared BYPASSRLS role of another test) are real findings, but not
        this test's; they are left out of what the test asserts.
        """
        schemas = {s["schema"] for s in self.contract["services"].values()}
        setting = self.contract.get("tenancy", {}).get("setting", "app.tenant_id")
        return [
            v
            for v in violations
            if v.subject.startswith(self.prefix + "_")
            or v.subject.split(".")[0] in schemas
            or v.subject == setting
        ]

    def subjects(self, result: Result) -> list[str]:
        """The subjects of this platform's violations, sorted, with the prefix shown as {p}."""
        return sorted(v.subject.replace(self.prefix, "{p}") for v in self.ours(result.violations))

    def messages(self, result: Result) -> list[str]:
        return [v.message.replace(self.prefix, "{p}") for v in self.ours(result.violations)]


@pytest.fixture
def service_platform(fitgate_scratch_database: ScratchDatabase, tmp_path: Path) -> ServicePlatform:
    platform = ServicePlatform(fitgate_scratch_database, tmp_path)
    platform.sql(PLATFORM_SQL)
    return platform
