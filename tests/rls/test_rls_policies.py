"""Broken policies: dormant, missing, uncovered commands, widening, always-true and fail-open
predicates, and functions a policy must not call."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import RlsDatabase

TABLE = """
    CREATE SCHEMA directory;
    CREATE TABLE directory.users (tenant_id uuid NOT NULL, id uuid NOT NULL, PRIMARY KEY (tenant_id, id));
    ALTER TABLE directory.users ENABLE ROW LEVEL SECURITY;
    ALTER TABLE directory.users FORCE ROW LEVEL SECURITY;
"""


def test_dormant_policies_on_a_table_with_rls_disabled(rls: RlsDatabase) -> None:
    rls.tenant_table()
    rls.execute("ALTER TABLE directory.users DISABLE ROW LEVEL SECURITY")
    result = rls.check()
    rls.expect(
        result,
        ("directory.users", "row-level security is disabled"),
        ("directory.users: tenant_isolation", "the policy is dormant"),
    )
    # the table already has a policy: the fix is to switch RLS on, not to add one
    assert "CREATE POLICY" not in "".join(v.hint or "" for v in result.violations)


def test_rls_enabled_without_any_policy_is_a_silent_deny_all(rls: RlsDatabase) -> None:
    rls.execute(TABLE)
    result = rls.check()
    rls.expect(result, ("directory.users", "has no policy"))
    assert rls.hint(result, "directory.users").startswith("CREATE POLICY tenant_isolation ON directory.users")


def test_commands_not_covered_by_a_tenant_policy(rls: RlsDatabase) -> None:
    rls.execute(
        TABLE
        + """
        CREATE POLICY tenant_read ON directory.users FOR SELECT USING (tenant_id = {tenant});
        CREATE POLICY tenant_delete ON directory.users FOR DELETE USING (tenant_id = {tenant});
    """
    )
    result = rls.check()
    rls.expect(
        result, ("directory.users", "no permissive policy covers INSERT, UPDATE with the tenant predicate")
    )
    hint = rls.hint(result, "directory.users")
    assert "CREATE POLICY tenant_insert ON directory.users FOR INSERT WITH CHECK (tenant_id = (SELECT" in hint
    assert "CREATE POLICY tenant_update ON directory.users FOR UPDATE USING (tenant_id = (SELECT" in hint


def test_a_restrictive_tenant_policy_alone_covers_nothing(rls: RlsDatabase) -> None:
    rls.execute(
        TABLE
        + """
        CREATE POLICY floor ON directory.users AS RESTRICTIVE USING (tenant_id = {tenant});
    """
    )
    rls.expect(rls.check(), ("directory.users", "covers SELECT, INSERT, UPDATE, DELETE"))


def test_an_insert_policy_without_with_check_denies_and_is_not_a_leak(rls: RlsDatabase) -> None:
    rls.execute(
        TABLE
        + """
        CREATE POLICY tenant_read ON directory.users FOR SELECT USING (tenant_id = {tenant});
        CREATE POLICY tenant_change ON directory.users FOR UPDATE USING (tenant_id = {tenant});
        CREATE POLICY tenant_delete ON directory.users FOR DELETE USING (tenant_id = {tenant});
        CREATE POLICY inserts ON directory.users FOR INSERT;
    """
    )
    # UPDATE without WITH CHECK checks new rows with USING: covered
    rls.expect(rls.check(), ("directory.users", "covers INSERT with the tenant predicate"))


def test_update_whose_with_check_lets_a_row_move_to_another_tenant(rls: RlsDatabase) -> None:
    rls.tenant_table()
    rls.execute("""
        DROP POLICY tenant_isolation ON directory.users;
        CREATE POLICY tenant_rows ON directory.users FOR ALL USING (tenant_id = {tenant})
            WITH CHECK (tenant_id IS NOT NULL);
    """)
    result = rls.check()
    rls.expect(
        result,
        (
            "directory.users: tenant_rows",
            "permissive ALL policy whose WITH CHECK clause does not compare tenant_id with app.tenant_id; "
            "permissive policies are OR-ed, so every role can write rows for any tenant.",
        ),
    )
    assert rls.hint(result, "directory.users: tenant_rows") == (
        f"ALTER POLICY tenant_rows ON directory.users USING (tenant_id = {rls.tenant}) "
        f"WITH CHECK (tenant_id = {rls.tenant});"
    )


def test_an_extra_permissive_policy_ors_the_tenant_filter_away(rls: RlsDatabase) -> None:
    auditor = rls.role("auditor")
    rls.tenant_table()
    rls.execute("CREATE POLICY audit_read ON directory.users FOR SELECT TO {auditor} USING (true)")
    result = rls.check()
    rls.expect(
        result,
        (
            "directory.users: audit_read",
            f"permissive SELECT policy whose USING clause is always true; permissive policies are OR-ed, "
            f"so role {auditor} can see other tenants' rows.",
        ),
    )
    assert rls.hint(result, "directory.users: audit_read") == "DROP POLICY audit_read ON directory.users;"


def test_a_narrowing_condition_written_as_a_permissive_policy(rls: RlsDatabase) -> None:
    rls.tenant_table()
    rls.execute("CREATE POLICY live_only ON directory.users FOR SELECT USING (email IS NOT NULL)")
    result = rls.check()
    rls.expect(result, ("directory.users: live_only", "USING clause does not compare tenant_id"))
    assert rls.hint(result, "directory.users: live_only") == (
        "DROP POLICY live_only ON directory.users;\n"
        "CREATE POLICY live_only ON directory.users AS RESTRICTIVE FOR SELECT TO PUBLIC "
        "USING ((email IS NOT NULL));"
    )


@pytest.mark.parametrize(
    ("clauses", "message"),
    [
        ("FOR INSERT WITH CHECK (true)", "WITH CHECK clause is always true"),
        ("FOR UPDATE USING (true) WITH CHECK (true)", "USING clause is always true"),
        ("FOR DELETE USING (true)", "USING clause is always true"),
    ],
)
def test_always_true_on_write_commands(rls: RlsDatabase, clauses: str, message: str) -> None:
    rls.tenant_table()
    rls.execute(f"CREATE POLICY open_door ON directory.users {clauses}")
    expected = [("directory.users: open_door", message)]
    if "UPDATE" in clauses:
        expected.append(("directory.users: open_door", "WITH CHECK clause is always true"))
    rls.expect(rls.check(), *expected)


@pytest.mark.parametrize(
    ("predicate", "message"),
    [
        (
            "current_setting('app.tenant_id', true) IS NULL OR tenant_id = {tenant}",
            "shows every tenant's rows when no tenant is set",
        ),
        (
            "tenant_id = COALESCE(NULLIF(current_setting('app.tenant_id', true), ''), tenant_id::text)::uuid",
            "uses COALESCE on app.tenant_id",
        ),
        (
            "COALESCE(current_setting('app.tenant_id', true), '') = '' OR tenant_id = {tenant}",
            "shows every tenant's rows when no tenant is set",
        ),
    ],
)
def test_fail_open_predicates(rls: RlsDatabase, predicate: str, message: str) -> None:
    rls.execute(TABLE + f"CREATE POLICY tenant_isolation ON directory.users USING ({predicate})")
    result = rls.check()
    rls.expect(result, ("directory.users: tenant_isolation", message))
    hint = rls.hint(result, "directory.users: tenant_isolation")
    assert hint.startswith(
        "ALTER POLICY tenant_isolation ON directory.users USING (tenant_id = (SELECT NULLIF("
    )


def test_a_policy_comparing_the_raw_setting_with_a_text_tenant_column(rls: RlsDatabase) -> None:
    rls.execute("""
        CREATE SCHEMA directory;
        CREATE TABLE directory.users (tenant_id text NOT NULL PRIMARY KEY);
        ALTER TABLE directory.users ENABLE ROW LEVEL SECURITY;
        ALTER TABLE directory.users FORCE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON directory.users
            USING (tenant_id = current_setting('app.tenant_id', true));
    """)
    rls.expect(
        rls.check(),
        ("directory.users", "tenant_id is text, not uuid"),
        ("directory.users: tenant_isolation", "an empty setting matches rows whose tenant_id is empty"),
    )


@pytest.mark.parametrize(
    "predicate",
    [
        "tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)",
        "(SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid) = tenant_id",
        "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid",
        "NULLIF(current_setting('app.tenant_id', true), '')::uuid = tenant_id",
        "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid AND id IS NOT NULL",
    ],
)
def test_the_canonical_predicates_pass(rls: RlsDatabase, predicate: str) -> None:
    rls.execute(
        TABLE
        + f"""
        CREATE POLICY tenant_isolation ON directory.users USING ({predicate}) WITH CHECK ({predicate});
    """
    )
    result = rls.check()
    rls.expect(result)
    assert not any(n.startswith("policies that fail closed by raising") for n in result.notes)


def test_the_bare_current_setting_form_passes_with_a_note(rls: RlsDatabase) -> None:
    rls.execute(
        TABLE
        + """
        CREATE POLICY tenant_isolation ON directory.users
            USING (tenant_id = current_setting('app.tenant_id')::uuid);
    """
    )
    result = rls.check()
    rls.expect(result)
    assert any(
        n.startswith("policies that fail closed by raising an error")
        and "directory.users: tenant_isolation" in n
        for n in result.notes
    )


@pytest.mark.parametrize(
    "definition",
    [
        "LANGUAGE sql STABLE AS $$ SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid $$",
        "LANGUAGE sql STABLE RETURN NULLIF(current_setting('app.tenant_id', true), '')::uuid",
        "LANGUAGE sql STABLE BEGIN ATOMIC"
        " SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid; END",
        "LANGUAGE plpgsql STABLE AS $$ BEGIN RETURN NULLIF(current_setting('app.tenant_id', true), '')::uuid;"
        " END $$",
    ],
)
def test_a_stable_wrapper_around_the_setting_passes(rls: RlsDatabase, definition: str) -> None:
    rls.execute(
        TABLE
        + f"""
        CREATE SCHEMA app;
        CREATE FUNCTION app.current_tenant() RETURNS uuid {definition};
        ALTER FUNCTION app.current_tenant() SET search_path = pg_catalog, pg_temp;
        CREATE POLICY tenant_isolation ON directory.users
            USING (tenant_id = (SELECT app.current_tenant())) WITH CHECK (tenant_id = app.current_tenant());
    """
    )
    rls.expect(rls.check())


def test_an_immutable_wrapper_inside_a_policy(rls: RlsDatabase) -> None:
    rls.execute(
        TABLE
        + """
        CREATE SCHEMA app;
        CREATE FUNCTION app.current_tenant() RETURNS uuid LANGUAGE sql IMMUTABLE
            SET search_path = pg_catalog
            AS $$ SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid $$;
        CREATE POLICY tenant_isolation ON directory.users USING (tenant_id = app.current_tenant());
    """
    )
    result = rls.check()
    rls.expect(
        result,
        ("directory.users: tenant_isolation", "it calls app.current_tenant(), which is declared IMMUTABLE"),
    )
    assert (
        rls.hint(result, "directory.users: tenant_isolation") == "ALTER FUNCTION app.current_tenant() STABLE;"
    )


def test_a_security_definer_function_inside_a_policy(rls: RlsDatabase) -> None:
    rls.execute(
        TABLE
        + """
        CREATE SCHEMA app;
        CREATE FUNCTION app.tenant_of(uuid) RETURNS uuid LANGUAGE sql STABLE SECURITY DEFINER
            SET search_path = pg_catalog AS $$ SELECT $1 $$;
        CREATE POLICY tenant_isolation ON directory.users
            USING (tenant_id = {tenant} AND app.tenant_of(id) IS NOT NULL);
    """
    )
    result = rls.check()
    rls.expect(
        result,
        (
            "directory.users: tenant_isolation",
            "it calls app.tenant_of(uuid), which is SECURITY DEFINER",
        ),
    )
    assert rls.hint(result, "directory.users: tenant_isolation") == (
        "ALTER FUNCTION app.tenant_of(uuid) SECURITY INVOKER;"
    )


def test_a_wrapper_fitgate_cannot_read_is_named(rls: RlsDatabase) -> None:
    rls.execute(
        TABLE
        + """
        CREATE SCHEMA app;
        CREATE FUNCTION app.current_tenant() RETURNS uuid LANGUAGE plpgsql STABLE
            SET search_path = pg_catalog
            AS $$ DECLARE t uuid; BEGIN t := current_setting('app.tenant_id', true); RETURN t; END $$;
        CREATE POLICY tenant_isolation ON directory.users USING (tenant_id = app.current_tenant());
    """
    )
    rls.expect(
        rls.check(),
        (
            "directory.users: tenant_isolation",
            "calls app.current_tenant(), whose body is not a single expression fitgate can check",
        ),
    )


def test_a_widening_policy_for_a_declared_bypass_role_is_honoured(rls: RlsDatabase) -> None:
    exporter = rls.role("lake_exporter")
    rls.tenant_table()
    rls.execute("CREATE POLICY export_all ON directory.users FOR SELECT TO {lake_exporter} USING (true)")
    result = rls.check(f"""
        platform_roles:
          {exporter}: {{bypass_rls: true, reason: exports every tenant to the lake}}
    """)
    rls.expect(result)
    assert any(n.startswith("directory.users: export_all lets role") for n in result.notes)


def test_a_restrictive_floor_is_recommended_where_there_is_none(rls: RlsDatabase) -> None:
    rls.tenant_table()
    rls.tenant_table("directory.roles")
    rls.execute("""
        CREATE POLICY tenant_floor ON directory.roles AS RESTRICTIVE FOR ALL TO PUBLIC
            USING (tenant_id = {tenant}) WITH CHECK (tenant_id = {tenant});
    """)
    result = rls.check()
    rls.expect(result)
    [note] = [n for n in result.notes if n.startswith("recommended: a RESTRICTIVE tenant policy")]
    assert "directory.users" in note and "directory.roles" not in note
