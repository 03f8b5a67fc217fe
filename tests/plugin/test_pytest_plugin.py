"""The pytest plugin as a team uses it: fixtures in their own test session."""

from __future__ import annotations

import pytest

from tests.cli.conftest import ADR, CONFIG

pytest_plugins = ["pytester"]

TEAM_TESTS = """
import psycopg
from fitness.report import FORMATS

def test_installed_databases_are_fresh_copies(fitgate_installed_database):
    with psycopg.connect(fitgate_installed_database, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM directory.marker").fetchone() == (0,)
        conn.execute("INSERT INTO directory.marker VALUES (true)")

def test_the_next_copy_does_not_see_the_previous_write(fitgate_installed_database):
    with psycopg.connect(fitgate_installed_database) as conn:
        assert conn.execute("SELECT count(*) FROM directory.marker").fetchone() == (0,)

def test_empty_databases_are_empty(fitgate_empty_database):
    with psycopg.connect(fitgate_empty_database) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        ).fetchone()
    assert tables == (0,)

def test_the_architecture_holds(fitgate_check, fitgate_installed_database):
    run = fitgate_check(fitgate_installed_database, only=["adr-traceability"])
    assert run.exit_code == 0, FORMATS["text"](run)
"""

INSTALLER = """
import psycopg

def install(url):
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA directory")
        conn.execute("CREATE TABLE directory.marker (installed boolean)")
"""


def test_a_team_test_session_gets_real_databases(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".yaml", **{"quality-attributes": CONFIG + "database:\n  installer: team_setup:install\n"}
    )
    pytester.mkdir("adr")
    (pytester.path / "adr" / "0001-record.md").write_text(ADR)
    pytester.makepyfile(team_setup=INSTALLER, test_team=TEAM_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)
