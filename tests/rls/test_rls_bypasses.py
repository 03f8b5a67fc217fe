"""Objects that run with someone else's rights, or that RLS cannot filter."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import RlsDatabase

TWO_SERVICES = (
    (
        "  directory: {{schema: directory, role: {directory_service}}}\n"
        "  license: {{schema: license, role: {license_service}}}\n"
    )
    .replace("{{", "{")
    .replace("}}", "}")
)


def test_a_view_without_security_invoker_owned_by_a_superuser(rls: RlsDatabase) -> None:
    rls.tenant_table()
    rls.execute("CREATE VIEW directory.user_list AS SELECT id, email FROM directory.users")
    result = rls.check()
    rls.expect(
        result,
        (
            "directory.user_list",
            "view over tenant tables (directory.users) without security_invoker: it reads them with its "
            "owner's rights and its owner postgres is a superuser, so it returns every tenant's rows.",
        ),
    )
    assert rls.hint(result, "directory.user_list") == (
        "ALTER VIEW directory.user_list SET (security_invoker = true);"
    )


def test_a_view_owned_by_the_owner_of_a_table_that_is_not_forced(rls: RlsDatabase) -> None:
    owner = rls.role("directory_owner")
    rls.tenant_table()
    rls.execute("""
        ALTER TABLE directory.users OWNER TO {directory_owner};
        ALTER TABLE directory.users NO FORCE ROW LEVEL SECURITY;
        GRANT USAGE, CREATE ON SCHEMA directory TO {directory_owner};
        CREATE SCHEMA reporting;
        CREATE VIEW reporting.users AS SELECT * FROM directory.users;
        ALTER VIEW reporting.users OWNER TO {directory_owner};
    """)
    rls.expect(
        rls.check(),
        ("directory.users", "enabled but not forced"),
        ("reporting.users", f"its owner {owner} owns directory.users without FORCE ROW LEVEL SECURITY"),
    )


def test_a_view_owned_by_a_plain_role_still_runs_with_its_rights(rls: RlsDatabase) -> None:
    owner = rls.role("report_owner")
    rls.tenant_table()
    rls.execute("""
        GRANT USAGE ON SCHEMA directory TO {report_owner};
        GRANT SELECT ON directory.users TO {report_owner};
        CREATE VIEW directory.user_list AS SELECT id FROM directory.users;
        ALTER VIEW directory.user_list OWNER TO {report_owner};
    """)
    rls.expect(
        rls.check(), ("directory.user_list", f"with the rights of its owner {owner}, not the caller's")
    )


def test_security_invoker_views_pass_and_definer_views_over_them_do_not(rls: RlsDatabase) -> None:
    rls.tenant_table()
    rls.execute("""
        CREATE VIEW directory.user_ids WITH (security_invoker = on) AS SELECT id FROM directory.users;
        CREATE VIEW directory.user_count AS SELECT count(*) FROM directory.user_ids;
        CREATE VIEW directory.safe_count WITH (security_invoker) AS SELECT count(*) FROM directory.user_ids;
    """)
    rls.expect(rls.check(), ("directory.user_count", "view over tenant tables (directory.users)"))


def test_a_materialized_view_over_tenant_data(rls: RlsDatabase) -> None:
    rls.tenant_table()
    rls.execute("""
        CREATE VIEW directory.user_ids WITH (security_invoker) AS SELECT id FROM directory.users;
        CREATE MATERIALIZED VIEW directory.user_snapshot AS SELECT id FROM directory.user_ids;
    """)
    rls.expect(
        rls.check(),
        ("directory.user_snapshot", "materialized view holding tenant data (from directory.users)"),
    )


def test_a_materialized_view_with_the_tenant_column(rls: RlsDatabase) -> None:
    rls.tenant_table()
    rls.execute("""
        CREATE MATERIALIZED VIEW directory.tenant_list AS
            SELECT '00000000-0000-0000-0000-000000000001'::uuid AS tenant_id;
    """)
    rls.expect(rls.check(), ("directory.tenant_list", "materialized view holding tenant data:"))


def test_a_foreign_table_holding_tenant_data(rls: RlsDatabase) -> None:
    rls.tenant_table()
    rls.execute("""
        CREATE FOREIGN DATA WRAPPER rls_test_wrapper;
        CREATE SERVER rls_test_server FOREIGN DATA WRAPPER rls_test_wrapper;
        CREATE FOREIGN TABLE directory.remote_users (tenant_id uuid, id uuid) SERVER rls_test_server;
    """)
    rls.expect(rls.check(), ("directory.remote_users", "row-level security cannot apply to a foreign table"))


def test_a_security_definer_function_executable_by_public(rls: RlsDatabase) -> None:
    rls.tenant_table()
    rls.execute("""
        CREATE FUNCTION directory.find_user(email text) RETURNS uuid LANGUAGE sql SECURITY DEFINER
            SET search_path = pg_catalog
            AS $$ SELECT id FROM directory.users WHERE users.email = find_user.email $$;
    """)
    result = rls.check()
    rls.expect(
        result,
        (
            "directory.find_user(text)",
            "SECURITY DEFINER function: it runs with the rights of its owner postgres (who bypasses "
            "row-level security), not the caller's, and every role may execute it (EXECUTE is granted "
            "to PUBLIC, the default).",
        ),
    )
    assert rls.hint(result, "directory.find_user(text)") == (
        "ALTER FUNCTION directory.find_user(text) SECURITY INVOKER;\n"
        "REVOKE EXECUTE ON FUNCTION directory.find_user(text) FROM PUBLIC;"
    )


def test_a_security_definer_procedure_executable_by_another_service(rls: RlsDatabase) -> None:
    license_role = rls.role("license_service")
    rls.tenant_table()
    rls.execute("""
        CREATE SCHEMA license;
        CREATE PROCEDURE directory.purge(uuid) LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog
            AS $$ DELETE FROM directory.users WHERE id = $1 $$;
        REVOKE EXECUTE ON PROCEDURE directory.purge(uuid) FROM PUBLIC;
        GRANT EXECUTE ON PROCEDURE directory.purge(uuid) TO {directory_service}, {license_service};
    """)
    result = rls.check(services=TWO_SERVICES)
    rls.expect(result, ("directory.purge(uuid)", f"other services may execute it ({license_role})"))
    assert (
        rls.hint(result, "directory.purge(uuid)") == "ALTER PROCEDURE directory.purge(uuid) SECURITY INVOKER;"
    )


def test_a_function_with_a_mutable_search_path(rls: RlsDatabase) -> None:
    rls.tenant_table()
    rls.execute("""
        CREATE FUNCTION directory.user_count() RETURNS bigint LANGUAGE sql STABLE
            AS $$ SELECT count(*) FROM directory.users $$;
        -- parsed at creation: the search_path cannot change what it refers to
        CREATE FUNCTION directory.user_total() RETURNS bigint LANGUAGE sql STABLE
            BEGIN ATOMIC SELECT count(*) FROM directory.users; END;
    """)
    result = rls.check()
    rls.expect(result, ("directory.user_count()", "function without SET search_path"))
    assert rls.hint(result, "directory.user_count()").startswith(
        "ALTER FUNCTION directory.user_count() SET search_path = pg_catalog, pg_temp;"
    )


def test_a_user_defined_leakproof_function(rls: RlsDatabase) -> None:
    rls.tenant_table()
    rls.execute("""
        CREATE SCHEMA app;
        CREATE FUNCTION app.same_text(a text, b text) RETURNS boolean LANGUAGE sql IMMUTABLE LEAKPROOF
            SET search_path = pg_catalog AS $$ SELECT a = b $$;
    """)
    result = rls.check()
    rls.expect(result, ("app.same_text(text, text)", "user-defined LEAKPROOF function"))
    assert rls.hint(result, "app.same_text(text, text)") == (
        "ALTER FUNCTION app.same_text(text, text) NOT LEAKPROOF;"
    )


def test_a_rule_on_a_tenant_table(rls: RlsDatabase) -> None:
    rls.tenant_table()
    rls.tenant_table("directory.roles")
    rls.execute("""
        CREATE RULE copy_users AS ON INSERT TO directory.users
            DO ALSO INSERT INTO directory.roles (tenant_id, id) VALUES (NEW.tenant_id, NEW.id);
    """)
    result = rls.check()
    rls.expect(result, ("directory.users: copy_users", "rule on a tenant table"))
    assert rls.hint(result, "directory.users: copy_users").startswith(
        "DROP RULE copy_users ON directory.users;"
    )


def test_a_security_definer_trigger_on_a_tenant_table(rls: RlsDatabase) -> None:
    rls.tenant_table()
    rls.execute("""
        CREATE SCHEMA app;
        CREATE FUNCTION app.stamp() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
            SET search_path = pg_catalog AS $$ BEGIN RETURN NEW; END $$;
        CREATE TRIGGER stamp BEFORE INSERT ON directory.users FOR EACH ROW EXECUTE FUNCTION app.stamp();
        CREATE FUNCTION app.plain() RETURNS trigger LANGUAGE plpgsql
            SET search_path = pg_catalog AS $$ BEGIN RETURN NEW; END $$;
        CREATE TRIGGER plain BEFORE UPDATE ON directory.users FOR EACH ROW EXECUTE FUNCTION app.plain();
    """)
    result = rls.check()
    rls.expect(result, ("directory.users: stamp", "runs SECURITY DEFINER function app.stamp()"))
    assert rls.hint(result, "directory.users: stamp") == "ALTER FUNCTION app.stamp() SECURITY INVOKER;"


def test_a_trigger_function_outside_the_service_schemas_needs_a_fixed_search_path(rls: RlsDatabase) -> None:
    rls.tenant_table()
    rls.execute("""
        CREATE SCHEMA app;
        CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
        CREATE TRIGGER touch BEFORE UPDATE ON directory.users FOR EACH ROW EXECUTE FUNCTION app.touch();
        CREATE FUNCTION app.unrelated() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;
    """)
    rls.expect(rls.check(), ("app.touch()", "function without SET search_path"))
