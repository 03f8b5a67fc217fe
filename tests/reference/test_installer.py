"""The installer: roles, ownership, grants, row-level security, seeds, and a safe re-run."""

from __future__ import annotations

import psycopg
import pytest

from fitness.database import with_user
from reference.installer import PLATFORM, InstallError, install

SCHEMAS = tuple(s.schema for s in PLATFORM)
Connection = psycopg.Connection[tuple[object, ...]]

STATE = {
    "rows": "SELECT "
    "(SELECT count(*) FROM directory.tenants), (SELECT count(*) FROM directory.users), "
    "(SELECT count(*) FROM directory.roles), (SELECT count(*) FROM directory.role_assignments), "
    "(SELECT count(*) FROM directory.domain_event), (SELECT count(*) FROM auth.signing_keys), "
    "(SELECT count(*) FROM auth.signing_public_keys), (SELECT count(*) FROM license.plans), "
    "(SELECT count(*) FROM license.licenses), (SELECT count(*) FROM license.seat_assignments), "
    "(SELECT count(*) FROM license.domain_event)",
    "migrations": "SELECT array_agg(version ORDER BY version) FROM directory.schema_migrations "
    "UNION ALL SELECT array_agg(version ORDER BY version) FROM auth.schema_migrations "
    "UNION ALL SELECT array_agg(version ORDER BY version) FROM license.schema_migrations",
    "policies": "SELECT count(*) FROM pg_policies",
    "event_types": "SELECT (SELECT count(*) FROM directory.event_types), "
    "(SELECT count(*) FROM license.event_types)",
    "device": "SELECT (SELECT count(*) FROM device.devices), (SELECT count(*) FROM device.certificates), "
    "(SELECT count(*) FROM device.certificate_authorities), "
    "(SELECT count(*) FROM device.certificate_authority_keys), "
    "(SELECT count(*) FROM device.domain_event), (SELECT array_agg(version) FROM device.schema_migrations)",
}
NOT_OWNED_BY_OWNER = """
SELECT n.nspname || '.' || c.relname, pg_get_userbyid(c.relowner)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY(%(schemas)s) AND pg_get_userbyid(c.relowner) <> n.nspname || '_owner'
UNION ALL
SELECT n.nspname || '.' || p.proname, pg_get_userbyid(p.proowner)
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = ANY(%(schemas)s) AND pg_get_userbyid(p.proowner) <> n.nspname || '_owner'
UNION ALL
SELECT nspname, pg_get_userbyid(nspowner) FROM pg_namespace
WHERE nspname = ANY(%(schemas)s) AND pg_get_userbyid(nspowner) <> nspname || '_owner'
"""
PUBLIC_GRANTS = """
SELECT 'table ' || n.nspname || '.' || c.relname, a.privilege_type
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a
WHERE n.nspname = ANY(%(schemas)s) AND a.grantee = 0
UNION ALL
SELECT 'schema ' || n.nspname, a.privilege_type
FROM pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
WHERE (n.nspname = ANY(%(schemas)s) OR n.nspname = 'public') AND a.grantee = 0
UNION ALL
SELECT 'function ' || n.nspname || '.' || p.proname, a.privilege_type
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace,
     aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
WHERE n.nspname = ANY(%(schemas)s) AND a.grantee = 0
"""
# Database privileges belong to the database's catalogue row: CREATE DATABASE ... TEMPLATE does
# not copy them, so they are checked on a database the installer built itself.
DATABASE_PUBLIC_GRANTS = """
SELECT a.privilege_type FROM pg_database d, aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a
WHERE d.datname = current_database() AND a.grantee = 0
"""
TENANT_TABLES = """
SELECT c.oid::regclass::text, c.relrowsecurity, c.relforcerowsecurity,
       (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid AND p.polpermissive),
       (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid AND NOT p.polpermissive),
       EXISTS (SELECT 1 FROM pg_index i
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
               WHERE i.indrelid = c.oid AND a.attname = 'tenant_id')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY(%(schemas)s) AND c.relkind IN ('r', 'p')
  AND EXISTS (SELECT 1 FROM pg_attribute a
              WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
ORDER BY 1
"""
POLICY_EXPRESSIONS = """
SELECT pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid), p.polcmd
FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY(%(schemas)s)
"""
ROLES = """
SELECT rolname, rolcanlogin, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, rolreplication,
       (SELECT count(*) FROM pg_auth_members m WHERE m.member = r.oid)
FROM pg_roles r WHERE rolname = ANY(%s) ORDER BY rolname
"""


