"""``fitgate load`` and ``fitgate check --only latency-budgets`` end to end, as a user runs them.

Each run starts a real embedded PostgreSQL, installs the platform, starts the
four services as their own processes and runs locust in a child process; afterwards
nothing may be left: no process carrying the run's marker, no server folder.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.load.conftest import REPO, THINK_SCALE, ConfigWriter, all_budgets

MARKER = "FITGATE_LOAD_TEST_RUN"


@pytest.fixture
def server_folder() -> Iterator[Path]:
    """A folder of its own for the run's embedded server (reachable by the server's system user)."""
    base = Path("/dev/shm") if os.access("/dev/shm", os.W_OK) else Path(tempfile.gettempdir())
    folder = Path(tempfile.mkdtemp(prefix="fitgate-load-test-", dir=base))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def environment(server_folder: Path) -> dict[str, str]:
    """The run's environment: quick thinking, its own server folder, a marker every child inherits."""
    return {
        **os.environ,
        "LOADTESTS_THINK_SCALE": THINK_SCALE,
        "FITGATE_EMBEDDED_DIR": str(server_folder),
        MARKER: uuid.uuid4().hex,
    }


def fitgate(*argv: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "fitness", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=env,
    )


def processes_marked(marker: str) -> list[int]:
    """Processes whose environment carries ``marker`` (every descendant of the run inherits it)."""
    needle = f"{MARKER}={marker}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def assert_nothing_left(env: dict[str, str]) -> None:
    deadline = time.monotonic() + 10
    while processes_marked(env[MARKER]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_marked(env[MARKER]) == []
    assert list(Path(env["FITGATE_EMBEDDED_DIR"]).iterdir()) == []


@pytest.mark.slow
def test_load_runs_judges_and_writes_every_report(
    write_config: ConfigWriter, tmp_path: Path, server_folder: Path
) -> None:
    config = write_config()
    output = tmp_path / "out"
    env = environment(server_folder)
    process = fitgate(
        "load",
        "--config",
        str(config.path),
        "--profile",
        "quick",
        "--warmup",
        "3",
        "--output",
        str(output),
        "--format",
        "json",
        env=env,
    )
    out, err = process.communicate(timeout=180)
    assert process.returncode == 0, err
    report = json.loads(out)
    assert report["summary"] == {"passed": 1, "failed": 0, "errors": 0, "skipped": 0}
    [result] = report["results"]
    assert (result["fitness"], result["status"], result["adr"], result["attribute"]) == (
        "latency-budgets",
        "pass",
        "ADR-0005",
        "performance",
    )
    assert "warm-up" in err and "measuring" in err and "req/s" in err
    assert {path.name for path in output.iterdir()} == {
        "latency-budgets.txt",
        "latency-budgets.json",
        "latency-budgets.junit.xml",
        "latency-budgets.md",
        "load-measurement.json",
        "locust-report.html",
        "locust.log",
        "locust_stats.csv",
        "locust_stats_history.csv",
        "locust_failures.csv",
        "locust_exceptions.csv",
        "services",
    }
    assert json.loads((output / "latency-budgets.json").read_text()) == report
    measured = json.loads((output / "load-measurement.json").read_text())
    assert {line["verdict"] for line in measured["budgets"]} == {"ok"}
    assert len(measured["budgets"]) == len(all_budgets(config)) == 60
    assert all(line["margins"]["p95"] > 0 for line in measured["budgets"])
    text = (output / "latency-budgets.txt").read_text()
    assert "GET /v1/users/{user_id}" in text and "latency-budgets: pass (60 of 60 budgets held)" in text
    suite = ET.parse(output / "latency-budgets.junit.xml").getroot().find("testsuite")
    assert suite is not None and (suite.get("tests"), suite.get("failures")) == ("1", "0")
    assert "GET /v1/users/{user_id}" in (output / "locust_stats.csv").read_text()
    assert "<html" in (output / "locust-report.html").read_text()[:500].lower()
    for service in ("auth", "directory", "license", "device"):
        assert (output / "services" / f"{service}.log").stat().st_size > 0
    assert_nothing_left(env)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_stopping_a_load_leaves_nothing(
    write_config: ConfigWriter, tmp_path: Path, server_folder: Path, signum: int
) -> None:
    config = write_config()
    output = tmp_path / "never-written"
    env = environment(server_folder)
    process = fitgate(
        "load", "--config", str(config.path), "--duration", "120", "--output", str(output), env=env
    )
    try:
        assert process.stderr is not None
        for line in process.stderr:
            if "req/s" in line:  # the load is running
                break
        assert processes_marked(env[MARKER]), "no service, server or locust process seen"
        process.send_signal(signum)
        _out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err
    assert "stopped" in err and "Traceback" not in err
    assert not output.exists()
    assert_nothing_left(env)


@pytest.mark.slow
def test_check_only_latency_budgets_runs_the_ci_profile(
    write_config: ConfigWriter, tmp_path: Path, server_folder: Path
) -> None:
    def impossible(data: dict) -> None:
        data["services"]["directory"]["budgets"]["GET /v1/users"] = {"p99_ms": 0.001}

    config = write_config(impossible)
    env = environment(server_folder)
    process = fitgate(
        "check", "--config", str(config.path), "--only", "latency-budgets", "--format", "json", env=env
    )
    out, err = process.communicate(timeout=180)
    assert process.returncode == 1, err
    [result] = json.loads(out)["results"]
    assert result["fitness"] == "latency-budgets" and result["status"] == "fail"
    assert [v["subject"] for v in result["violations"]] == ["GET /v1/users"]
    assert result["violations"][0]["message"].startswith("over budget under load: p99 ")
    assert "latency-budgets: profile ci" in err and "measuring" in err
    assert_nothing_left(env)


def test_check_does_not_run_latency_budgets_by_default(server_folder: Path) -> None:
    process = fitgate("check", "--format", "json", env=environment(server_folder))
    out, _err = process.communicate(timeout=60)
    assert "latency-budgets" not in [result["fitness"] for result in json.loads(out)["results"]]
