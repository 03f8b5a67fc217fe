"""Every report format carries the same results, in the shape its consumers expect."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import junitparser

from fitness.engine import Kind, Result, Status, Violation
from fitness.report import FORMATS, CheckRun

VIOLATIONS = (
    Violation(
        "ADR-0003",
        "enforced_by names rls-coverag, which is not a fitness function.",
        "adr/0003-events.md:7",
        "use one of: adr-traceability",
    ),
    Violation(
        "directory.users",
        "RLS is | not forced.",
        None,
        "ALTER TABLE directory.users FORCE ROW LEVEL SECURITY;",
    ),
)


def sample_run() -> CheckRun:
    results = (
        Result(
            "adr-traceability",
            Status.FAIL,
            (Kind.DOCS,),
            "evolvability",
            "ADR-0000",
            violations=VIOLATIONS,
            notes=("3 ADR(s)",),
            seconds=0.01,
        ),
        Result("adr-traceability", Status.PASS, (Kind.DOCS,), None, None),
        Result("adr-traceability", Status.SKIP, (Kind.DOCS,), None, None, reason="no database"),
        Result("adr-traceability", Status.ERROR, (Kind.DOCS,), None, None, reason="boom <&>"),
    )
    return CheckRun("demo", "quality-attributes.yaml", "embedded PostgreSQL 18", results, 1.5)


def test_json_has_exactly_the_documented_shape() -> None:
    data = json.loads(FORMATS["json"](sample_run()))
    assert set(data) == {"results", "summary"}
    assert data["summary"] == {"passed": 1, "failed": 1, "errors": 1, "skipped": 1}
    for result in data["results"]:
        assert set(result) == {"fitness", "status", "attribute", "adr", "violations"}
        assert result["status"] in {"pass", "fail", "error", "skip"}
        for violation in result["violations"]:
            assert set(violation) == {"subject", "message", "location", "hint"}
    first = data["results"][0]
    assert first["adr"] == "ADR-0000" and first["attribute"] == "evolvability"
    assert first["violations"][0]["location"] == "adr/0003-events.md:7"


def test_junit_is_accepted_by_a_junit_parser(tmp_path: Path) -> None:
    path = tmp_path / "report.xml"
    path.write_text(FORMATS["junit"](sample_run()))
    xml = junitparser.JUnitXml.fromfile(str(path))
    suites = list(xml) if isinstance(xml, junitparser.JUnitXml) else [xml]
    cases = [case for suite in suites for case in suite]
    assert len(cases) == 4
    outcomes = [type(case.result[0]).__name__ if case.result else "passed" for case in cases]
    assert outcomes == ["Failure", "passed", "Skipped", "Error"]
    failure = cases[0].result[0]
    assert "directory.users: RLS is | not forced." in (failure.text or "")
    assert "FORCE ROW LEVEL SECURITY" in (failure.text or "")
    assert cases[3].result[0].message == "boom <&>"


def test_sarif_has_the_required_2_1_0_fields() -> None:
    data = json.loads(FORMATS["sarif"](sample_run()))
    assert data["version"] == "2.1.0"
    assert data["$schema"].endswith("sarif-2.1.0.json")
    run = data["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "fitgate" and driver["version"]
    assert all({"id", "shortDescription"} <= set(rule) for rule in driver["rules"])
    assert len(run["results"]) == 2
    for result in run["results"]:
        assert result["ruleId"] in {rule["id"] for rule in driver["rules"]}
        assert result["message"]["text"]
        assert result["level"] == "error"
    physical = run["results"][0]["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "adr/0003-events.md"
    assert physical["region"]["startLine"] == 7
    logical = run["results"][1]["locations"][0]
    assert "physicalLocation" not in logical
    assert logical["logicalLocations"][0]["fullyQualifiedName"] == "directory.users"
    assert run["invocations"][0]["executionSuccessful"] is False


def test_markdown_escapes_table_cells() -> None:
    text = FORMATS["markdown"](sample_run())
    assert "| `directory.users` | RLS is \\| not forced. |" in text
    assert "1 passed, 1 failed, 1 errors, 1 skipped" in text


def test_text_shows_each_violation_with_its_fix() -> None:
    text = FORMATS["text"](sample_run())
    assert "  directory.users: RLS is | not forced." in text
    assert "    fix  ALTER TABLE directory.users FORCE ROW LEVEL SECURITY;" in text
    assert "    at   adr/0003-events.md:7" in text
    assert "no database" in text


def test_junit_escapes_xml() -> None:
    ET.fromstring(FORMATS["junit"](sample_run()).split("?>", 1)[1])