def snapshot(connection: Connection) -> dict[str, object]:
    return {name: connection.execute(query).fetchall() for name, query in STATE.items()}  # type: ignore[arg-type]


def test_re_running_the_installer_changes_nothing(fitgate_installed_database: str) -> None:
    with psycopg.connect(fitgate_installed_database, autocommit=True) as connection:
        before = snapshot(connection)
        install(fitgate_installed_database)
        assert snapshot(connection) == before


def test_installs_beside_another_installed_database_and_resets_role_attributes(
    fitgate_installed_database: str, fitgate_empty_database: str
) -> None:
    """Roles exist already (cluster-wide, from the other database); one was tampered with."""
    with psycopg.connect(fitgate_empty_database, autocommit=True) as connection:
        connection.execute("ALTER ROLE directory_service CREATEDB")
        install(fitgate_empty_database)
        assert connection.execute(
            "SELECT rolcreatedb FROM pg_roles WHERE rolname = 'directory_service'"
        ).fetchone() == (False,)
        assert connection.execute("SELECT count(*) FROM directory.users").fetchone() == (5,)
        assert connection.execute(DATABASE_PUBLIC_GRANTS).fetchall() == []
    service = psycopg.connect(with_user(fitgate_empty_database, "directory_service"))
    with service, pytest.raises(psycopg.errors.InsufficientPrivilege):
        service.execute("CREATE TEMP TABLE sneaky (id int)")


def test_objects_belong_to_the_owner_roles(fitgate_installed_database: str) -> None:
    with psycopg.connect(fitgate_installed_database) as connection:
        assert connection.execute(NOT_OWNED_BY_OWNER, {"schemas": list(SCHEMAS)}).fetchall() == []


def test_nothing_is_granted_to_public(fitgate_installed_database: str) -> None:
    with psycopg.connect(fitgate_installed_database) as connection:
        assert connection.execute(PUBLIC_GRANTS, {"schemas": list(SCHEMAS)}).fetchall() == []


def test_row_level_security_is_forced_on_every_tenant_table(fitgate_installed_database: str) -> None:
    with psycopg.connect(fitgate_installed_database) as connection:
        tables = connection.execute(TENANT_TABLES, {"schemas": list(SCHEMAS)}).fetchall()
        expressions = connection.execute(POLICY_EXPRESSIONS, {"schemas": list(SCHEMAS)}).fetchall()
    assert {t[0] for t in tables} >= {
        "directory.tenants",
        "directory.users",
        "directory.roles",
        "directory.role_assignments",
        "directory.domain_event",
        "auth.domain_event",
        "device.devices",
        "device.certificates",
        "device.certificate_authorities",
        "device.certificate_authority_keys",
        "device.domain_event",
        "license.licenses",
        "license.seat_assignments",
        "license.domain_event",
    }
    for name, enabled, forced, permissive, restrictive, indexed in tables:
        assert (enabled, forced, indexed) == (True, True, True), name
        assert (permissive, restrictive) == (1, 1), name
    predicate = (
        "(tenant_id = ( SELECT (NULLIF(current_setting('app.tenant_id'::text, true), ''::text))::uuid AS"
    )
    for using, check, command in expressions:
        assert command == "*"
        assert using.startswith(predicate) and check.startswith(predicate)


