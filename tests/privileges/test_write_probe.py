"""The write probe on its own: real statements find every write, whatever the catalog says."""

from __future__ import annotations

from fitness.config import load_config
from fitness.engine.context import CheckContext, DatabaseTarget
from fitness.engine.fitness_function import Findings
from fitness.privileges.declared import DeclaredAccess
from fitness.privileges.write_probe import ProbeTally, UnrefusedWrite, judge_write_probe, run_write_probe


def probe(platform):
    config = load_config(platform.write_contract())
    context = CheckContext(config, DatabaseTarget(platform.url, "test database", False))
    declared = DeclaredAccess(config)
    return run_write_probe(context, declared, declared.service_roles)


def test_every_statement_the_role_may_run_is_found(service_platform):
    service_platform.sql(
        "GRANT USAGE ON SCHEMA license TO {p}_directory_service;"
        "GRANT INSERT (seats) ON license.licenses TO {p}_directory_service;"
        "GRANT UPDATE (seats) ON license.licenses TO {p}_directory_service;"
        "GRANT TRUNCATE ON license.licenses TO {p}_directory_service;"
        "GRANT DELETE ON license.plans TO {p}_directory_service"
    )
    unrefused, tallies = probe(service_platform)
    found = sorted(
        (w.role.replace(service_platform.prefix, "{p}"), w.qualified, w.statement, w.sqlstate)
        for w in unrefused
    )
    assert found == [
        ("{p}_directory_service", "license.licenses", "INSERT", None),
        ("{p}_directory_service", "license.licenses", "TRUNCATE", None),
        ("{p}_directory_service", "license.licenses", "UPDATE (seats)", None),
        ("{p}_directory_service", "license.plans", "DELETE", None),
    ]
    assert {t.role for t in tallies} == {
        service_platform.role("directory_service"),
        service_platform.role("license_service"),
    }


def test_a_correct_platform_refuses_every_attempt(service_platform):
    unrefused, tallies = probe(service_platform)
    assert unrefused == []
    assert all(t.attempts == t.refused for t in tallies)


def test_a_write_the_catalog_cannot_explain_is_a_violation():
    findings = Findings()
    write = UnrefusedWrite("billing", "license", "licenses", "license.licenses", "DELETE", None, "succeeded")
    judge_write_probe([write], [ProbeTally("billing", 4, 3, 0)], lambda *_: False, str, findings)
    assert [(v.subject, v.hint) for v in findings.violations] == [
        ("license.licenses", "REVOKE DELETE ON license.licenses FROM billing;")
    ]
    assert "no grant in the catalog explains it" in findings.violations[0].message


def test_a_lock_held_elsewhere_is_inconclusive_not_a_violation():
    findings = Findings()
    write = UnrefusedWrite(
        "billing", "license", "licenses", "license.licenses", "TRUNCATE", "55P03", "lock timeout"
    )
    judge_write_probe([write], [ProbeTally("billing", 1, 0, 0)], lambda *_: False, str, findings)
    assert findings.violations == []
    assert any("inconclusive" in note for note in findings.notes)
