"""What the guard recorded, as violations of no-cross-service-calls and tenant-scope."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from fitness.config import Config
from fitness.engine.fitness_function import Findings
from fitness.runtime.guard_log import (
    CROSS_SERVICE_CONNECTION,
    GUARD_LOG_ENV,
    INSTALLED,
    TENANT_LEAK,
    GuardRecord,
    guard_log_path,
    read_guard_log,
)
from fitness.runtime.guards import GUARD_ENV


def runtime_records(
    config: Config, kind: str, findings: Findings, log: Path | None = None
) -> list[GuardRecord] | None:
    """Records of ``kind`` from ``log``, else ``FITGATE_GUARD_LOG``; None (and a note) if neither is named."""
    path = log or guard_log_path()
    if path is None:
        findings.note(
            f"runtime: not checked: {GUARD_LOG_ENV} names no guard log (run the services with "
            f"{GUARD_ENV}=1 and {GUARD_LOG_ENV}=PATH, then check with the same {GUARD_LOG_ENV})"
        )
        return None
    records, broken = read_guard_log(path)
    processes = Counter(r.service for r in records if r.kind == INSTALLED)
    ran = ", ".join(f"{name} ({count})" for name, count in sorted(processes.items())) or "none"
    findings.note(f"runtime: guard log {path}: guarded processes per service: {ran}")
    missing = [name for name in config.services if name not in processes]
    if missing:
        findings.note(f"runtime: never ran under the guard: {', '.join(missing)}")
    if broken:
        findings.note(f"runtime: {len(broken)} unreadable line(s) in {path} (first: line {broken[0]})")
    return [r for r in records if r.kind == kind]


def add_connection_violations(config: Config, findings: Findings, log: Path | None = None) -> bool:
    """Connections from one service to another; returns whether a guard log was read."""
    records = runtime_records(config, CROSS_SERVICE_CONNECTION, findings, log)
    if records is None:
        return False
    seen: Counter[tuple[str, str, str, str]] = Counter()
    for record in records:
        target = str(record.details.get("target", "?"))
        address = str(record.details.get("declared") or record.details.get("address", "?"))
        seen[(_subject(record), record.service, target, address)] += 1
    for (subject, service, target, address), count in sorted(seen.items()):
        findings.add(
            subject,
            f"at run time, service {service} connected to service {target} at {address}: "
            "services never call each other",
            location=subject if ".py:" in subject else None,
            hint=f"read {target}'s published tables instead of calling its API",
        )
        findings.note(f"runtime: {subject}: {count} connection(s) from {service} to {target}")
    return True


def add_tenant_leak_violations(config: Config, findings: Findings, log: Path | None = None) -> bool:
    """Pooled connections returned with the tenant set; returns whether a guard log was read."""
    records = runtime_records(config, TENANT_LEAK, findings, log)
    if records is None:
        return False
    setting = config.tenancy.setting
    seen: Counter[tuple[str, str]] = Counter()
    for record in records:
        seen[(_subject(record), record.service)] += 1
    for (subject, service), count in sorted(seen.items()):
        findings.add(
            subject,
            f"at run time, a connection went back to service {service}'s pool with {setting} "
            "still set: the next request on that connection runs as that tenant",
            location=subject if ".py:" in subject else None,
            hint=f"set the tenant with set_config('{setting}', $1, true) inside the transaction, "
            "never for the session",
        )
        findings.note(f"runtime: {subject}: {count} connection(s) returned with {setting} set")
    return True


def _subject(record: GuardRecord) -> str:
    """The service's line if the guard found it, else the request it served, else the service."""
    request = record.details.get("request")
    return record.site or (str(request) if request else f"service {record.service}")
