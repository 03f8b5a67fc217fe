"""Fixtures of the event tests: the pki fixture service, cloned per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fitness.config import Config
from fitness.engine import CheckContext, Result
from fitness.engine.context import DatabaseTarget
from fitness.engine.runner import run_one
from fitness.pytest_plugin import DatabaseFactory
from tests.events import pki


@pytest.fixture(scope="session")
def pki_config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    return pki.write_config(tmp_path_factory.mktemp("pki-config"))


@pytest.fixture(scope="session")
def pki_template(fitgate_databases: DatabaseFactory, pki_config: Config) -> str:
    return fitgate_databases.template("events:pki", lambda url: pki.build(url, pki_config))


@pytest.fixture
def pki_database(fitgate_databases: DatabaseFactory, pki_template: str) -> Iterator[str]:
    """URL of a fresh copy of the pki fixture service with its clean history."""
    url = fitgate_databases.clone(pki_template)
    yield url
    fitgate_databases.drop(url)


@pytest.fixture(scope="session")
def pki_filled_template(fitgate_databases: DatabaseFactory, pki_config: Config) -> str:
    def build(url: str) -> None:
        pki.build(url, pki_config)
        pki.add_filler_events(url, 20_000)

    return fitgate_databases.template("events:pki-filled", build)


@pytest.fixture
def pki_filled_database(fitgate_databases: DatabaseFactory, pki_filled_template: str) -> Iterator[str]:
    """The pki fixture plus 20,000 events of other aggregates: the planner has a real choice."""
    url = fitgate_databases.clone(pki_filled_template)
    yield url
    fitgate_databases.drop(url)


def config_variant(folder: Path, text: str) -> Config:
    return pki.write_config(folder, text)


def check(url: str, config: Config) -> Result:
    """event-completeness on the database at ``url``."""
    return run_one(CheckContext(config, DatabaseTarget(url, "test", False)), "event-completeness")
