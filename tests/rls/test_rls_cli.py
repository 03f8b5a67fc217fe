"""``fitgate check --only rls-coverage`` end to end: exit code and JSON report."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import RlsDatabase


def fitgate_check(rls: RlsDatabase) -> tuple[int, dict[str, object]]:
    config = rls.contract()
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "fitness",
            "check",
            "--only",
            "rls-coverage",
            "--database-url",
            rls.url,
            "--config",
            str(config),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.stderr == ""
    return run.returncode, json.loads(run.stdout)


def test_a_broken_database_exits_1_with_the_violation_in_json(rls: RlsDatabase) -> None:
    rls.tenant_table()
    rls.execute("ALTER TABLE directory.users NO FORCE ROW LEVEL SECURITY")
    code, report = fitgate_check(rls)
    assert code == 1
    [result] = report["results"]  # type: ignore[misc]
    assert result["fitness"] == "rls-coverage"
    assert result["status"] == "fail"
    assert [(v["subject"], v["hint"]) for v in result["violations"]] == [
        ("directory.users", "ALTER TABLE directory.users FORCE ROW LEVEL SECURITY;")
    ]
    assert report["summary"] == {"passed": 0, "failed": 1, "errors": 0, "skipped": 0}


def test_a_clean_database_exits_0(rls: RlsDatabase) -> None:
    rls.tenant_table()
    code, report = fitgate_check(rls)
    assert code == 0
    [result] = report["results"]  # type: ignore[misc]
    assert (result["fitness"], result["status"], result["violations"]) == ("rls-coverage", "pass", [])
