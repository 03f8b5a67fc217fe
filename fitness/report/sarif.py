"""SARIF 2.1.0, for code-scanning views: one rule per fitness function."""

from __future__ import annotations

import json
import re
from typing import Any

from fitness import __version__, registry
from fitness.engine.check_run import CheckRun
from fitness.engine.fitness_function import Status, Violation

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_FILE_LOCATION = re.compile(r"^(?P<path>[^:\s][^:]*\.[A-Za-z0-9]+):(?P<line>\d+)(?::\d+)?$")


def render(run: CheckRun) -> str:
    rules = []
    for result in run.results:
        function = registry.load(result.fitness)
        rule: dict[str, Any] = {
            "id": result.fitness,
            "name": "".join(part.title() for part in result.fitness.split("-")),
            "shortDescription": {"text": function.summary},
            "properties": {"tags": [kind.value for kind in result.kinds]},
            "defaultConfiguration": {"level": "warning" if result.severity == "warning" else "error"},
        }
        if result.adr or result.attribute:
            rule["properties"].update(
                {k: v for k, v in (("adr", result.adr), ("attribute", result.attribute)) if v}
            )
        rules.append(rule)
    results = [
        _result(result.fitness, index, violation, result.severity)
        for index, result in enumerate(run.results)
        for violation in result.violations
    ]
    notifications = [
        {
            "level": "error",
            "message": {"text": f"{r.fitness}: {r.reason or 'error'}"},
            "descriptor": {"id": r.fitness},
        }
        for r in run.results
        if r.status is Status.ERROR
    ]
    document = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "fitgate",
                        "version": __version__,
                        "informationUri": "https://github.com/fitgate/fitgate",
                        "rules": rules,
                    }
                },
                "invocations": [
                    {
                        "executionSuccessful": not notifications,
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2) + "\n"


def _result(rule_id: str, rule_index: int, violation: Violation, severity: str) -> dict[str, Any]:
    text = f"{violation.subject}: {violation.message}"
    if violation.hint:
        text += f" Fix: {violation.hint}"
    location: dict[str, Any] = {
        "logicalLocations": [{"fullyQualifiedName": violation.subject, "kind": "object"}]
    }
    match = _FILE_LOCATION.match(violation.location or "")
    if match:
        location["physicalLocation"] = {
            "artifactLocation": {"uri": match["path"], "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": int(match["line"])},
        }
    return {
        "ruleId": rule_id,
        "ruleIndex": rule_index,
        "level": "warning" if severity == "warning" else "error",
        "message": {"text": text},
        "locations": [location],
        "partialFingerprints": {"fitgate/v1": f"{rule_id}|{violation.subject}|{violation.message}"},
    }
