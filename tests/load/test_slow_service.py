"""A directory made slow and partly failing on purpose (tests/load/slow_asgi.py) breaches its budgets."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest

from fitness.load.budgets import judge
from fitness.load.running import run_locust
from fitness.load.targets import LoadTarget
from fitness.pytest_plugin import DatabaseFactory
from fitness.serving import running_services
from tests.load.conftest import QUICK, THINK_SCALE, ConfigWriter, quick_plan

# Above every endpoint's p95 budget times the test factor (the largest, 50 ms x 20, is 1 s).
DELAY_MS = 1200
# Signing in reads the tenant's roles (slow), then creates the person's account, which fails: so every
# task stops there and these two endpoints, and only they, get traffic, whatever the timing.
SLOW = "GET /v1/roles"
FAILING = "POST /v1/users"


def test_a_slow_service_breaches_its_budgets(
    write_config: ConfigWriter,
    fitgate_databases: DatabaseFactory,
    fitgate_installed_template: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def slow_app(data: dict[str, Any]) -> None:
        data["services"]["directory"]["app"] = "tests.load.slow_asgi:app"

    config = write_config(slow_app)
    database = fitgate_databases.clone(fitgate_installed_template)
    admin_token = secrets.token_urlsafe(16)
    environment = {"SLOW_ASGI_DELAY_MS": str(DELAY_MS), "SLOW_ASGI_FAIL": FAILING}
    monkeypatch.setenv("LOADTESTS_THINK_SCALE", THINK_SCALE)
    with running_services(
        config, ["directory"], database, admin_token=admin_token, log_dir=tmp_path, environment=environment
    ) as running:
        target = LoadTarget(
            urls={"directory": running["directory"].url},
            label="the slowed directory",
            admin_token=admin_token,
            database_url=database,
        )
        measurement = run_locust(config, quick_plan(config), target)
        findings = judge(config, measurement, target, float(QUICK.budget_factor or 1)).findings
    breached = {v.subject: v.message for v in findings.violations}
    reached = {e.endpoint: e for e in measurement.endpoints if e.requests}
    assert sorted(reached) == [SLOW, FAILING]
    assert reached[SLOW].p50_ms >= DELAY_MS and reached[SLOW].failures == 0
    assert breached[SLOW].startswith("over budget under load: p95 "), breached[SLOW]
    assert reached[FAILING].failures == reached[FAILING].requests
    assert "failure rate 100.00%" in breached[FAILING]
    assert "commonest: " in breached[FAILING] and "503 unavailable (expected 201)" in breached[FAILING]
    assert "received no requests under load" in breached["GET /v1/users/{user_id}"]