def test_roles_are_least_privileged(fitgate_installed_database: str) -> None:
    names = [s.role for s in PLATFORM] + [s.owner for s in PLATFORM]
    with psycopg.connect(fitgate_installed_database) as connection:
        roles = connection.execute(ROLES, (names,)).fetchall()
    assert len(roles) == len(names)
    for name, login, *powers, memberships in roles:
        assert login == name.endswith("_service"), name
        assert powers == [False] * 5, name
        assert memberships == 0, name


@pytest.mark.parametrize(
    ("role", "statement", "allowed"),
    [
        ("directory_service", "SELECT 1 FROM auth.signing_public_keys", True),
        ("directory_service", "SELECT 1 FROM auth.signing_keys", False),
        ("directory_service", "TRUNCATE directory.users", False),
        ("directory_service", "DELETE FROM directory.users", False),
        ("directory_service", "INSERT INTO auth.signing_keys VALUES ('x', 'EdDSA', 'x')", False),
        ("auth_service", "SELECT 1 FROM directory.users, directory.roles, directory.role_assignments", True),
        ("auth_service", "UPDATE directory.users SET username = 'x' WHERE false", False),
        ("auth_service", "SELECT 1 FROM directory.domain_event", False),
        ("license_service", "SELECT 1 FROM directory.users", True),
        ("license_service", "SELECT 1 FROM directory.roles", False),
        ("license_service", "SELECT 1 FROM directory.tenants", True),
        ("license_service", "UPDATE directory.tenants SET name = 'x' WHERE false", False),
        ("license_service", "SELECT 1 FROM license.plans, license.licenses, license.seat_assignments", True),
        (
            "license_service",
            "INSERT INTO license.plans (id, code, name, features) VALUES "
            "(gen_random_uuid(), 'free', 'Free', '{x}')",
            False,
        ),
        ("license_service", "DELETE FROM license.seat_assignments", False),
        ("license_service", "DELETE FROM license.licenses", False),
        ("license_service", "TRUNCATE license.seat_assignments", False),
        ("license_service", "UPDATE license.domain_event SET version = 1 WHERE false", False),
        ("auth_service", "SELECT 1 FROM license.seat_assignments", True),
        ("auth_service", "SELECT 1 FROM license.licenses", False),
        ("auth_service", "UPDATE license.seat_assignments SET status = 'released' WHERE false", False),
        ("directory_service", "SELECT 1 FROM license.seat_assignments", False),
        ("device_service", "SELECT 1 FROM license.seat_assignments", False),
        ("device_service", "SELECT 1 FROM directory.users", False),
        ("device_service", "SELECT 1 FROM auth.signing_public_keys", True),
        ("device_service", "SELECT 1 FROM directory.tenants", True),
        ("device_service", "SELECT 1 FROM device.certificate_authority_keys", True),
        (
            "device_service",
            "UPDATE device.certificate_authority_keys SET private_key_pem = '' WHERE false",
            False,
        ),
        ("device_service", "DELETE FROM device.certificates", False),
        ("device_service", "TRUNCATE device.devices", False),
        ("device_service", "UPDATE directory.tenants SET name = 'x' WHERE false", False),
        ("directory_service", "SELECT 1 FROM device.devices", False),
        ("auth_service", "SELECT 1 FROM device.certificate_authority_keys", False),
        ("license_service", "SELECT 1 FROM device.certificate_authorities", False),
        ("directory_service", "CREATE TABLE directory.sneaky (id int)", False),
        ("directory_service", "CREATE TABLE public.sneaky (id int)", False),
    ],
)
def test_what_each_service_role_may_do(
    fitgate_installed_database: str, role: str, statement: str, allowed: bool
) -> None:
    with psycopg.connect(with_user(fitgate_installed_database, role)) as connection:
        if allowed:
            connection.execute(statement.encode())
        else:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                connection.execute(statement.encode())


def test_needs_a_superuser(fitgate_installed_database: str) -> None:
    with pytest.raises(InstallError, match="superuser"):
        install(with_user(fitgate_installed_database, "directory_service"))
