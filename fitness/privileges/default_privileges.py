"""Default privileges (ALTER DEFAULT PRIVILEGES): grants that tables not created yet will carry."""

from __future__ import annotations

from collections import defaultdict

from fitness.engine.fitness_function import Findings
from fitness.privileges.catalog import DefaultGrant, PrivilegeCatalog, Role
from fitness.privileges.declared import DeclaredAccess
from fitness.privileges.write_grants import WRITE_PRIVILEGES, ordered_privileges


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
        privileges = ordered_privileges(d.privilege for d in defaults)
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
