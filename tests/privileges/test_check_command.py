"""`fitgate check` end to end on the privilege and probe fitness functions."""

from __future__ import annotations

import json
import subprocess
import sys

ONLY = "write-ownership,read-contract,tenant-isolation-probe"


def check(platform, *extra):
    config = platform.write_contract()
    command = [
        sys.executable,
        "-m",
        "fitness",
        "check",
        "--only",
        ONLY,
        "--database-url",
        platform.url,
        "--config",
        str(config),
        *extra,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def ours(platform, report):
    """(fitness, subject) of the violations about this platform's objects."""
    found = []
    for result in report["results"]:
        for violation in result["violations"]:
            subject = violation["subject"]
            if subject.startswith(platform.prefix) or subject.split(".")[0] in ("directory", "license"):
                found.append((result["fitness"], subject.replace(platform.prefix, "{p}")))
    return sorted(found)


def test_a_broken_platform_fails_the_gate(service_platform):
    service_platform.sql(
        "GRANT USAGE ON SCHEMA license TO {p}_directory_service;"
        "GRANT INSERT, SELECT ON license.plans TO {p}_directory_service;"
        "ALTER TABLE directory.users DISABLE ROW LEVEL SECURITY"
    )
    done = check(service_platform, "--format", "json")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert [r["fitness"] for r in report["results"]] == ONLY.split(",")
    assert sorted(set(ours(service_platform, report))) == [
        ("read-contract", "license.plans"),
        ("tenant-isolation-probe", "directory.users"),
        ("write-ownership", "license.plans"),
    ]
    plans = next(
        v
        for r in report["results"]
        if r["fitness"] == "write-ownership"
        for v in r["violations"]
        if v["subject"] == "license.plans"
    )
    assert (
        plans["hint"] == f"REVOKE INSERT ON license.plans FROM {service_platform.role('directory_service')};"
    )


def test_a_correct_platform_passes_the_gate(service_platform):
    done = check(service_platform, "--format", "json")
    report = json.loads(done.stdout)
    assert ours(service_platform, report) == []
    assert {r["status"] for r in report["results"]} <= {"pass", "fail"}
    foreign = sum(len(r["violations"]) for r in report["results"])
    # on a shared server, other sessions' roles may be reported: then, and only then, exit 1
    assert done.returncode == (0 if foreign == 0 else 1), done.stderr


def test_the_text_report_shows_subject_and_fix(service_platform):
    service_platform.sql("GRANT DELETE ON directory.users TO {p}_license_service")
    done = check(service_platform)
    assert done.returncode == 1
    assert "directory.users: " in done.stdout
    assert (
        f"fix  REVOKE DELETE ON directory.users FROM {service_platform.role('license_service')};"
        in done.stdout
    )
