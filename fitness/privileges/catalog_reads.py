"""The database's side of the read contract: who can SELECT which other schema's tables."""

from __future__ import annotations

from collections import defaultdict

from fitness.config import Service
from fitness.engine.context import CheckContext
from fitness.engine.fitness_function import Findings, Kind
from fitness.privileges.catalog import RELATION_KINDS, Grant, PrivilegeCatalog, read_privilege_catalog
from fitness.privileges.declared import DeclaredAccess
from fitness.privileges.default_privileges import judge_default_grants
from fitness.privileges.memberships import READING_PREDEFINED_ROLES, service_role_routes


class CatalogReads:
    """SELECT on other schemas' tables, by any route: table, column, membership, PUBLIC."""

    kind = Kind.CATALOG
    needs_database = True

    def find(self, context: CheckContext, findings: Findings) -> None:
        if context.database is None:
            findings.note(f"catalog part not run: {context.no_database_reason}")
            return
        declared = DeclaredAccess(context.config)
        with context.connect() as conn:
            catalog = read_privilege_catalog(conn, declared)
        services = [role for role in catalog.subjects if declared.service_of_role(role.name) is not None]
        wholesale = set()
        for route in service_role_routes(catalog, declared, services):
            m = route.membership
            findings.add(
                m.member.name,
                f"{m.member.name} {m.how} {m.role.name}, {route.reason}: it can read every "
                f"table {m.role.name} can, unpublished ones included.",
                hint=m.revoke,
            )
            wholesale.add((m.member.oid, m.role.oid))
        for role in sorted(services, key=lambda r: r.name):
            for m in catalog.reachable(role):
                if m.role.name in READING_PREDEFINED_ROLES:
                    findings.add(
                        role.name,
                        f"{role.name} {m.how} {m.role.name}: {READING_PREDEFINED_ROLES[m.role.name]}.",
                        hint=m.revoke,
                    )
        _judge_select_grants(catalog, declared, wholesale, findings)
        judge_default_grants(catalog, declared, findings, reads=True)
        _note_declared_reads(declared, findings)


def _judge_select_grants(
    catalog: PrivilegeCatalog,
    declared: DeclaredAccess,
    wholesale: set[tuple[int, int]],
    findings: Findings,
) -> None:
    grouped: dict[tuple[int | None, int | None, str], list[Grant]] = defaultdict(list)
    for grant in catalog.grants:
        if grant.privilege != "SELECT" or grant.kind in ("S", "n"):
            continue
        subject, grantee = grant.subject, grant.grantee
        if subject is not None and grantee is not None and (subject.oid, grantee.oid) in wholesale:
            continue
        grouped[(subject.oid if subject else None, grantee.oid if grantee else None, grant.qualified)].append(
            grant
        )
    for _, grants in sorted(grouped.items(), key=lambda i: (i[0][2], str(i[0][0]), str(i[0][1]))):
        table_level = [g for g in grants if not g.columns]
        grant = table_level[0] if table_level else grants[0]
        columns = () if table_level else tuple(sorted({c for g in grants for c in g.columns}))
        columns_sql = () if table_level else tuple(sorted({c for g in grants for c in g.columns_sql}))
        _judge_one(catalog, declared, grant, columns, columns_sql, findings)


def _judge_one(
    catalog: PrivilegeCatalog,
    declared: DeclaredAccess,
    grant: Grant,
    columns: tuple[str, ...],
    columns_sql: tuple[str, ...],
    findings: Findings,
) -> None:
    schema, table = _published_name(grant)
    owner = declared.service_of_schema(grant.schema)
    owner_name = owner.name if owner is not None else grant.schema
    published = declared.publishes(schema, table)
    reader: Service | None = None
    if grant.subject is not None:
        reader = declared.service_of_role(grant.subject.name)
        if reader is not None and published and declared.declares_read(reader, schema, table):
            return
    who = "PUBLIC (every role)" if grant.subject is None else grant.subject.name
    target = f"columns ({', '.join(columns)}) of {grant.qualified}" if columns else grant.qualified
    kind = RELATION_KINDS[grant.kind]
    route = catalog.route(grant)
    if not published:
        message = f"{who} can SELECT {target}, a {kind} that service {owner_name} does not publish {route}."
    elif reader is None:
        message = (
            f"{who} can SELECT {target}, published by service {owner_name} {route}: every "
            "service can read it, beyond what each declares in reads."
        )
    else:
        message = (
            f"{who} can SELECT {target}, which service {reader.name} does not declare in its "
            f"reads {route}: the declared contract is narrower than the grants."
        )
    listed = f"SELECT ({', '.join(columns_sql)})" if columns_sql else "SELECT"
    hint = f"REVOKE {listed} ON {grant.object_sql} FROM {grant.grantee_sql};"
    if published and reader is not None:
        hint += f" -- or declare it: services.{reader.name}.reads.{owner_name}: [{table}]"
    findings.add(grant.qualified, message, hint=hint)


def _published_name(grant: Grant) -> tuple[str, str]:
    """A partition is published under its root table's name."""
    if grant.root is not None:
        schema, _, table = grant.root.partition(".")
        return schema, table
    return grant.schema, grant.name


def _note_declared_reads(declared: DeclaredAccess, findings: Findings) -> None:
    reads = sum(len(t) for s in declared.config.services.values() for t in s.reads.values())
    published = sum(len(s.publishes) for s in declared.config.services.values())
    findings.note(f"contract: {published} published table(s), {reads} declared read(s)")
