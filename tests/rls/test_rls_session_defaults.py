"""A default tenant from ALTER ROLE / ALTER DATABASE ... SET, and parameters granted away."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import RlsDatabase

TENANT_A = "00000000-0000-0000-0000-00000000000a"


def test_a_default_tenant_for_a_service_role(rls: RlsDatabase) -> None:
    role = rls.roles["directory_service"]
    rls.tenant_table()
    rls.execute(f"ALTER ROLE {{directory_service}} IN DATABASE {{database}} SET app.tenant_id = '{TENANT_A}'")
    result = rls.check()
    rls.expect(
        result,
        (
            role,
            f"ALTER ROLE {role} IN DATABASE {rls.database} SET app.tenant_id = '{TENANT_A}': every "
            f"session of {role} starts inside a tenant",
        ),
    )
    assert rls.hint(result, role) == f"ALTER ROLE {role} IN DATABASE {rls.database} RESET app.tenant_id;"


def test_a_default_tenant_for_an_undeclared_role_that_reaches_a_service_schema(rls: RlsDatabase) -> None:
    reporter = rls.role("reporter")
    bystander = rls.role("bystander")
    rls.tenant_table()
    rls.execute(f"""
        GRANT USAGE ON SCHEMA directory TO {{reporter}};
        ALTER ROLE {{reporter}} IN DATABASE {{database}} SET App.Tenant_Id = '{TENANT_A}';
        ALTER ROLE {{bystander}} IN DATABASE {{database}} SET app.tenant_id = '{TENANT_A}';
    """)
    result = rls.check()
    # the bystander cannot reach any service schema: its default changes nothing here
    rls.expect(result, (reporter, "starts inside a tenant"))
    assert bystander not in {v.subject for v in result.violations}


def test_a_default_tenant_for_the_whole_database(rls: RlsDatabase) -> None:
    rls.tenant_table()
    rls.execute(f"ALTER DATABASE {{database}} SET app.tenant_id = '{TENANT_A}'")
    result = rls.check()
    rls.expect(result, (f"database {rls.database}", "every session in the database starts inside a tenant"))
    assert (
        rls.hint(result, f"database {rls.database}") == f"ALTER DATABASE {rls.database} RESET app.tenant_id;"
    )


def test_set_on_session_replication_role_granted_to_a_service_role(rls: RlsDatabase) -> None:
    role = rls.roles["directory_service"]
    rls.tenant_table()
    rls.execute("""
        GRANT SET ON PARAMETER session_replication_role TO {directory_service};
        GRANT SET ON PARAMETER work_mem TO {directory_service};
    """)
    result = rls.check()
    # work_mem is settable by everyone anyway: that grant gives nothing
    rls.expect(
        result,
        (
            role,
            "GRANT SET ON PARAMETER session_replication_role: replica mode switches off foreign-key "
            "checks and user triggers.",
        ),
    )
    assert rls.hint(result, role) == f"REVOKE SET ON PARAMETER session_replication_role FROM {role};"


def test_a_parameter_granted_to_a_group_a_service_role_belongs_to(rls: RlsDatabase) -> None:
    group = rls.role("maintenance")
    rls.tenant_table()
    rls.execute("""
        GRANT USAGE ON SCHEMA directory TO {directory_service};
        GRANT {maintenance} TO {directory_service};
        GRANT ALTER SYSTEM ON PARAMETER log_statement TO {maintenance};
    """)
    rls.expect(rls.check(), (group, "GRANT ALTER SYSTEM ON PARAMETER log_statement"))
