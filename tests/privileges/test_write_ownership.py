"""write-ownership on deliberately broken databases: one fixture per route to another schema."""

from __future__ import annotations

from fitness.engine.fitness_function import Status

WO = "write-ownership"


def only(platform, result):
    """The single violation about this platform, after checking it is the only one."""
    ours = platform.ours(result.violations)
    assert len(ours) == 1, [(v.subject, v.message) for v in ours]
    return ours[0]


def test_table_privileges_on_another_schema(service_platform):
    service_platform.sql(
        "GRANT INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON license.licenses "
        "TO {p}_directory_service"
    )
    result = service_platform.run(WO)
    assert result.status is Status.FAIL
    violation = only(service_platform, result)
    assert violation.subject == "license.licenses"
    listed = "INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER"
    service = service_platform.role("directory_service")
    assert violation.message.startswith(
        f"{service} has {listed} on license.licenses, a table of service license"
    )
    assert violation.hint == f"REVOKE {listed} ON license.licenses FROM {service};"


def test_truncate_is_explained_as_ignoring_row_level_security(service_platform):
    service_platform.sql("GRANT TRUNCATE ON license.licenses TO {p}_directory_service")
    violation = only(service_platform, service_platform.run(WO))
    assert "TRUNCATE ignores row-level security" in violation.message


def test_a_column_level_grant_invisible_to_has_table_privilege(service_platform):
    service_platform.sql(
        "GRANT USAGE ON SCHEMA license TO {p}_directory_service;"
        "GRANT UPDATE (seats) ON license.licenses TO {p}_directory_service"
    )
    violation = only(service_platform, service_platform.run(WO))
    assert violation.subject == "license.licenses"
    assert "columns (seats) of license.licenses" in violation.message
    assert violation.hint == (
        f"REVOKE UPDATE (seats) ON license.licenses FROM {service_platform.role('directory_service')};"
    )


def test_usage_on_another_service_sequence(service_platform):
    service_platform.sql("GRANT USAGE ON SEQUENCE directory.audit_log_id_seq TO {p}_license_service")
    violation = only(service_platform, service_platform.run(WO))
    assert violation.subject == "directory.audit_log_id_seq"
    assert violation.hint.startswith("REVOKE USAGE ON SEQUENCE directory.audit_log_id_seq FROM")


def test_a_write_granted_to_public(service_platform):
    service_platform.sql("GRANT DELETE ON license.licenses TO PUBLIC")
    violation = only(service_platform, service_platform.run(WO))
    assert violation.subject == "license.licenses"
    assert violation.message.startswith("PUBLIC (every role) has DELETE on license.licenses")
    assert violation.hint == "REVOKE DELETE ON license.licenses FROM PUBLIC;"


def test_create_on_another_service_schema(service_platform):
    service_platform.sql("GRANT CREATE ON SCHEMA license TO {p}_directory_service")
    violation = only(service_platform, service_platform.run(WO))
    assert violation.subject == "license"
    assert (
        violation.hint
        == f"REVOKE CREATE ON SCHEMA license FROM {service_platform.role('directory_service')};"
    )


def test_default_privileges_in_one_schema(service_platform):
    service_platform.sql(
        "ALTER DEFAULT PRIVILEGES FOR ROLE {p}_license_owner IN SCHEMA license "
        "GRANT INSERT, UPDATE ON TABLES TO {p}_directory_service"
    )
    violation = only(service_platform, service_platform.run(WO))
    assert violation.subject == "license"
    assert "future tables" in violation.message and "INSERT, UPDATE" in violation.message
    owner, service = service_platform.role("license_owner"), service_platform.role("directory_service")
    assert violation.hint == (
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA license "
        f"REVOKE INSERT, UPDATE ON TABLES FROM {service};"
    )


def test_global_default_privileges_apply_where_the_role_creates(service_platform):
    service_platform.sql(
        "ALTER DEFAULT PRIVILEGES FOR ROLE {p}_license_owner GRANT DELETE ON TABLES TO PUBLIC"
    )
    violation = only(service_platform, service_platform.run(WO))
    assert violation.subject == "license"
    assert "to PUBLIC" in violation.message
    assert " IN SCHEMA " not in violation.hint


def test_default_privileges_for_the_own_service_are_fine(service_platform):
    service_platform.sql(
        "ALTER DEFAULT PRIVILEGES FOR ROLE {p}_license_owner IN SCHEMA license "
        "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {p}_license_service"
    )
    assert service_platform.subjects(service_platform.run(WO)) == []


def test_a_table_owned_by_the_service_login_role(service_platform):
    service_platform.sql("ALTER TABLE license.licenses OWNER TO {p}_license_service")
    violation = only(service_platform, service_platform.run(WO))
    assert violation.subject == "license.licenses"
    assert "the role of service license" in violation.message
    assert (
        violation.hint == f"ALTER TABLE license.licenses OWNER TO {service_platform.role('license_owner')};"
    )


