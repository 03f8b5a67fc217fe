"""The load part of the contract file, load plans, --host, and verdicts on figures given by hand.

No load runs here: these are the rules around one (tests with real load are in
the other files of this folder).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fitness.cli.load import parse_hosts
from fitness.config import LoadProfile
from fitness.errors import ConfigError, UsageError
from fitness.load.budgets import Verdict, judge
from fitness.load.measurement import EndpointMeasurement, Measurement, endpoint_key
from fitness.load.plan import LOAD_DEFAULTS, check_plan, plan_load
from fitness.load.targets import LoadTarget
from tests.load.conftest import REPO, ConfigWriter, directory_budgets, directory_budgets_only

TARGET = LoadTarget(urls={"directory": "http://127.0.0.1:1"}, label="by hand")


def test_the_repository_declares_a_ci_profile_and_the_default_locustfile() -> None:
    from fitness.config import load_config

    config = load_config(REPO / "quality-attributes.yaml")
    assert config.load.locustfile == REPO / "loadtests" / "locustfile.py"
    assert config.load.profiles["ci"] == LoadProfile(
        users=40, spawn_rate=20, duration=30, warmup=10, workers=None, budget_factor=4
    )
    assert config.settings_for("latency-budgets").adr == "ADR-0005"
    assert config.settings_for("latency-budgets").attribute == "performance"


@pytest.mark.parametrize(
    ("edit", "key", "problem"),
    [
        (
            lambda d: d["load"]["profiles"]["ci"].update(users=0),
            "load.profiles.ci.users",
            "must be at least 1",
        ),
        (lambda d: d["load"]["profiles"]["ci"].update(pace=3), "load.profiles.ci.pace", "unknown key"),
        (
            lambda d: d["load"]["profiles"]["ci"].update(budget_factor=0.5),
            "load.profiles.ci.budget_factor",
            "must be at least 1",
        ),
        (lambda d: d["load"].update(profiles={"ci": {}}), "load.profiles.ci", "must not be empty"),
        (lambda d: d["load"].update(locustfiles=[]), "load.locustfiles", "unknown key"),
        (
            lambda d: d["services"]["license"].update(budgets={"GET /v1/users": {"p95_ms": 10}}),
            "services.license.budgets.GET /v1/users",
            "GET /v1/users already has a budget under services.directory.budgets",
        ),
    ],
)
def test_load_settings_errors_name_file_line_and_key(
    write_config: ConfigWriter, edit: Any, key: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        write_config(edit)
    assert raised.value.key == key and raised.value.line is not None
    assert problem in raised.value.problem


def test_a_plan_takes_options_then_the_profile_then_the_defaults(write_config: ConfigWriter) -> None:
    config = write_config(lambda d: d["load"]["profiles"].update(nightly={"users": 50, "budget_factor": 2}))
    plan = plan_load(config, "nightly", LoadProfile(users=7, duration=12))
    assert (plan.users, plan.duration_s, plan.budget_factor, plan.profile) == (7, 12.0, 2.0, "nightly")
    assert plan.spawn_rate == LOAD_DEFAULTS.spawn_rate and plan.workers == 0
    without = plan_load(config, None)
    assert (without.users, without.duration_s, without.warmup_s) == (10, 60.0, 0.0)
    with pytest.raises(UsageError, match="--profile weekly: no such profile"):
        plan_load(config, "weekly")


def test_check_runs_the_ci_profile_or_a_short_default(write_config: ConfigWriter) -> None:
    assert check_plan(write_config()).profile == "ci"
    plan = check_plan(write_config(lambda d: d.pop("load")))
    assert (plan.profile, plan.users, plan.duration_s, plan.warmup_s) == (None, 10, 30.0, 5.0)


def test_hosts_for_every_service_or_one(write_config: ConfigWriter) -> None:
    config = write_config()
    assert parse_hosts(config, ["https://platform.example/"]) == {None: "https://platform.example"}
    assert parse_hosts(config, ["directory=http://10.0.0.2:8002", "http://10.0.0.9"]) == {
        "directory": "http://10.0.0.2:8002",
        None: "http://10.0.0.9",
    }


def test_request_names_become_budget_keys() -> None:
    assert endpoint_key("GET", "GET /v1/users/{user_id}") == "GET /v1/users/{user_id}"
    assert endpoint_key("get", "/v1/users") == "GET /v1/users"
    assert endpoint_key("POST", "login") == "POST login"


def endpoint(name: str, requests: int = 100, failures: int = 0, p95: float = 10, p99: float = 20) -> Any:
    return EndpointMeasurement(name, requests, failures, 5, p95, p99, 6, p99, requests / 10)


def measurement(*endpoints: EndpointMeasurement) -> Measurement:
    return Measurement(10, 5, 0, endpoints, {"directory": ("DirectoryUser",)})


def test_the_factor_never_loosens_the_error_rate(write_config: ConfigWriter) -> None:
    def one_budget(data: dict[str, Any]) -> None:
        budgets = directory_budgets_only(data)
        budgets.clear()
        budgets["GET /v1/users"] = {"p95_ms": 5, "error_rate": 0.01}

    config = write_config(one_budget)
    slow_and_failing = measurement(endpoint("GET /v1/users", requests=200, failures=3, p95=12))
    [violation] = judge(config, slow_and_failing, TARGET, 3).findings.violations
    assert violation.message == "over budget under load: failure rate 1.50% (3 of 200) exceeds 1.00%"
    [violation] = judge(config, slow_and_failing, TARGET, 2).findings.violations
    assert violation.message == (
        "over budget under load: p95 12 ms exceeds 10 ms (5 ms declared x2); "
        "failure rate 1.50% (3 of 200) exceeds 1.00%"
    )


def test_a_service_without_a_user_class_leaves_its_budgets_unexercised(write_config: ConfigWriter) -> None:
    def device_budget(data: dict[str, Any]) -> None:
        data["services"]["device"]["budgets"] = {"POST /v1/devices": {"p95_ms": 50}}

    config = write_config(device_budget)
    target = LoadTarget(urls={"directory": "http://a", "device": "http://b"}, label="deployed")
    judgement = judge(config, measurement(), target, 1)
    lines = {line.endpoint: line for line in judgement.lines}
    assert lines["POST /v1/devices"].verdict is Verdict.NO_TRAFFIC
    messages = {v.subject: v.message for v in judgement.findings.violations}
    assert messages["POST /v1/devices"].endswith("the locustfile has no user class for device")


def test_margins_are_headroom_under_the_limit(write_config: ConfigWriter) -> None:
    def budgets(data: dict[str, Any]) -> None:
        directory_budgets_only(data).clear()
        directory_budgets(data)["GET /v1/users"] = {"p95_ms": 20, "p99_ms": 10}

    judgement = judge(
        write_config(budgets), measurement(endpoint("GET /v1/users", p95=15, p99=15)), TARGET, 1
    )
    [line] = judgement.lines
    assert line.margin("p95") == pytest.approx(0.25) and line.margin("p99") == pytest.approx(-0.5)
    assert line.verdict is Verdict.BREACHED and line.margin("p50") is None


def test_a_measurement_survives_its_json_round_trip() -> None:
    measured = Measurement(
        12.5,
        20,
        2,
        (endpoint("GET /v1/users", failures=2),),
        {"directory": ("DirectoryUser",)},
        {"Anonymous": "declares no service"},
        ("2 x KeyError: 'id'",),
    )
    assert Measurement.from_json(measured.as_json()) == measured


def test_the_locustfile_default_is_beside_the_config(tmp_path: Path) -> None:
    from fitness.config import load_config

    (tmp_path / "adr").mkdir()
    (tmp_path / "quality-attributes.yaml").write_text(
        "version: 1\nservices:\n  a: {schema: a, role: a_role}\n"
    )
    config = load_config(tmp_path / "quality-attributes.yaml")
    assert config.load.locustfile == tmp_path / "loadtests" / "locustfile.py"
    assert not config.load.locustfile_declared and config.load.profiles == {}
