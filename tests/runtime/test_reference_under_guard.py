"""The four reference services under the runtime guard: their real traffic records nothing, and a
call between services and a tenant left on a pooled connection, injected by test-only wrappers
around the real apps, are caught by no-cross-service-calls and tenant-scope at the wrapper's line."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from fitness.config import load_config
from fitness.engine import CheckContext, Status
from fitness.engine.runner import run_one
from fitness.pytest_plugin import DatabaseFactory
from fitness.serving import running_services
from reference.directory.seed import seed_user_id
from reference.platform.seeding import TENANT_A
from tests.runtime import broken_license
from tests.runtime.processes import free_port, read_log

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("auth", "directory", "license", "device")
CALL_SITE = "tests/runtime/broken_license.py:29"  # await directory.get(...)
LEAK_SITE = "tests/runtime/broken_directory.py:24"  # async with pool.connection() as connection:


def write_contract(folder: Path, ports: dict[str, int], apps: dict[str, str]) -> Path:
    """The repository's contract, each service declared at the port it really listens on."""
    data: dict[str, Any] = yaml.safe_load((REPO / "quality-attributes.yaml").read_text())
    data["code_root"] = str(REPO)
    data["adr_dir"] = str(REPO / "adr")
    data["load"]["locustfile"] = str(REPO / "loadtests" / "locustfile.py")
    for name, port in ports.items():
        data["services"][name]["url"] = f"http://127.0.0.1:{port}"
    for name, app in apps.items():
        data["services"][name]["app"] = app
    path = folder / "quality-attributes.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def judged(fitness_id: str, config: Path, log: Path) -> tuple[Status, list[tuple[str, str]]]:
    result = run_one(CheckContext(load_config(config), guard_log=log), fitness_id)
    return result.status, [(v.subject, v.message) for v in result.violations]


def test_a_guarded_load_of_the_real_services_records_nothing(tmp_path: Path) -> None:
    """``fitgate load --guard``: the scenarios' traffic through all four services, judged."""
    output = tmp_path / "out"
    environment = {**os.environ, "LOADTESTS_THINK_SCALE": "0.05"}
    environment.pop("FITGATE_GUARD_LOG", None)
    command = [sys.executable, "-m", "fitness", "load", "--guard", "--users", "8", "--spawn-rate", "8"]
    command += ["--duration", "6", "--output", str(output), "--format", "json"]
    finished = subprocess.run(
        command, cwd=REPO, env=environment, capture_output=True, text=True, timeout=240, check=False
    )
    report = json.loads(finished.stdout)
    verdicts = {r["fitness"]: (r["status"], r["violations"]) for r in report["results"]}
    assert verdicts["no-cross-service-calls"] == ("pass", []), finished.stderr[-2000:]
    assert verdicts["tenant-scope"] == ("pass", [])
    assert verdicts["latency-budgets"][0] in ("pass", "fail")  # its own tests judge it; here: traffic
    records = read_log(output / "guard.jsonl")
    assert sorted(str(r["service"]) for r in records if r["kind"] == "guard-installed") == sorted(SERVICES)
    assert [r for r in records if r["kind"] != "guard-installed"] == []
    measured = json.loads((output / "load-measurement.json").read_text())["measurement"]
    assert sum(e["requests"] for e in measured["endpoints"]) > 100
    assert set(measured["user_classes"]) == set(SERVICES)
    text = (output / "latency-budgets.txt").read_text()
    assert "no-cross-service-calls: pass" in text and "tenant-scope: pass" in text
    log = output / "guard.jsonl"
    assert f"runtime: guard log {log}: guarded processes per service: auth (1), device (1), " in text


@dataclass
class BrokenPlatform:
    config: Path
    log: Path
    urls: dict[str, str]
    admin_token: str


@pytest.fixture(scope="module")
def broken_platform(
    tmp_path_factory: pytest.TempPathFactory,
    fitgate_databases: DatabaseFactory,
    fitgate_installed_template: str,
) -> Iterator[BrokenPlatform]:
    """The four services guarded, license and directory replaced by their broken wrappers."""
    folder = tmp_path_factory.mktemp("broken-platform")
    ports = {name: free_port() for name in SERVICES}
    apps = {
        "license": "tests.runtime.broken_license:app",
        "directory": "tests.runtime.broken_directory:app",
    }
    config = write_contract(folder, ports, apps)
    log = folder / "guard.jsonl"
    admin_token = secrets.token_urlsafe(16)
    environment = {
        "FITGATE_GUARD": "1",
        "FITGATE_GUARD_LOG": str(log),
        broken_license.DIRECTORY_URL_VARIABLE: f"http://127.0.0.1:{ports['directory']}",
    }
    database = fitgate_databases.clone(fitgate_installed_template)
    with running_services(
        load_config(config),
        list(SERVICES),
        database,
        admin_token=admin_token,
        ports=ports,
        log_dir=folder,
        environment=environment,
    ) as running:
        yield BrokenPlatform(config, log, {name: s.url for name, s in running.items()}, admin_token)


def test_a_call_from_one_service_to_another_is_caught_at_its_line(broken_platform: BrokenPlatform) -> None:
    platform = broken_platform
    user_id = seed_user_id(TENANT_A, "alice")
    headers = {"Authorization": f"Bearer {platform.admin_token}", "X-Tenant-ID": str(TENANT_A.id)}
    answer = httpx.get(f"{platform.urls['license']}/v1/users/{user_id}/seats", headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text  # the wrapped license still answers
    calls = [r for r in read_log(platform.log) if r["kind"] == "cross-service-connection"]
    assert [(r["service"], r["target"], r["site"], r["request"]) for r in calls] == [
        ("license", "directory", CALL_SITE, f"GET /v1/users/{user_id}/seats")
    ]
    status, violations = judged("no-cross-service-calls", platform.config, platform.log)
    directory = platform.urls["directory"].removeprefix("http://")
    assert (status, violations) == (
        Status.FAIL,
        [
            (
                CALL_SITE,
                f"at run time, service license connected to service directory at {directory}: "
                "services never call each other",
            )
        ],
    )


def test_a_tenant_left_on_a_pooled_connection_is_caught_at_its_line(broken_platform: BrokenPlatform) -> None:
    platform = broken_platform
    headers = {"Authorization": f"Bearer {platform.admin_token}", "X-Tenant-ID": str(TENANT_A.id)}
    answer = httpx.get(f"{platform.urls['directory']}/v1/tenant", headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text
    leaks = [r for r in read_log(platform.log) if r["kind"] == "tenant-leak"]
    assert [(r["service"], r["site"], r["value"], r["request"]) for r in leaks] == [
        ("directory", LEAK_SITE, str(TENANT_A.id), "GET /v1/tenant")
    ]
    status, violations = judged("tenant-scope", platform.config, platform.log)
    assert (status, violations) == (
        Status.FAIL,
        [
            (
                LEAK_SITE,
                "at run time, a connection went back to service directory's pool with app.tenant_id "
                "still set: the next request on that connection runs as that tenant",
            )
        ],
    )


def test_the_wrappers_are_test_code_the_static_checks_do_not_see(broken_platform: BrokenPlatform) -> None:
    """Only the runtime half can catch them: the code checks read the service packages, not tests."""
    for fitness_id in ("no-cross-service-calls", "tenant-scope"):
        result = run_one(CheckContext(load_config(broken_platform.config)), fitness_id)
        assert (result.status, list(result.violations)) == (Status.PASS, []), fitness_id
