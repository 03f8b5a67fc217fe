"""Broken tenant tables: RLS flags (children included), the tenant column, its index and keys,
and declarations of global tables."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import RlsDatabase


def test_rls_disabled(rls: RlsDatabase) -> None:
    rls.execute("""
        CREATE SCHEMA directory;
        CREATE TABLE directory.users (tenant_id uuid NOT NULL PRIMARY KEY);
    """)
    result = rls.check()
    rls.expect(result, ("directory.users", "row-level security is disabled"))
    hint = rls.hint(result, "directory.users")
    assert "ALTER TABLE directory.users ENABLE ROW LEVEL SECURITY;" in hint
    assert "ALTER TABLE directory.users FORCE ROW LEVEL SECURITY;" in hint
    assert "CREATE POLICY tenant_isolation ON directory.users FOR ALL USING" in hint


def test_rls_enabled_but_not_forced(rls: RlsDatabase) -> None:
    rls.tenant_table()
    rls.execute("ALTER TABLE directory.users NO FORCE ROW LEVEL SECURITY")
    result = rls.check()
    rls.expect(result, ("directory.users", "enabled but not forced"))
    assert rls.hint(result, "directory.users") == "ALTER TABLE directory.users FORCE ROW LEVEL SECURITY;"


PARTITIONED = """
    CREATE SCHEMA directory;
    CREATE TABLE directory.events (tenant_id uuid NOT NULL, id uuid NOT NULL, PRIMARY KEY (tenant_id, id))
        PARTITION BY HASH (tenant_id);
    CREATE TABLE directory.events_0 PARTITION OF directory.events FOR VALUES WITH (MODULUS 2, REMAINDER 0);
    CREATE TABLE directory.events_1 PARTITION OF directory.events FOR VALUES WITH (MODULUS 2, REMAINDER 1);
    ALTER TABLE directory.events ENABLE ROW LEVEL SECURITY;
    ALTER TABLE directory.events FORCE ROW LEVEL SECURITY;
    CREATE POLICY tenant_isolation ON directory.events
        USING (tenant_id = {tenant}) WITH CHECK (tenant_id = {tenant});
    ALTER TABLE directory.events_0 ENABLE ROW LEVEL SECURITY;
    ALTER TABLE directory.events_0 FORCE ROW LEVEL SECURITY;
