"""JUnit XML: one test case per fitness function, for CI test-report views."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from fitness.engine.check_run import CheckRun
from fitness.engine.fitness_function import Status, Violation


def render(run: CheckRun) -> str:
    summary = run.summary()
    suite = ET.Element(
        "testsuite",
        name=f"fitgate.{run.system}",
        tests=str(len(run.results)),
        failures=str(summary["failed"]),
        errors=str(summary["errors"]),
        skipped=str(summary["skipped"]),
        time=f"{run.seconds:.3f}",
    )
    for result in run.results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"fitgate.{run.system}",
            name=result.fitness,
            time=f"{result.seconds:.3f}",
        )
        if result.status is Status.FAIL:
            failure = ET.SubElement(
                case,
                "failure",
                type="violation",
                message=f"{len(result.violations)} violation(s) of {result.fitness}",
            )
            failure.text = "\n".join(_describe(v) for v in result.violations)
        elif result.status is Status.ERROR:
            ET.SubElement(case, "error", type="error", message=result.reason or "error")
        elif result.status is Status.SKIP:
            ET.SubElement(case, "skipped", message=result.reason or "skipped")
        if result.notes:
            ET.SubElement(case, "system-out").text = "\n".join(result.notes)
    root = ET.Element(
        "testsuites",
        name="fitgate",
        tests=str(len(run.results)),
        failures=str(summary["failed"]),
        errors=str(summary["errors"]),
    )
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _describe(violation: Violation) -> str:
    text = f"{violation.subject}: {violation.message}"
    if violation.location:
        text += f"\n  at {violation.location}"
    if violation.hint:
        text += f"\n  fix: {violation.hint}"
    return text
