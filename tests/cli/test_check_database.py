"""Which database ``fitgate check`` uses: given, freshly installed, Docker, or none."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from fitness.cli.check import database_for
from fitness.config import load_config
from fitness.errors import DatabaseUnavailable, FitgateError
from tests.cli.conftest import CONFIG

INSTALLER = """\
import psycopg

def install(url):
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA directory")
        conn.execute("CREATE TABLE directory.marker (installed boolean)")

def broken(url):
    raise ValueError("migration 0003 failed:\\nline two")
"""


def with_installer(project: Callable[..., Path], name: str = "install") -> Path:
    config = CONFIG + f"database:\n  installer: team_setup:{name}\n"
    return project(config, files={"team_setup.py": INSTALLER})


def test_no_url_and_an_installer_installs_into_a_fresh_embedded_database(
    project: Callable[..., Path],
) -> None:
    config = load_config(with_installer(project))
    with database_for(config, None, needed=True) as context:
        assert context.database is not None
        assert context.database.installed_by_fitgate
        assert "installed by team_setup:install" in context.database.label
        with context.connect() as conn:
            assert conn.execute("SELECT count(*) FROM directory.marker").fetchone() == (0,)
        url = context.database.url
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2)


def test_a_failing_installer_is_one_line(project: Callable[..., Path]) -> None:
    config = load_config(with_installer(project, "broken"))
    with pytest.raises(FitgateError) as caught, database_for(config, None, needed=True):
        pass
    assert str(caught.value) == ("installer team_setup:broken failed: ValueError: migration 0003 failed:")


def test_an_installer_that_cannot_be_imported_points_at_the_config_line(
    project: Callable[..., Path],
) -> None:
    config = load_config(project(CONFIG + "database:\n  installer: no_such_module:install\n"))
    with pytest.raises(FitgateError) as caught, database_for(config, None, needed=True):
        pass
    message = str(caught.value)
    assert message.endswith(
        "database.installer: cannot import no_such_module "
        "(named no_such_module:install): ModuleNotFoundError: "
        "No module named 'no_such_module'"
    )
    installer_line = CONFIG.count("\n") + 2  # "database:", then "installer:"
    assert f":{installer_line}: " in message


def test_no_url_and_no_installer_means_no_database_with_the_reason(
    project: Callable[..., Path],
) -> None:
    with database_for(load_config(project()), None, needed=True) as context:
        assert context.database is None
        assert "no --database-url and no database.installer" in context.no_database_reason


def test_docker_without_an_engine_is_one_line(
    project: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FITGATE_DB", "docker")
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    config = load_config(with_installer(project))
    with pytest.raises(DatabaseUnavailable) as caught, database_for(config, None, needed=True):
        pass
    message = str(caught.value)
    assert message.startswith("FITGATE_DB=docker: cannot start postgres:")
    assert "\n" not in message


def test_an_unknown_fitgate_db_is_one_line(
    project: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FITGATE_DB", "oracle")
    config = load_config(with_installer(project))
    with (
        pytest.raises(FitgateError, match="FITGATE_DB='oracle': expected 'embedded' or 'docker'"),
        database_for(config, None, needed=True),
    ):
        pass
