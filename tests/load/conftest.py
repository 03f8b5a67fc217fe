"""Fixtures for load tests: test configs derived from the repository's, and the platform under real load.

``platform_target`` runs the four real services (each its own process, on a
copy of the installed platform) once per session; ``measured_load`` is one real
locust run of every scenario against them (a child process, real HTTP, real
logins), judged by several tests against different budgets, so the suite pays
for one load, not one per verdict.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from fitness.config import Config, LoadProfile, load_config
from fitness.load.measurement import Measurement
from fitness.load.plan import LoadPlan, plan_load
from fitness.load.running import run_locust
from fitness.load.targets import LoadTarget, started_services
from fitness.pytest_plugin import DatabaseFactory

REPO = Path(__file__).resolve().parents[2]
# Short, quick-thinking runs: three people per service, each dealing their whole deck of tasks
# within the run. No warm-up, so that the first deck is measured from its first card (people
# arriving, logins included: hence the loose factor).
THINK_SCALE = "0.05"
QUICK = LoadProfile(users=12, spawn_rate=12, warmup=0, duration=10, workers=0, budget_factor=20)
ConfigWriter = Callable[..., Config]


def contract(**changes: Any) -> dict[str, Any]:
    """The repository's contract as data, with paths made absolute so it works from any folder."""
    data: dict[str, Any] = yaml.safe_load((REPO / "quality-attributes.yaml").read_text())
    data["code_root"] = str(REPO)
    data["adr_dir"] = str(REPO / "adr")
    data["load"]["locustfile"] = str(REPO / "loadtests" / "locustfile.py")
    data["load"]["profiles"] = {"ci": profile_data(QUICK), "quick": profile_data(QUICK)}
    data.update(changes)
    return data


def profile_data(profile: LoadProfile) -> dict[str, float]:
    return {key: value for key, value in vars(profile).items() if value is not None}


@pytest.fixture
def write_config(tmp_path: Path) -> ConfigWriter:
    """``write_config(edit)``: the repository's contract, changed by ``edit(data)``, in a temp folder."""

    def write(edit: Callable[[dict[str, Any]], None] = lambda data: None) -> Config:
        data = contract()
        edit(data)
        path = tmp_path / "quality-attributes.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return load_config(path)

    return write


def directory_budgets(data: dict[str, Any]) -> dict[str, Any]:
    budgets: dict[str, Any] = data["services"]["directory"]["budgets"]
    return budgets


def quick_plan(config: Config) -> LoadPlan:
    return plan_load(config, "quick")


def directory_budgets_only(data: dict[str, Any]) -> dict[str, Any]:
    """The directory's budgets, every other service's removed (verdicts on figures given by hand)."""
    for name, service in data["services"].items():
        if name != "directory":
            service.pop("budgets", None)
    return directory_budgets(data)


def all_budgets(config: Config) -> set[str]:
    return {endpoint for service in config.services.values() for endpoint in service.budgets}


@pytest.fixture(scope="session")
def platform_target(
    fitgate_config: Config,
    fitgate_databases: DatabaseFactory,
    fitgate_installed_template: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LoadTarget]:
    """The four real services, each its own process, on a copy of the installed platform."""
    database = fitgate_databases.clone(fitgate_installed_template)
    logs = tmp_path_factory.mktemp("load-service-logs")
    with started_services(
        fitgate_config, database, database_label="a copy of the installed platform", log_dir=logs
    ) as target:
        yield target


@pytest.fixture(scope="session")
def measured_load(platform_target: LoadTarget, tmp_path_factory: pytest.TempPathFactory) -> Measurement:
    """One real short load of every scenario against the platform (locust in its child process)."""
    config = load_config(_session_config(tmp_path_factory))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LOADTESTS_THINK_SCALE", THINK_SCALE)
        return run_locust(config, quick_plan(config), platform_target)


def _session_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp(f"load-config-{secrets.token_hex(2)}") / "quality-attributes.yaml"
    path.write_text(yaml.safe_dump(contract(), sort_keys=False))
    return path
