"""Memberships that hand a role another service's rights, an owner's rights, or every table."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from fitness.engine.fitness_function import Findings
from fitness.privileges.catalog import Membership, PrivilegeCatalog, Role
from fitness.privileges.declared import DeclaredAccess

# Predefined roles that write past every ACL, with what each allows.
WRITING_PREDEFINED_ROLES = {
    "pg_write_all_data": "it can INSERT, UPDATE and DELETE every table of every schema",
    "pg_write_server_files": "it can write files as the server's operating-system user",
    "pg_execute_server_program": "it can run programs as the server's operating-system user",
}

READING_PREDEFINED_ROLES = {
    "pg_read_all_data": "it can SELECT every table of every schema, unpublished ones included",
}


@dataclass(frozen=True)
class WholesaleRoute:
    """A membership reported once for everything it grants, not table by table."""

    membership: Membership
    reason: str


def service_role_routes(
    catalog: PrivilegeCatalog, declared: DeclaredAccess, subjects: Iterable[Role]
) -> list[WholesaleRoute]:
    """Memberships of ``subjects`` in the role of another service."""
    routes = []
    for subject in subjects:
        for membership in catalog.reachable(subject):
            service = declared.service_of_role(membership.role.name)
            if service is not None:
                routes.append(WholesaleRoute(membership, f"the role of service {service.name}"))
    return routes


def judge_memberships(
    catalog: PrivilegeCatalog, declared: DeclaredAccess, findings: Findings
) -> set[tuple[int, int]]:
    """Report wholesale write routes; returns the (subject, role) pairs reported.

    Grants reached through a reported pair are not listed again, table by table.
    """
    reported: set[tuple[int, int]] = set()
    subjects = [s for s in catalog.subjects if not _declared_superuser(s, declared)]
    for route in service_role_routes(catalog, declared, subjects):
        m = route.membership
        findings.add(
            m.member.name,
            f"{m.member.name} {m.how} {m.role.name}, {route.reason}: "
            f"it can write whatever {m.role.name} can.",
            hint=m.revoke,
        )
        reported.add((m.member.oid, m.role.oid))
    owners = catalog.owners_in_service_schemas()
    for subject in sorted(subjects, key=lambda r: r.name):
        for m in sorted(catalog.reachable(subject), key=lambda x: x.role.name):
            if (m.member.oid, m.role.oid) in reported:
                continue
            if m.role.name in WRITING_PREDEFINED_ROLES:
                findings.add(
                    subject.name,
                    f"{subject.name} {m.how} {m.role.name}: {WRITING_PREDEFINED_ROLES[m.role.name]}.",
                    hint=m.revoke,
                )
            elif m.role.oid in owners and not m.role.superuser:
                owned = owners[m.role.oid]
                count = sum(o.count for o in owned)
                schemas = sorted({o.schema for o in owned})
                findings.add(
                    subject.name,
                    f"{subject.name} {m.how} {m.role.name}, which owns {count} object(s) in "
                    f"schema {', '.join(schemas)}: it can drop them, grant itself anything on "
                    "them and switch their row-level security off.",
                    hint=m.revoke,
                )
            else:
                continue
            reported.add((m.member.oid, m.role.oid))
    return reported


def _declared_superuser(role: Role, declared: DeclaredAccess) -> bool:
    platform = declared.platform_role(role.name)
    return platform is not None and platform.superuser
