"""The load scenarios as plain locust runs them, and locust's distributed runner under fitgate."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fitness.load.plan import LoadPlan
from fitness.load.running import run_locust
from fitness.load.scenario_environment import ADMIN_TOKEN_VARIABLE, service_url_variable
from fitness.load.targets import LoadTarget
from tests.load.conftest import REPO, THINK_SCALE, ConfigWriter

LOCUST = Path(sys.executable).with_name("locust")


def test_plain_locust_runs_the_locustfile_against_a_host(
    platform_target: LoadTarget, tmp_path: Path
) -> None:
    assert platform_target.admin_token is not None
    environment = {
        **os.environ,
        ADMIN_TOKEN_VARIABLE: platform_target.admin_token,
        # People sign in at auth, and the directory's scenario loads the host given.
        service_url_variable("auth"): platform_target.urls["auth"],
        "LOADTESTS_THINK_SCALE": THINK_SCALE,
    }
    command = [
        str(LOCUST),
        "-f",
        str(REPO / "loadtests" / "locustfile.py"),
        "--headless",
        "--users",
        "3",
        "--spawn-rate",
        "3",
        "--run-time",
        "4s",
        "--host",
        platform_target.urls["directory"],
        "--csv",
        str(tmp_path / "plain"),
        "--only-summary",
        "DirectoryUser",
    ]
    # From another folder: the locustfile finds its package itself.
    finished = subprocess.run(
        command, env=environment, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
    with (tmp_path / "plain_stats.csv").open() as stats:
        rows = {row["Name"]: row for row in csv.DictReader(stats)}
    assert int(rows["GET /v1/users/{user_id}"]["Request Count"]) > 0
    assert rows["Aggregated"]["Failure Count"] == "0"


def test_the_locustfile_lists_one_user_class_per_service() -> None:
    finished = subprocess.run(
        [str(LOCUST), "-f", str(REPO / "loadtests" / "locustfile.py"), "--list"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.split() == [
        "Available",
        "Users:",
        "AuthUser",
        "DeviceUser",
        "DirectoryUser",
        "LicenseUser",
    ]


@pytest.mark.slow
def test_worker_processes_share_the_load(
    write_config: ConfigWriter, platform_target: LoadTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOADTESTS_THINK_SCALE", THINK_SCALE)
    config = write_config()
    plan = LoadPlan(users=4, spawn_rate=4, duration_s=4, warmup_s=0, workers=2, budget_factor=1)
    measurement = run_locust(config, plan, platform_target)
    assert measurement.workers == 2
    assert measurement.requests > 0 and measurement.failures == 0
    assert measurement.endpoint("POST /v1/users") is not None
