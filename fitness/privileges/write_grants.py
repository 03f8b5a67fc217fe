"""Grants that let a role write outside its own schema: on tables, columns, sequences, schemas,
and on the tables not created yet (default privileges)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from fitness.engine.fitness_function import Findings
from fitness.privileges.catalog import RELATION_KINDS, DefaultGrant, Grant, PrivilegeCatalog, Role
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
    privileges = _ordered(g.privilege for g in grants)
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


def _ordered(privileges: Iterable[str]) -> list[str]:
    order = {p: i for i, p in enumerate((*_RELATION_WRITES, "USAGE", "CREATE"))}
    return sorted(set(privileges), key=lambda p: order.get(p, len(order)))


def _note_platform_writes(catalog: PrivilegeCatalog, declared: DeclaredAccess, findings: Findings) -> None:
    for name, platform in sorted(declared.config.platform_roles.items()):
        if platform.writes and catalog.role(name) is not None:
            findings.note(
                f"platform role {name} may write {', '.join(platform.writes)} as declared: {platform.reason}"
            )


def judge_default_write_grants(
    catalog: PrivilegeCatalog, declared: DeclaredAccess, findings: Findings
) -> None:
    """Default privileges that will hand writes on future objects to someone else."""
    judge_default_grants(catalog, declared, findings, reads=False)


def judge_default_grants(
    catalog: PrivilegeCatalog, declared: DeclaredAccess, findings: Findings, *, reads: bool
) -> None:
    """Default privileges granting writes (or, with ``reads``, SELECT) across services."""
    grouped: dict[tuple[int, str | None, str, int | None, str], list[DefaultGrant]] = defaultdict(list)
    for default in catalog.default_grants:
        wanted = (
            default.privilege == "SELECT" and default.object_type == "r"
            if reads
            else default.privilege in WRITE_PRIVILEGES[default.object_type]
        )
        if not wanted:
            continue
        for schema in default.target_schemas:
            key = (
                default.creator.oid,
                default.schema,
                default.object_type,
                default.grantee.oid if default.grantee else None,
                schema,
            )
            grouped[key].append(default)
    for (_, _, _, _, schema), defaults in sorted(grouped.items(), key=lambda i: (i[0][4], str(i[0]))):
        first = defaults[0]
        if first.grantee is None:
            audience = "PUBLIC, every role"
        else:
            users = _foreign_users(catalog, declared, first.grantee, schema, services_only=reads)
            if not users:
                continue
            audience = first.grantee.name
            if users != [first.grantee.name]:
                audience += f", which {', '.join(users)} can use"
        owner = declared.service_of_schema(schema)
        of_service = f" of service {owner.name}" if owner is not None else ""
        objects = "tables" if first.object_type == "r" else "sequences"
        privileges = _ordered(d.privilege for d in defaults)
        unpublished = ", unpublished ones included" if reads else ""
        findings.add(
            schema,
            f"future {objects} that {first.creator.name} creates in schema {schema}{of_service} "
            f"will grant {', '.join(privileges)} to {audience}{unpublished}.",
            hint=(
                f"ALTER DEFAULT PRIVILEGES FOR ROLE {first.creator.sql_name}"
                + (f" IN SCHEMA {_schema_sql(catalog, schema)}" if first.schema is not None else "")
                + f" REVOKE {', '.join(privileges)} ON {objects.upper()} FROM {first.grantee_sql};"
            ),
        )


def _schema_sql(catalog: PrivilegeCatalog, schema: str) -> str:
    quoted = next((o.names_sql[0] for o in catalog.owned if o.kind == "schema" and o.schema == schema), None)
    return quoted or schema


def _foreign_users(
    catalog: PrivilegeCatalog,
    declared: DeclaredAccess,
    grantee: Role | None,
    schema: str,
    *,
    services_only: bool,
) -> list[str]:
    """The judged roles outside ``schema``'s service that can use ``grantee``'s privileges."""
    if grantee is None:
        return []
    users = []
    for subject in catalog.subjects:
        service = declared.service_of_role(subject.name)
        if service is not None and service.schema == schema:
            continue
        if services_only and service is None:
            continue
        if subject.oid == grantee.oid or catalog.membership(subject, grantee) is not None:
            users.append(subject.name)
    return sorted(users)
