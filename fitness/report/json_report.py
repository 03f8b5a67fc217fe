"""The JSON report: exactly the shape DESIGN.md promises to scripts."""

from __future__ import annotations

import json
from typing import Any

from fitness.engine.check_run import CheckRun


def as_data(run: CheckRun) -> dict[str, Any]:
    return {
        "results": [
            {
                "fitness": result.fitness,
                "status": result.status.value,
                "attribute": result.attribute,
                "adr": result.adr,
                "violations": [
                    {
                        "subject": v.subject,
                        "message": v.message,
                        "location": v.location,
                        "hint": v.hint,
                    }
                    for v in result.violations
                ],
            }
            for result in run.results
        ],
        "summary": run.summary(),
    }


def render(run: CheckRun) -> str:
    return json.dumps(as_data(run), indent=2) + "\n"
