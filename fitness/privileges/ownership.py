"""Who owns the service schemas and their objects: a NOLOGIN owner role, never a login role."""

from __future__ import annotations

from fitness.engine.fitness_function import Findings
from fitness.privileges.catalog import OwnedObjects, PrivilegeCatalog, Role
from fitness.privileges.declared import DeclaredAccess

_ALTER = {
    "schema": "SCHEMA",
    "table": "TABLE",
    "view": "VIEW",
    "materialized view": "MATERIALIZED VIEW",
    "foreign table": "FOREIGN TABLE",
    "sequence": "SEQUENCE",
    "function": "FUNCTION",
    "procedure": "PROCEDURE",
}


def judge_declared_objects(catalog: PrivilegeCatalog, declared: DeclaredAccess, findings: Findings) -> None:
    """Each service's schema and role must exist: nothing about a missing one can be proven."""
    schemas = {o.schema for o in catalog.owned if o.kind == "schema"}
    for service in declared.config.services.values():
        if service.schema not in schemas:
            findings.add(
                service.schema,
                f"schema {service.schema} of service {service.name} does not exist in the database.",
                hint=f"CREATE SCHEMA {service.schema} AUTHORIZATION {service.schema}_owner;",
            )
        if catalog.role(service.role) is None:
            findings.add(
                service.role,
                f"role {service.role} of service {service.name} does not exist in the cluster.",
                hint=f"CREATE ROLE {service.role} LOGIN;",
            )


def judge_ownership(catalog: PrivilegeCatalog, declared: DeclaredAccess, findings: Findings) -> None:
    """Objects owned by a login role or by a service's role: the owner can undo every rule."""
    schema_owner = {o.schema: o.owner for o in catalog.owned if o.kind == "schema"}
    for owned in sorted(catalog.owned, key=lambda o: (o.schema, o.kind, o.owner.name)):
        why = _unfit_owner(owned.owner, declared)
        if why is None:
            continue
        new_owner = _suggested_owner(schema_owner.get(owned.schema), owned.schema, declared)
        for name, name_sql in zip(owned.names, owned.names_sql, strict=True):
            findings.add(
                name,
                f"{owned.kind} {name} is owned by {owned.owner.name}, {why}: its owner can drop "
                "it, grant itself anything on it and switch row-level security off.",
                hint=f"ALTER {_ALTER[owned.kind]} {name_sql} OWNER TO {new_owner};",
            )
    _note_superuser_owned(catalog.owned, findings)


def _unfit_owner(owner: Role, declared: DeclaredAccess) -> str | None:
    if owner.superuser:
        return None  # a superuser already holds every right; owning adds none
    service = declared.service_of_role(owner.name)
    if service is not None:
        return f"the role of service {service.name}"
    if owner.login:
        return "a login role"
    return None


def _suggested_owner(current: Role | None, schema: str, declared: DeclaredAccess) -> str:
    """The schema's owner when it is a fit NOLOGIN role; otherwise a role named after the schema."""
    if current is not None and _unfit_owner(current, declared) is None and not current.superuser:
        return current.sql_name
    return f"{schema}_owner"


def _note_superuser_owned(owned: list[OwnedObjects], findings: Findings) -> None:
    counts: dict[tuple[str, str], int] = {}
    for o in owned:
        if o.owner.superuser:
            key = (o.schema, o.owner.name)
            counts[key] = counts.get(key, 0) + o.count
    for (schema, owner), count in sorted(counts.items()):
        findings.note(f"{count} object(s) in schema {schema} are owned by superuser {owner}")
