"""Grants that let a role write outside its own schema: on tables, columns, sequences, schemas."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from fitness.engine.fitness_function import Findings
from fitness.privileges.catalog import RELATION_KINDS, Grant, PrivilegeCatalog, Role
from fitness.privileges.declared import DeclaredAccess

# Privileges that change data or structure, by object kind (relkind, "n" for schemas).
_RELATION_WRITES = ("INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "MAINTAIN")
WRITE_PRIVILEGES: dict[str, tuple[str, ...]] = {
    **{kind: _RELATION_WRITES for kind in "rpvmf"},
    "S": ("USAGE", "UPDATE"),
    "n": ("CREATE",),
}

_CONSEQUENCE = {
    "TRUNCATE": "TRUNCATE ignores row-level security and empties every tenant's rows",
    "REFERENCES": "a foreign key from another schema blocks the owner's deletes and probes its keys",
    "TRIGGER": "a trigger runs code on the owner's writes",
    "MAINTAIN": "it can lock the table and refresh or cluster it",
    "CREATE": "it can add objects there that it owns",
}

GrantKey = tuple[int | None, int | None, str, bool]  # subject, grantee, object, column-level


def is_write(grant: Grant) -> bool:
    return grant.privilege in WRITE_PRIVILEGES.get(grant.kind, ())


def judge_write_grants(
    catalog: PrivilegeCatalog,
    declared: DeclaredAccess,
    wholesale: set[tuple[int, int]],
    findings: Findings,
) -> None:
    """One violation per (role, object, route): the privileges it can use there."""
    grouped: dict[GrantKey, list[Grant]] = defaultdict(list)
    for grant in catalog.grants:
        if not is_write(grant):
            continue
        subject, grantee = grant.subject, grant.grantee
        if subject is not None and grantee is not None and (subject.oid, grantee.oid) in wholesale:
            continue
        if subject is not None and declared.platform_writes(subject.name, grant.qualified):
            continue
        key = (
            subject.oid if subject else None,
            grantee.oid if grantee else None,
            grant.qualified,
            bool(grant.columns),
        )
        grouped[key].append(grant)
    table_level = {(k[0], k[1], k[2]): {g.privilege for g in v} for k, v in grouped.items() if not k[3]}
    for (subject_oid, grantee_oid, qualified, column_level), grants in sorted(
        grouped.items(), key=lambda item: (item[0][2], str(item[0][0]), str(item[0][1]), item[0][3])
    ):
        if column_level:
            covered = table_level.get((subject_oid, grantee_oid, qualified), set())
            grants = [g for g in grants if g.privilege not in covered]
            if not grants:
                continue
        _report(catalog, declared, grants, findings)
    _note_platform_writes(catalog, declared, findings)


def _report(
    catalog: PrivilegeCatalog, declared: DeclaredAccess, grants: list[Grant], findings: Findings
) -> None:
    first = grants[0]
    privileges = ordered_privileges(g.privilege for g in grants)
    columns = sorted({c for g in grants for c in g.columns})
    columns_sql = sorted({c for g in grants for c in g.columns_sql})
    owner = declared.service_of_schema(first.schema)
    owner_name = owner.name if owner else first.schema
    kind = RELATION_KINDS[first.kind]
    target = f"columns ({', '.join(columns)}) of {first.qualified}" if columns else first.qualified
    consequence = next((_CONSEQUENCE[p] for p in privileges if p in _CONSEQUENCE), None)
    tail = f"; {consequence}" if consequence else ""
    message = (
        f"{_who(first.subject, declared)} has {', '.join(privileges)} on {target}, "
        f"a {kind} of service {owner_name} {catalog.route(first)}{tail}."
    )
    findings.add(first.qualified, message, hint=_revoke(first, privileges, columns_sql))


def _who(subject: Role | None, declared: DeclaredAccess) -> str:
    if subject is None:
        return "PUBLIC (every role)"
    if declared.service_of_role(subject.name) is not None:
        return subject.name
    platform = declared.platform_role(subject.name)
    if platform is not None:
        return f"platform role {subject.name}, whose declared writes do not include it,"
    return f"{subject.name}, a login role the contract does not declare,"


def _revoke(grant: Grant, privileges: list[str], columns_sql: list[str]) -> str:
    listed = ", ".join(privileges)
    if columns_sql:
        listed = f"{listed} ({', '.join(columns_sql)})"
    on = {"S": "SEQUENCE ", "n": "SCHEMA "}.get(grant.kind, "")
    return f"REVOKE {listed} ON {on}{grant.object_sql} FROM {grant.grantee_sql};"


def ordered_privileges(privileges: Iterable[str]) -> list[str]:
    order = {p: i for i, p in enumerate((*_RELATION_WRITES, "USAGE", "CREATE"))}
    return sorted(set(privileges), key=lambda p: order.get(p, len(order)))


def _note_platform_writes(catalog: PrivilegeCatalog, declared: DeclaredAccess, findings: Findings) -> None:
    for name, platform in sorted(declared.config.platform_roles.items()):
        if platform.writes and catalog.role(name) is not None:
            findings.note(
                f"platform role {name} may write {', '.join(platform.writes)} as declared: {platform.reason}"
            )
