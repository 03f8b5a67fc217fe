"""Budgets held against one real load of the four real services (see ``measured_load``)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fitness.config import Config
from fitness.load.budgets import Verdict, judge
from fitness.load.measurement import Measurement
from fitness.load.targets import LoadTarget
from tests.load.conftest import QUICK, ConfigWriter, all_budgets, directory_budgets

FACTOR = float(QUICK.budget_factor or 1)


def violations(config: Config, measurement: Measurement, target: LoadTarget, factor: float = FACTOR) -> dict:
    findings = judge(config, measurement, target, factor).findings
    return {violation.subject: violation for violation in findings.violations}


def test_every_budget_holds_and_is_exercised(
    write_config: ConfigWriter, measured_load: Measurement, platform_target: LoadTarget
) -> None:
    config = write_config()
    judgement = judge(config, measured_load, platform_target, FACTOR)
    assert judgement.findings.violations == [], [str(v) for v in judgement.findings.violations]
    budgeted = all_budgets(config)
    assert len(budgeted) == 60
    assert {line.endpoint for line in judgement.lines if line.verdict is Verdict.HELD} == budgeted
    # Every request the scenarios make is named by its endpoint template, a budget key.
    assert {e.endpoint for e in measured_load.endpoints} == budgeted
    assert all(e.requests > 0 and e.failures == 0 for e in measured_load.endpoints)
    assert measured_load.user_classes == {
        "auth": ("AuthUser",),
        "device": ("DeviceUser",),
        "directory": ("DirectoryUser",),
        "license": ("LicenseUser",),
    }
    assert measured_load.exceptions == ()


def test_an_impossible_budget_is_breached(
    write_config: ConfigWriter, measured_load: Measurement, platform_target: LoadTarget
) -> None:
    def impossible(data: dict[str, Any]) -> None:
        directory_budgets(data)["GET /v1/users/{user_id}"] = {"p95_ms": 0.001, "error_rate": 0.001}

    config = write_config(impossible)
    found = violations(config, measured_load, platform_target)
    assert list(found) == ["GET /v1/users/{user_id}"]
    violation = found["GET /v1/users/{user_id}"]
    assert violation.message.startswith("over budget under load: p95 ")
    assert "exceeds 0.02 ms (0.001 ms declared x20)" in violation.message
    line = config.document.line_of(("services", "directory", "budgets", "GET /v1/users/{user_id}"))
    assert violation.location == f"{config.path}:{line}"
    assert "services.directory.budgets['GET /v1/users/{user_id}']" in (violation.hint or "")


def test_the_factor_loosens_latency_only(
    write_config: ConfigWriter, measured_load: Measurement, platform_target: LoadTarget
) -> None:
    measured = measured_load.endpoint("GET /v1/users/{user_id}")
    assert measured is not None and measured.p95_ms > 0

    def tight(data: dict[str, Any]) -> None:
        directory_budgets(data)["GET /v1/users/{user_id}"] = {"p95_ms": measured.p95_ms / 2}

    config = write_config(tight)
    assert "GET /v1/users/{user_id}" in violations(config, measured_load, platform_target, factor=1)
    assert "GET /v1/users/{user_id}" not in violations(config, measured_load, platform_target, factor=3)


def test_a_budget_that_received_no_requests_fails(
    write_config: ConfigWriter, measured_load: Measurement, platform_target: LoadTarget
) -> None:
    def unexercised(data: dict[str, Any]) -> None:
        directory_budgets(data)["GET /v1/users/{user_id}/groups"] = {"p95_ms": 100}
        data["services"]["license"]["budgets"]["POST /v1/seats"] = {"p95_ms": 50}

    config = write_config(unexercised)
    found = violations(config, measured_load, platform_target)
    assert sorted(found) == ["GET /v1/users/{user_id}/groups", "POST /v1/seats"]
    assert found["GET /v1/users/{user_id}/groups"].message.startswith(
        "received no requests under load, so its budget checked nothing: no task of DirectoryUser called it"
    )
    assert found["POST /v1/seats"].message.endswith(
        "no task of LicenseUser called it in the 10 s measured "
        "(none calls it, or a rare task did not come up in so short a run)"
    )
    # A service fitgate could not start is named, with the reason.
    without_license = replace(platform_target, left_out={"license": "module reference.license.app is gone"})
    found = violations(config, measured_load, without_license)
    assert found["POST /v1/seats"].message == (
        "received no requests under load, so its budget checked nothing: "
        "license was not under load (module reference.license.app is gone)"
    )


def test_traffic_without_a_budget_is_listed(
    write_config: ConfigWriter, measured_load: Measurement, platform_target: LoadTarget
) -> None:
    config = write_config(lambda data: directory_budgets(data).pop("GET /v1/tenant"))
    judgement = judge(config, measured_load, platform_target, FACTOR)
    assert judgement.findings.violations == []
    [line] = [line for line in judgement.lines if line.verdict is Verdict.UNBUDGETED]
    assert line.endpoint == "GET /v1/tenant" and line.measured is not None and line.measured.requests > 0
    assert any(
        note.startswith("GET /v1/tenant: ") and note.endswith("; no budget declared")
        for note in judgement.findings.notes
    )
