"""The migration runner on a throwaway package, schema and owner role."""

from __future__ import annotations

import importlib
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from reference.platform.errors import MigrationError
from reference.platform.migrations import apply_migrations, discover_migrations

Connection = psycopg.Connection[tuple[object, ...]]


@pytest.fixture
def package(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], str]]:
    """``package({"0001_a.sql": "..."})``: an importable package holding those migrations."""
    name = f"migrations_under_test_{uuid.uuid4().hex[:8]}"
    folder = tmp_path / name
    (folder / "migrations").mkdir(parents=True)
    (folder / "__init__.py").write_text("")
    sys.path.insert(0, str(tmp_path))

    def write(files: dict[str, str]) -> str:
        for file_name, text in files.items():
            (folder / "migrations" / file_name).write_text(text)
        importlib.invalidate_caches()
        return name

    yield write
    sys.path.remove(str(tmp_path))


@pytest.fixture
def owned_schema(fitgate_empty_database: str) -> Iterator[tuple[Connection, str, str]]:
    """(superuser connection, schema, owner): an owner role unique to this test, dropped afterwards."""
    owner = f"test_owner_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(fitgate_empty_database, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(owner)))
        try:
            connection.execute(sql.SQL("CREATE SCHEMA app AUTHORIZATION {}").format(sql.Identifier(owner)))
            yield connection, "app", owner
        finally:
            connection.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(owner)))
            connection.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(owner)))


def test_applies_each_migration_once_as_the_owner(
    package: Callable[[dict[str, str]], str], owned_schema: tuple[Connection, str, str]
) -> None:
    connection, schema, owner = owned_schema
    name = package(
        {"0001_first.sql": "CREATE TABLE app.a (id int);", "0002_second.sql": "CREATE TABLE app.b (id int);"}
    )
    assert [m.name for m in apply_migrations(connection, schema, owner, name)] == ["first", "second"]
    assert apply_migrations(connection, schema, owner, name) == []
    owners = connection.execute(
        "SELECT relname, pg_get_userbyid(relowner) FROM pg_class WHERE relnamespace = 'app'::regnamespace "
        "AND relkind = 'r' ORDER BY 1"
    ).fetchall()
    assert owners == [("a", owner), ("b", owner), ("schema_migrations", owner)]
    package({"0003_third.sql": "CREATE TABLE app.c (id int);"})
    assert [m.version for m in apply_migrations(connection, schema, owner, name)] == [3]
    recorded = connection.execute("SELECT version, name FROM app.schema_migrations ORDER BY 1").fetchall()
    assert recorded == [(1, "first"), (2, "second"), (3, "third")]


def test_a_changed_migration_is_refused(
    package: Callable[[dict[str, str]], str], owned_schema: tuple[Connection, str, str]
) -> None:
    connection, schema, owner = owned_schema
    name = package({"0001_first.sql": "CREATE TABLE app.a (id int);"})
    apply_migrations(connection, schema, owner, name)
    package({"0001_first.sql": "CREATE TABLE app.a (id bigint);"})
    with pytest.raises(MigrationError, match=r"0001_first\.sql: changed after it was applied"):
        apply_migrations(connection, schema, owner, name)


def test_a_failing_migration_names_its_file_and_leaves_nothing(
    package: Callable[[dict[str, str]], str], owned_schema: tuple[Connection, str, str]
) -> None:
    connection, schema, owner = owned_schema
    name = package({"0001_first.sql": "CREATE TABLE app.a (id int);\nCREATE TABLE app.a (id int);"})
    with pytest.raises(MigrationError, match=r"0001_first\.sql: .*already exists"):
        apply_migrations(connection, schema, owner, name)
    assert connection.execute("SELECT to_regclass('app.a')").fetchone() == (None,)
    assert connection.execute("SELECT count(*) FROM app.schema_migrations").fetchone() == (0,)


def test_the_owner_cannot_touch_other_schemas(
    package: Callable[[dict[str, str]], str], owned_schema: tuple[Connection, str, str]
) -> None:
    connection, schema, owner = owned_schema
    name = package({"0001_first.sql": "CREATE TABLE public.escaped (id int);"})
    with pytest.raises(MigrationError, match="permission denied"):
        apply_migrations(connection, schema, owner, name)


@pytest.mark.parametrize(
    ("files", "problem"),
    [
        ({"0001_a.sql": "", "0003_c.sql": ""}, "expected 0002"),
        ({"0001_a.sql": "", "1_b.sql": ""}, "expected a name like"),
        ({"0002_b.sql": ""}, "expected 0001"),
    ],
)
def test_numbering_must_run_without_gaps(
    package: Callable[[dict[str, str]], str], files: dict[str, str], problem: str
) -> None:
    with pytest.raises(MigrationError, match=problem):
        discover_migrations(package(files))


def test_the_platform_packages_are_numbered_correctly() -> None:
    assert [m.name for m in discover_migrations("reference.directory")] == [
        "event_store",
        "tenants",
        "users",
        "roles",
        "tenants_read_by_device",
        "tenants_read_by_license",
        "point_in_time",
    ]
    assert [m.name for m in discover_migrations("reference.auth")] == [
        "signing_keys",
        "event_store",
        "credentials",
        "sessions",
        "point_in_time",
    ]
    assert [m.name for m in discover_migrations("reference.device")] == [
        "event_store",
        "devices",
        "certificate_authorities",
        "certificates",
        "point_in_time",
    ]
    assert [m.name for m in discover_migrations("reference.license")] == [
        "event_store",
        "plans",
        "licenses",
        "seat_assignments",
        "point_in_time",
    ]