def test_a_schema_owned_by_a_login_role(service_platform):
    service_platform.sql("CREATE ROLE {p}_deployer LOGIN; ALTER SCHEMA directory OWNER TO {p}_deployer")
    result = service_platform.run(WO)
    assert service_platform.subjects(result) == ["directory"]
    assert "a login role" in only(service_platform, result).message


def test_a_service_that_can_become_its_owner_role(service_platform):
    service_platform.sql("GRANT {p}_license_owner TO {p}_license_service")
    violation = only(service_platform, service_platform.run(WO))
    assert violation.subject == service_platform.role("license_service")
    assert "switch their row-level security off" in violation.message
    assert violation.hint == (
        f"REVOKE {service_platform.role('license_owner')} FROM {service_platform.role('license_service')};"
    )


def test_inherited_membership_in_another_service_role(service_platform):
    service_platform.sql("GRANT {p}_license_service TO {p}_directory_service")
    result = service_platform.run(WO)
    violation = only(service_platform, result)
    assert violation.subject == service_platform.role("directory_service")
    assert " inherits " in violation.message
    # the probe proves it, and the catalog explains it: a confirmation, not a second violation
    assert any("confirmed" in note for note in result.notes)


def test_noinherit_membership_is_still_a_route_by_set_role(service_platform):
    service_platform.sql(
        "ALTER ROLE {p}_directory_service NOINHERIT;GRANT {p}_license_service TO {p}_directory_service"
    )
    violation = only(service_platform, service_platform.run(WO))
    assert violation.subject == service_platform.role("directory_service")
    assert "can SET ROLE to" in violation.message


def test_a_grant_reached_through_a_group_role(service_platform):
    service_platform.sql(
        "CREATE ROLE {p}_writers NOLOGIN;"
        "GRANT USAGE ON SCHEMA license TO {p}_writers;"
        "GRANT INSERT ON license.licenses TO {p}_writers;"
        "GRANT {p}_writers TO {p}_directory_service"
    )
    violation = only(service_platform, service_platform.run(WO))
    assert violation.subject == "license.licenses"
    assert f"granted to {service_platform.role('writers')}, which it inherits" in violation.message
    assert violation.hint == f"REVOKE INSERT ON license.licenses FROM {service_platform.role('writers')};"


def test_membership_in_pg_write_all_data(service_platform):
    service_platform.sql("GRANT pg_write_all_data TO {p}_directory_service")
    violation = only(service_platform, service_platform.run(WO))
    assert violation.subject == service_platform.role("directory_service")
    assert "pg_write_all_data" in violation.message


ATTRIBUTES = ("SUPERUSER", "BYPASSRLS", "CREATEROLE", "CREATEDB", "REPLICATION")


def test_undeclared_roles_with_a_dangerous_attribute(service_platform):
    service_platform.sql(";".join(f"CREATE ROLE {{p}}_has_{a.lower()} LOGIN {a}" for a in ATTRIBUTES))
    result = service_platform.run(WO)
    assert service_platform.subjects(result) == sorted(f"{{p}}_has_{a.lower()}" for a in ATTRIBUTES)
    for attribute in ATTRIBUTES:
        role = service_platform.role(f"has_{attribute.lower()}")
        violation = next(v for v in result.violations if v.subject == role)
        assert f"has {attribute}" in violation.message
        assert violation.hint.startswith(f"ALTER ROLE {role} NO{attribute}")


def test_a_service_role_with_bypassrls(service_platform):
    service_platform.sql("ALTER ROLE {p}_directory_service BYPASSRLS")
    violation = only(service_platform, service_platform.run(WO))
    assert violation.subject == service_platform.role("directory_service")
    assert "the role of service directory" in violation.message


def test_every_role_that_can_reach_a_bypassrls_role(service_platform):
    service_platform.sql("CREATE ROLE {p}_admin NOLOGIN BYPASSRLS; GRANT {p}_admin TO {p}_directory_service")
    result = service_platform.run(WO)
    assert service_platform.subjects(result) == ["{p}_admin", "{p}_directory_service"]
    reach = next(v for v in result.violations if v.subject == service_platform.role("directory_service"))
    assert f"can SET ROLE to {service_platform.role('admin')}, which has BYPASSRLS" in reach.message


def test_a_declared_bypass_rls_platform_role_is_a_note(service_platform):
    service_platform.sql("CREATE ROLE {p}_lake_exporter LOGIN BYPASSRLS")
    service_platform.contract["platform_roles"] = {
        "{p}_lake_exporter": {"bypass_rls": True, "reason": "reads every tenant for export"}
    }
    result = service_platform.run(WO)
    assert service_platform.subjects(result) == []
    assert any("holds BYPASSRLS as declared: reads every tenant for export" in n for n in result.notes)


def test_a_platform_role_must_declare_bypass_rls(service_platform):
    service_platform.sql("CREATE ROLE {p}_lake_exporter LOGIN BYPASSRLS")
    service_platform.contract["platform_roles"] = {
        "{p}_lake_exporter": {"reason": "reads every tenant for export"}
    }
    assert service_platform.subjects(service_platform.run(WO)) == ["{p}_lake_exporter"]


