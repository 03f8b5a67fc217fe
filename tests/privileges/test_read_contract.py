"""read-contract (catalog part) on deliberately broken databases: one fixture per read route."""

from __future__ import annotations

from pathlib import Path

from fitness.config import load_config
from fitness.engine import CheckContext, Status
from fitness.engine.fitness_function import Kind
from fitness.engine.runner import run_one
from fitness.privileges.read_contract import ReadContract

RC = "read-contract"


def only(platform, result):
    ours = platform.ours(result.violations)
    assert len(ours) == 1, [(v.subject, v.message) for v in ours]
    return ours[0]


def test_select_on_a_table_the_owner_does_not_publish(service_platform):
    service_platform.sql("GRANT SELECT ON directory.audit_log TO {p}_license_service")
    violation = only(service_platform, service_platform.run(RC))
    assert violation.subject == "directory.audit_log"
    assert "that service directory does not publish" in violation.message
    assert violation.hint == (
        f"REVOKE SELECT ON directory.audit_log FROM {service_platform.role('license_service')};"
    )


def test_select_beyond_what_the_reader_declares(service_platform):
    service_platform.sql(
        "GRANT USAGE ON SCHEMA license TO {p}_directory_service;"
        "GRANT SELECT ON license.licenses TO {p}_directory_service"
    )
    violation = only(service_platform, service_platform.run(RC))
    assert violation.subject == "license.licenses"
    assert "does not declare in its reads" in violation.message
    assert "the declared contract is narrower than the grants" in violation.message


def test_a_column_level_select(service_platform):
    service_platform.sql("GRANT SELECT (note) ON directory.audit_log TO {p}_license_service")
    violation = only(service_platform, service_platform.run(RC))
    assert violation.subject == "directory.audit_log"
    assert "columns (note) of directory.audit_log" in violation.message
    assert violation.hint.startswith("REVOKE SELECT (note) ON directory.audit_log FROM")


def test_select_through_a_group_role(service_platform):
    service_platform.sql(
        "CREATE ROLE {p}_readers NOLOGIN;"
        "GRANT SELECT ON directory.audit_log TO {p}_readers;"
        "GRANT {p}_readers TO {p}_license_service"
    )
    violation = only(service_platform, service_platform.run(RC))
    assert violation.subject == "directory.audit_log"
    assert f"granted to {service_platform.role('readers')}, which it inherits" in violation.message
    assert violation.hint == f"REVOKE SELECT ON directory.audit_log FROM {service_platform.role('readers')};"


def test_select_by_set_role_to_a_noinherit_group(service_platform):
    service_platform.sql(
        "CREATE ROLE {p}_readers NOLOGIN;"
        "GRANT SELECT ON directory.audit_log TO {p}_readers;"
        "ALTER ROLE {p}_license_service NOINHERIT;"
        "GRANT {p}_readers TO {p}_license_service"
    )
    violation = only(service_platform, service_platform.run(RC))
    assert violation.subject == "directory.audit_log"
    assert "which it can SET ROLE to" in violation.message


def test_membership_in_another_service_role(service_platform):
    service_platform.sql("GRANT {p}_directory_service TO {p}_license_service")
    violation = only(service_platform, service_platform.run(RC))
    assert violation.subject == service_platform.role("license_service")
    assert "unpublished ones included" in violation.message


def test_select_granted_to_public(service_platform):
    service_platform.sql("GRANT SELECT ON directory.audit_log TO PUBLIC")
    violation = only(service_platform, service_platform.run(RC))
    assert violation.subject == "directory.audit_log"
    assert violation.message.startswith("PUBLIC (every role) can SELECT directory.audit_log")
    assert violation.hint == "REVOKE SELECT ON directory.audit_log FROM PUBLIC;"


def test_a_published_table_granted_to_public_reaches_beyond_the_declared_readers(service_platform):
    service_platform.sql("GRANT SELECT ON directory.users TO PUBLIC")
    violation = only(service_platform, service_platform.run(RC))
    assert violation.subject == "directory.users"
    assert "beyond what each declares in reads" in violation.message


def test_membership_in_pg_read_all_data(service_platform):
    service_platform.sql("GRANT pg_read_all_data TO {p}_license_service")
    violation = only(service_platform, service_platform.run(RC))
    assert violation.subject == service_platform.role("license_service")
    assert "pg_read_all_data" in violation.message


def test_default_privileges_that_will_expose_future_tables(service_platform):
    service_platform.sql(
        "ALTER DEFAULT PRIVILEGES FOR ROLE {p}_directory_owner IN SCHEMA directory "
        "GRANT SELECT ON TABLES TO {p}_license_service"
    )
    violation = only(service_platform, service_platform.run(RC))
    assert violation.subject == "directory"
    assert "unpublished ones included" in violation.message
    assert violation.hint.endswith(
        f"REVOKE SELECT ON TABLES FROM {service_platform.role('license_service')};"
    )


def test_a_partition_of_a_published_table_is_published(service_platform):
    service_platform.sql(
        "SET ROLE {p}_directory_owner;"
        "CREATE TABLE directory.logins (tenant_id uuid NOT NULL, day date NOT NULL) PARTITION BY RANGE (day);"
        "CREATE TABLE directory.logins_2025 PARTITION OF directory.logins"
        " FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');"
        "RESET ROLE;"
        "GRANT SELECT ON directory.logins, directory.logins_2025 TO {p}_license_service"
    )
    service_platform.contract["services"]["directory"]["publishes"].append("logins")
    service_platform.contract["services"]["license"]["reads"]["directory"].append("logins")
    assert service_platform.subjects(service_platform.run(RC)) == []


def test_works_with_a_minimal_contract(service_platform):
    """Only schema and role per service: license reading directory.users is unpublished now."""
    for service in service_platform.contract["services"].values():
        for key in ("publishes", "reads", "global_tables"):
            service.pop(key, None)
    assert service_platform.subjects(service_platform.run(RC)) == ["directory.users"]


def test_without_a_database_the_code_part_still_runs():
    """The catalog finder needs a database; the code finder does not, so it still judges."""
    config = load_config(Path(__file__).parents[2] / "quality-attributes.yaml")
    result = run_one(CheckContext(config, None, "no database in this test"), RC)
    assert ReadContract.kinds == (Kind.CATALOG, Kind.STATIC)
    assert result.status is Status.PASS
    assert "catalog part not run: no database in this test" in result.notes
    assert any(note.startswith("code: ") for note in result.notes)
