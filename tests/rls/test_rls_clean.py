"""A correct database reports nothing; a database with nothing to check says so."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fitness.engine.fitness_function import Status

if TYPE_CHECKING:
    from conftest import RlsDatabase

CLEAN = """
    CREATE TABLE directory.settings (key text PRIMARY KEY, value text);
    CREATE POLICY tenant_floor ON directory.users AS RESTRICTIVE FOR ALL TO PUBLIC
        USING (tenant_id = {tenant}) WITH CHECK (tenant_id = {tenant});

    CREATE TABLE directory.events (
        tenant_id uuid NOT NULL, id uuid NOT NULL, user_id uuid NOT NULL,
        PRIMARY KEY (tenant_id, id),
        FOREIGN KEY (tenant_id, user_id) REFERENCES directory.users (tenant_id, id)
    ) PARTITION BY HASH (tenant_id);
    CREATE TABLE directory.events_0 PARTITION OF directory.events FOR VALUES WITH (MODULUS 2, REMAINDER 0);
    CREATE TABLE directory.events_1 PARTITION OF directory.events FOR VALUES WITH (MODULUS 2, REMAINDER 1);
    ALTER TABLE directory.events ENABLE ROW LEVEL SECURITY;
    ALTER TABLE directory.events FORCE ROW LEVEL SECURITY;
    ALTER TABLE directory.events_0 ENABLE ROW LEVEL SECURITY;
    ALTER TABLE directory.events_0 FORCE ROW LEVEL SECURITY;
    ALTER TABLE directory.events_1 ENABLE ROW LEVEL SECURITY;
    ALTER TABLE directory.events_1 FORCE ROW LEVEL SECURITY;
    CREATE POLICY tenant_isolation ON directory.events
        USING (tenant_id = {tenant}) WITH CHECK (tenant_id = {tenant});
    CREATE POLICY tenant_floor ON directory.events AS RESTRICTIVE FOR ALL TO PUBLIC
        USING (tenant_id = {tenant}) WITH CHECK (tenant_id = {tenant});

    CREATE VIEW directory.user_emails WITH (security_invoker = true) AS SELECT id, email FROM directory.users;
    CREATE FUNCTION directory.user_count() RETURNS bigint LANGUAGE sql STABLE
        SET search_path = pg_catalog, pg_temp AS $$ SELECT count(*) FROM directory.users $$;
"""

GLOBAL_SETTINGS = (
    "  directory:\n"
    "    schema: directory\n"
    "    role: {directory_service}\n"
    "    global_tables:\n"
    "      settings: feature switches of the platform, no tenant data\n"
)


def test_a_correct_database_reports_nothing(rls: RlsDatabase) -> None:
    rls.tenant_table()
    rls.execute(CLEAN)
    result = rls.check(services=GLOBAL_SETTINGS)
    rls.expect(result)
    assert result.notes == (
        "directory.settings is declared global (services.directory.global_tables): "
        "feature switches of the platform, no tenant data",
        "tenant tables judged: 4 (2 partitions or inheritance children); policies: 4; "
        f"schemas: directory; database: {rls.database}",
    )


def test_no_service_schema_in_the_database_is_a_skip(rls: RlsDatabase) -> None:
    result = rls.check()
    assert result.status is Status.SKIP
    assert result.reason == (
        f"none of the service schemas (directory) exists in database {rls.database}: nothing to check"
    )


def test_only_global_tables_is_a_skip(rls: RlsDatabase) -> None:
    rls.execute("CREATE SCHEMA directory; CREATE TABLE directory.settings (key text PRIMARY KEY)")
    result = rls.check(services=GLOBAL_SETTINGS)
    assert result.status is Status.SKIP
    assert (
        result.reason
        == "no table in the service schemas (directory) has a tenant_id column: nothing to check"
    )


def test_only_undeclared_tables_fails_rather_than_skips(rls: RlsDatabase) -> None:
    rls.execute("CREATE SCHEMA directory; CREATE TABLE directory.settings (key text PRIMARY KEY)")
    rls.expect(rls.check(), ("directory.settings", "not declared"))


def test_another_tenant_column_and_setting(rls: RlsDatabase) -> None:
    rls.execute("""
        CREATE SCHEMA directory;
        CREATE TABLE directory.users (org uuid NOT NULL, id uuid NOT NULL, PRIMARY KEY (org, id));
        ALTER TABLE directory.users ENABLE ROW LEVEL SECURITY;
        ALTER TABLE directory.users FORCE ROW LEVEL SECURITY;
        CREATE POLICY by_org ON directory.users
            USING (org = NULLIF(current_setting('acme.org', true), '')::uuid);
        CREATE POLICY by_tenant ON directory.users FOR SELECT
            USING (org = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
    """)
    rls.expect(
        rls.check("tenancy: {column: org, setting: acme.org}\n"),
        ("directory.users: by_tenant", "USING clause does not compare org with acme.org"),
    )


def test_a_role_that_can_only_read_the_catalogs_gets_the_same_judgement(rls: RlsDatabase) -> None:
    checker = rls.role("catalog_reader", "LOGIN PASSWORD 'catalog-reader'")
    rls.tenant_table()
    rls.execute("""
        ALTER ROLE {directory_service} IN DATABASE {database} SET app.tenant_id = 'x';
        CREATE POLICY open_read ON directory.users FOR SELECT
            USING (current_setting('app.tenant_id', true) IS NULL OR tenant_id = {tenant});
        CREATE VIEW directory.user_list AS SELECT id FROM directory.users;
        CREATE FUNCTION directory.current_tenant() RETURNS uuid LANGUAGE sql STABLE SECURITY DEFINER
            RETURN NULLIF(current_setting('app.tenant_id', true), '')::uuid;
        GRANT CONNECT ON DATABASE {database} TO {catalog_reader};
    """)
    as_superuser = rls.check()
    as_reader = rls.check_as(checker, "catalog-reader")
    assert as_reader.status is Status.FAIL
    assert as_reader.violations == as_superuser.violations
    assert len(as_reader.violations) == 4
