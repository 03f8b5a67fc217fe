"""SECURITY DEFINER functions of another service that a role can call: a write by proxy."""

from __future__ import annotations

from fitness.engine.fitness_function import Findings
from fitness.privileges.catalog import PrivilegeCatalog
from fitness.privileges.declared import DeclaredAccess


def judge_definer_functions(
    catalog: PrivilegeCatalog, declared: DeclaredAccess, wholesale: set[tuple[int, int]], findings: Findings
) -> None:
    """One violation per (role, function): it runs as its owner, whatever the caller may write."""
    for call in sorted(catalog.definer_functions, key=lambda c: (c.function, c.subject.name)):
        if call.grantee is not None and (call.subject.oid, call.grantee.oid) in wholesale:
            continue
        owner = declared.service_of_schema(call.schema)
        owner_name = owner.name if owner is not None else call.schema
        if call.grantee is None:
            route = "EXECUTE is granted to PUBLIC, the default"
        elif call.grantee.oid == call.subject.oid:
            route = "granted to it directly"
        else:
            route = f"granted to {call.grantee.name}"
        findings.add(
            call.function,
            f"{call.subject.name} can call {call.function}, a SECURITY DEFINER function of service "
            f"{owner_name} that runs as {call.owner.name} ({route}): whatever it writes, "
            f"{call.subject.name} writes.",
            hint=f"REVOKE EXECUTE ON FUNCTION {call.function_sql} FROM {call.grantee_sql};",
        )
