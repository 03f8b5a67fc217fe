"""``fitgate check`` end to end on small projects: exit codes, outputs, baseline."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from fitness.cli import main
from tests.cli.conftest import ADR


def test_a_held_contract_exits_0_with_a_readable_report(
    capsys: pytest.CaptureFixture[str], project: Callable[..., Path]
) -> None:
    path = project()
    assert main(["check", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^adr-traceability +pass ", out, re.MULTILINE)
    assert "1 passed, 0 failed, 0 errors" in out


def test_a_broken_rule_exits_1_and_json_names_the_subject(
    capsys: pytest.CaptureFixture[str], project: Callable[..., Path]
) -> None:
    broken = ADR.replace("enforced_by: [adr-traceability]", "enforced_by: [adr-traceability, nope]")
    path = project(adrs={"0001-record.md": broken})
    assert main(["check", "--config", str(path), "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    (result,) = [r for r in data["results"] if r["fitness"] == "adr-traceability"]
    assert result["status"] == "fail"
    (violation,) = result["violations"]
    assert violation["subject"] == "ADR-0001"
    assert violation["location"] == "adr/0001-record.md:7"
    assert "nope" in violation["message"]


def test_output_goes_to_the_file_and_a_summary_to_stdout(
    capsys: pytest.CaptureFixture[str], project: Callable[..., Path]
) -> None:
    path = project()
    report = path.parent / "report.xml"
    assert main(["check", "--config", str(path), "--format", "junit", "--output", str(report)]) == 0
    assert "report in" in capsys.readouterr().out
    assert report.read_text().startswith("<?xml")
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".report")] == []


def test_a_baseline_accepts_known_violations_but_not_new_ones(
    capsys: pytest.CaptureFixture[str], project: Callable[..., Path]
) -> None:
    broken = ADR.replace("enforced_by: [adr-traceability]", "enforced_by: [adr-traceability, nope]")
    path = project(adrs={"0001-record.md": broken})
    baseline = path.parent / "baseline.json"
    assert main(["check", "--config", str(path), "--format", "json", "--output", str(baseline)]) == 1
    assert main(["check", "--config", str(path), "--baseline", str(baseline)]) == 0
    assert "1 known violation(s) accepted by the baseline" in capsys.readouterr().out
    worse = broken.replace("nope]", "nope, other]")
    (path.parent / "adr" / "0001-record.md").write_text(worse)
    assert main(["check", "--config", str(path), "--baseline", str(baseline)]) == 1


def test_a_fitness_function_can_be_disabled(
    capsys: pytest.CaptureFixture[str], project: Callable[..., Path]
) -> None:
    config = (
        "version: 1\nservices:\n  a: {schema: a, role: a}\nfitness:\n  adr-traceability: {enabled: false}\n"
    )
    path = project(config)
    assert main(["check", "--config", str(path), "--format", "json"]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    (result,) = [r for r in results if r["fitness"] == "adr-traceability"]
    assert result["status"] == "skip"


def test_warning_severity_reports_but_does_not_block(
    capsys: pytest.CaptureFixture[str], project: Callable[..., Path]
) -> None:
    config = (
        "version: 1\nquality_attributes: {evolvability: x}\nservices:\n  a: {schema: a, role: a}\n"
        "fitness:\n  adr-traceability: {severity: warning}\n"
    )
    path = project(config)
    assert main(["check", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^adr-traceability +warn ", out, re.MULTILINE)
    assert "names no ADR and no quality attribute" in out