"""


def test_a_partition_without_rls_is_reported_although_its_parent_has_it(rls: RlsDatabase) -> None:
    rls.execute(PARTITIONED)
    rls.expect(
        rls.check(),
        ("directory.events_1", "disabled on this partition of directory.events: querying it directly"),
    )


def test_a_partition_in_another_schema_is_judged_too(rls: RlsDatabase) -> None:
    rls.execute(
        PARTITIONED
        + """
        ALTER TABLE directory.events_1 ENABLE ROW LEVEL SECURITY;
        ALTER TABLE directory.events_1 FORCE ROW LEVEL SECURITY;
        CREATE SCHEMA archive;
        CREATE TABLE archive.events_old (tenant_id uuid NOT NULL, id uuid NOT NULL);
        ALTER TABLE directory.events DETACH PARTITION directory.events_1;
        ALTER TABLE directory.events ATTACH PARTITION archive.events_old
            FOR VALUES WITH (MODULUS 2, REMAINDER 1);
        DROP TABLE directory.events_1;
    """
    )
    rls.expect(rls.check(), ("archive.events_old", "disabled on this partition of directory.events"))


def test_a_partition_with_rls_not_forced(rls: RlsDatabase) -> None:
    rls.execute(PARTITIONED + "ALTER TABLE directory.events_1 ENABLE ROW LEVEL SECURITY;")
    rls.expect(
        rls.check(),
        ("directory.events_1", "not forced, so the owner of this partition of directory.events"),
    )


def test_an_inheritance_child_without_rls(rls: RlsDatabase) -> None:
    rls.tenant_table()
    rls.execute("""
        CREATE TABLE directory.admins (level int) INHERITS (directory.users);
        CREATE INDEX ON directory.admins (tenant_id);
    """)
    result = rls.check()
    rls.expect(result, ("directory.admins", "disabled on this inheritance child of directory.users"))
    # unlike a partition, a child is queried on its own: it needs its own policy
    assert "CREATE POLICY" in rls.hint(result, "directory.admins")


def test_an_inheritance_child_is_judged_like_a_table(rls: RlsDatabase) -> None:
    rls.tenant_table()
    rls.execute("""
        CREATE TABLE directory.admins (level int) INHERITS (directory.users);
        ALTER TABLE directory.admins ENABLE ROW LEVEL SECURITY;
        ALTER TABLE directory.admins FORCE ROW LEVEL SECURITY;
    """)
    rls.expect(
        rls.check(),
        ("directory.admins", "no policy"),
        ("directory.admins", "no valid index leads with tenant_id"),
    )


def test_a_nullable_tenant_column(rls: RlsDatabase) -> None:
    rls.tenant_table()
    rls.execute("""
        ALTER TABLE directory.users DROP CONSTRAINT users_pkey;
        ALTER TABLE directory.users ALTER COLUMN tenant_id DROP NOT NULL;
        CREATE INDEX ON directory.users (tenant_id, id);
    """)
    result = rls.check()
    rls.expect(result, ("directory.users", "tenant_id may be NULL"))
    assert rls.hint(result, "directory.users") == (
        "ALTER TABLE directory.users ALTER COLUMN tenant_id SET NOT NULL;"
    )


def test_a_not_null_constraint_not_yet_validated_does_not_count(rls: RlsDatabase) -> None:
    if rls.server_version < 180000:
        pytest.skip("NOT NULL ... NOT VALID exists from PostgreSQL 18")
    rls.tenant_table()
    rls.execute("""
        ALTER TABLE directory.users DROP CONSTRAINT users_pkey;
        ALTER TABLE directory.users ALTER COLUMN tenant_id DROP NOT NULL;
        CREATE INDEX ON directory.users (tenant_id, id);
        ALTER TABLE directory.users ADD CONSTRAINT users_tenant_present NOT NULL tenant_id NOT VALID;
    """)
    rls.expect(rls.check(), ("directory.users", "tenant_id may be NULL"))


def test_a_nullable_column_is_reported_on_the_parent_only(rls: RlsDatabase) -> None:
    rls.execute(
        PARTITIONED.replace(
            "tenant_id uuid NOT NULL, id uuid NOT NULL, PRIMARY KEY (tenant_id, id)",
            "tenant_id uuid, id uuid NOT NULL",
        )
        + "CREATE INDEX ON directory.events (tenant_id);"
        + "ALTER TABLE directory.events_1 ENABLE ROW LEVEL SECURITY;"
        + "ALTER TABLE directory.events_1 FORCE ROW LEVEL SECURITY;"
    )
    rls.expect(rls.check(), ("directory.events", "tenant_id may be NULL"))


def test_a_tenant_column_that_is_not_uuid(rls: RlsDatabase) -> None:
    rls.execute("""
        CREATE SCHEMA directory;
        CREATE TABLE directory.users (tenant_id text NOT NULL, id uuid NOT NULL, PRIMARY KEY (tenant_id, id));
        ALTER TABLE directory.users ENABLE ROW LEVEL SECURITY;
        ALTER TABLE directory.users FORCE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON directory.users
            USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
    """)
    result = rls.check()
    rls.expect(result, ("directory.users", "tenant_id is text, not uuid"))
    assert "ALTER COLUMN tenant_id TYPE uuid USING tenant_id::uuid;" in rls.hint(result, "directory.users")


def test_no_index_leads_with_the_tenant_column(rls: RlsDatabase) -> None:
    rls.execute("""
        CREATE SCHEMA directory;
        CREATE TABLE directory.users (tenant_id uuid NOT NULL, id uuid NOT NULL, email text);
        CREATE INDEX ON directory.users (email, tenant_id);
        CREATE INDEX ON directory.users (tenant_id) WHERE email IS NOT NULL;
        ALTER TABLE directory.users ENABLE ROW LEVEL SECURITY;
        ALTER TABLE directory.users FORCE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON directory.users USING (tenant_id = {tenant});
    """)
    result = rls.check()
    rls.expect(result, ("directory.users", "no valid index leads with tenant_id"))
    assert rls.hint(result, "directory.users") == "CREATE INDEX ON directory.users (tenant_id);"


def test_a_partition_without_the_index_of_its_parent(rls: RlsDatabase) -> None:
    rls.execute(
        PARTITIONED.replace("PRIMARY KEY (tenant_id, id)", "CHECK (true)")
        + "ALTER TABLE directory.events_1 ENABLE ROW LEVEL SECURITY;"
        + "ALTER TABLE directory.events_1 FORCE ROW LEVEL SECURITY;"
        + "CREATE INDEX ON directory.events_0 (tenant_id);"
    )
    # the parent has none: reported once, on the parent, whose index reaches every partition
    rls.expect(rls.check(), ("directory.events", "no valid index leads with tenant_id"))


def test_a_unique_constraint_without_the_tenant_column(rls: RlsDatabase) -> None:
    rls.tenant_table()
    rls.execute("ALTER TABLE directory.users ADD CONSTRAINT users_email_key UNIQUE (email)")
    result = rls.check()
    rls.expect(result, ("directory.users", "unique constraint users_email_key (email) leaves tenant_id out"))
    assert rls.hint(result, "directory.users") == (
        "ALTER TABLE directory.users DROP CONSTRAINT users_email_key, "
        "ADD CONSTRAINT users_email_key UNIQUE (tenant_id, email);"
    )


def test_a_unique_index_and_a_primary_key_without_the_tenant_column(rls: RlsDatabase) -> None:
    rls.execute("""
        CREATE SCHEMA directory;
        CREATE TABLE directory.users (tenant_id uuid NOT NULL, id uuid PRIMARY KEY, email text);
        CREATE INDEX ON directory.users (tenant_id);
        CREATE UNIQUE INDEX users_email ON directory.users (lower(email)) WHERE email IS NOT NULL;
        ALTER TABLE directory.users ENABLE ROW LEVEL SECURITY;
        ALTER TABLE directory.users FORCE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON directory.users USING (tenant_id = {tenant});
    """)
    result = rls.check()
    rls.expect(
        result,
        ("directory.users", "primary key users_pkey (id) leaves tenant_id out"),
        ("directory.users", "unique index directory.users_email (lower(email)) leaves tenant_id out"),
    )
    hints = {v.hint for v in result.violations}
    assert (
        "DROP INDEX directory.users_email;\n"
        "CREATE UNIQUE INDEX users_email ON directory.users (tenant_id, lower(email))"
        " WHERE email IS NOT NULL;"
    ) in hints


def test_a_foreign_key_to_a_tenant_table_without_the_tenant_column(rls: RlsDatabase) -> None:
    rls.tenant_table()
    rls.tenant_table("directory.roles")
    rls.execute("""
        ALTER TABLE directory.roles ADD COLUMN user_id uuid;
        CREATE UNIQUE INDEX ON directory.users (id, tenant_id);
        -- pairs the tenant columns, in whatever position: correct
        ALTER TABLE directory.roles ADD CONSTRAINT roles_user_fk
            FOREIGN KEY (user_id, tenant_id) REFERENCES directory.users (id, tenant_id);
    """)
    rls.execute("""
        CREATE UNIQUE INDEX users_bare_id ON directory.users (id);
        ALTER TABLE directory.roles ADD CONSTRAINT roles_user_bare_fk
            FOREIGN KEY (user_id) REFERENCES directory.users (id);
    """)
    result = rls.check()
    rls.expect(
        result,
        (
            "directory.roles",
            "foreign key roles_user_bare_fk (user_id) references tenant table directory.users (id)",
        ),
        ("directory.users", "unique index directory.users_bare_id (id) leaves tenant_id out"),
    )
    assert any(
        v.hint
        and v.hint.startswith(
            "ALTER TABLE directory.roles DROP CONSTRAINT roles_user_bare_fk, ADD CONSTRAINT "
            "roles_user_bare_fk FOREIGN KEY (tenant_id, user_id) REFERENCES directory.users (tenant_id, id);"
        )
        for v in result.violations
    )


def test_a_foreign_key_pairing_the_tenant_column_with_another_column_is_reported(rls: RlsDatabase) -> None:
    rls.tenant_table()
    rls.tenant_table("directory.roles")
    rls.execute("""
        ALTER TABLE directory.roles ADD COLUMN user_id uuid;
        ALTER TABLE directory.roles ADD CONSTRAINT roles_user_fk
            FOREIGN KEY (user_id, tenant_id) REFERENCES directory.users (tenant_id, id);
    """)
    rls.expect(rls.check(), ("directory.roles", "foreign key roles_user_fk (user_id, tenant_id)"))


def test_a_global_table_referencing_a_tenant_table(rls: RlsDatabase) -> None:
    rls.tenant_table()
    rls.execute("""
        CREATE UNIQUE INDEX users_bare_id ON directory.users (id);
        CREATE TABLE directory.audit (user_id uuid REFERENCES directory.users (id));
    """)
    rls.expect(
        rls.check(
            "",
            "  directory: {schema: directory, role: {directory_service}, "
            "global_tables: {audit: platform audit}}\n",
        ),
        ("directory.audit", "but directory.audit has no tenant_id column"),
        ("directory.users", "unique index directory.users_bare_id (id) leaves tenant_id out"),
    )


def test_a_table_without_the_tenant_column_must_be_declared_global(rls: RlsDatabase) -> None:
    rls.tenant_table()
    rls.execute("CREATE TABLE directory.settings (key text PRIMARY KEY, value text)")
    result = rls.check()
    rls.expect(result, ("directory.settings", "not declared in services.directory.global_tables"))
    violation = result.violations[0]
    assert violation.location is not None and violation.location.endswith("quality-attributes.yaml:3")


def test_declared_global_tables_are_honoured_and_listed(rls: RlsDatabase) -> None:
    rls.tenant_table()
    rls.execute("""
        CREATE TABLE directory.settings (key text PRIMARY KEY, value text);
        CREATE TABLE directory.log (at timestamptz) PARTITION BY RANGE (at);
        CREATE TABLE directory.log_2026 PARTITION OF directory.log
            FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
    """)
    result = rls.check(
        services=(
            "  directory:\n"
            "    schema: directory\n"
            "    role: {directory_service}\n"
            "    global_tables:\n"
            "      settings: platform-wide switches, no tenant data\n"
            "      log: technical log of the migrations\n"
        )
    )
    rls.expect(result)
    assert (
        "directory.settings is declared global (services.directory.global_tables): "
        "platform-wide switches, no tenant data" in result.notes
    )
    assert any(n.startswith("directory.log is declared global") for n in result.notes)


def test_a_declared_global_table_with_the_tenant_column(rls: RlsDatabase) -> None:
    rls.tenant_table()
    result = rls.check(
        services=(
            "  directory:\n"
            "    schema: directory\n"
            "    role: {directory_service}\n"
            "    global_tables:\n"
            "      users: shared by every tenant\n"
        )
    )
    rls.expect(
        result, ("directory.users", "declared global in services.directory.global_tables but has a tenant_id")
    )
    location = result.violations[0].location
    assert location is not None and location.endswith("quality-attributes.yaml:7")


def test_a_declared_global_table_that_does_not_exist(rls: RlsDatabase) -> None:
    rls.tenant_table()
    result = rls.check(
        services=(
            "  directory:\n"
            "    schema: directory\n"
            "    role: {directory_service}\n"
            "    global_tables: {setings: misspelt}\n"
        )
    )
    rls.expect(result, ("directory.setings", "no such table exists"))