def test_an_undeclared_member_of_a_declared_bypass_role(service_platform):
    service_platform.sql(
        "CREATE ROLE {p}_lake_exporter NOLOGIN BYPASSRLS;"
        "CREATE ROLE {p}_nightly_job LOGIN;"
        "GRANT {p}_lake_exporter TO {p}_nightly_job"
    )
    service_platform.contract["platform_roles"] = {
        "{p}_lake_exporter": {"bypass_rls": True, "reason": "reads every tenant for export"}
    }
    assert service_platform.subjects(service_platform.run(WO)) == ["{p}_nightly_job"]


def test_a_platform_role_writes_only_what_it_declares(service_platform):
    service_platform.sql(
        "CREATE ROLE {p}_importer LOGIN;GRANT INSERT ON license.licenses, directory.users TO {p}_importer"
    )
    service_platform.contract["platform_roles"] = {
        "{p}_importer": {"writes": ["license.licenses"], "reason": "imports licenses from billing"}
    }
    result = service_platform.run(WO)
    assert service_platform.subjects(result) == ["directory.users"]
    assert "whose declared writes do not include it" in only(service_platform, result).message
    assert any("may write license.licenses as declared" in n for n in result.notes)


def test_an_undeclared_login_role_that_can_write(service_platform):
    service_platform.sql("CREATE ROLE {p}_script LOGIN; GRANT UPDATE ON license.licenses TO {p}_script")
    violation = only(service_platform, service_platform.run(WO))
    assert violation.subject == "license.licenses"
    assert "a login role the contract does not declare" in violation.message


def test_a_partition_granted_by_all_tables_in_schema(service_platform):
    service_platform.sql(
        "SET ROLE {p}_license_owner;"
        "CREATE TABLE license.usage (tenant_id uuid NOT NULL, day date NOT NULL) PARTITION BY RANGE (day);"
        "CREATE TABLE license.usage_2025 PARTITION OF license.usage"
        " FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');"
        "RESET ROLE;"
        "GRANT INSERT ON ALL TABLES IN SCHEMA license TO {p}_directory_service"
    )
    subjects = service_platform.subjects(service_platform.run(WO))
    assert subjects == ["license.licenses", "license.plans", "license.usage", "license.usage_2025"]


def test_the_bootstrap_superuser_is_a_note(service_platform):
    result = service_platform.run(WO)
    assert any("bootstrap superuser" in n and "fitgate connects as it" in n for n in result.notes)


def test_a_declared_role_or_schema_that_does_not_exist(service_platform):
    service_platform.contract["services"]["device"] = {
        "schema": "device",
        "role": "{p}_device_service",
    }
    result = service_platform.run(WO)
    assert service_platform.subjects(result) == ["device", "{p}_device_service"]


def test_works_with_a_minimal_contract(service_platform):
    """Only schema and role per service: the cross-service write is still found."""
    for service in service_platform.contract["services"].values():
        for key in ("publishes", "reads", "global_tables"):
            service.pop(key, None)
    service_platform.sql("GRANT INSERT ON directory.users TO {p}_license_service")
    assert service_platform.subjects(service_platform.run(WO)) == ["directory.users"]


def test_an_identity_sequence_follows_its_table(service_platform):
    """Only the table is reported: its identity sequence changes owner with it."""
    service_platform.sql("ALTER TABLE directory.audit_log OWNER TO {p}_directory_service")
    violation = only(service_platform, service_platform.run(WO))
    assert violation.subject == "directory.audit_log"


def test_a_superuser_service_role_is_reported_not_probed(service_platform):
    service_platform.sql("ALTER ROLE {p}_license_service SUPERUSER")
    result = service_platform.run(WO)
    assert service_platform.subjects(result) == ["{p}_license_service"]
    assert any("is a superuser and was not probed" in n for n in result.notes)


DEFINER_FUNCTION = """
SET ROLE {p}_license_owner;
CREATE FUNCTION license.grant_seats(tenant uuid, seats integer) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog
AS $$ INSERT INTO license.licenses (tenant_id, seats) VALUES (tenant, seats) $$;
RESET ROLE;
"""


def test_a_security_definer_function_another_service_can_call(service_platform):
    service_platform.sql(DEFINER_FUNCTION + "GRANT USAGE ON SCHEMA license TO {p}_directory_service")
    violation = only(service_platform, service_platform.run(WO))
    assert violation.subject == "license.grant_seats(tenant uuid, seats integer)"
    assert "runs as " + service_platform.role("license_owner") in violation.message
    assert "EXECUTE is granted to PUBLIC, the default" in violation.message
    assert violation.hint == (
        "REVOKE EXECUTE ON FUNCTION license.grant_seats(tenant uuid, seats integer) FROM PUBLIC;"
    )


def test_a_security_definer_function_out_of_reach_is_not_a_route(service_platform):
    """Without USAGE on the schema no other service can call it; its own service may."""
    service_platform.sql(DEFINER_FUNCTION)
    assert service_platform.subjects(service_platform.run(WO)) == []
