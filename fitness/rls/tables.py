"""Tenant tables and their declared exceptions: RLS flags, the tenant column, its keys.

Partitions and inheritance children are judged as tables of their own (their
RLS flags do not come from the parent), but a column or index property that a
fix on the parent would also fix is reported once, on the parent.
"""

from __future__ import annotations

from fitness.engine.fitness_function import Findings
from fitness.rls.catalog import ForeignKey, Relation, UniqueKey
from fitness.rls.scope import Scope


def check_tables(scope: Scope, findings: Findings) -> None:
    with_policies = {p.relation_oid for p in scope.catalog.policies}
    for relation in scope.catalog.relations.values():
        if not relation.has_tenant_column:
            _check_undeclared(scope, relation, findings)
            continue
        declared = scope.global_declarations.get((relation.schema, relation.name))
        if declared is not None:
            findings.add(
                relation.qualified,
                f"it is declared global in services.{declared.service.name}.global_tables but has "
                f"a {scope.column} column, so it holds tenant data and is judged as a tenant table.",
                location=scope.config_location(
                    "services", declared.service.name, "global_tables", declared.table
                ),
                hint=f"remove {declared.table} from services.{declared.service.name}.global_tables",
            )
        if relation.is_table:
            _check_tenant_table(scope, relation, relation.oid in with_policies, findings)
    for key in scope.catalog.unique_keys:
        _report_unique_key(scope, key, findings)
    for foreign_key in scope.catalog.foreign_keys:
        _report_foreign_key(scope, foreign_key, findings)
    _check_declarations_exist(scope, findings)


def _check_undeclared(scope: Scope, relation: Relation, findings: Findings) -> None:
    parent = scope.parent(relation)
    if parent is not None:
        return  # a child without the column: its parent lacks it too and is judged instead
    if not relation.in_service_schema:
        return
    if relation.qualified in scope.over_tenant_tables:
        return  # a materialized view of tenant data: reported as such
    declared = scope.global_declarations.get((relation.schema, relation.name))
    if declared is not None:
        findings.note(
            f"{relation.qualified} is declared global "
            f"(services.{declared.service.name}.global_tables): {declared.reason}"
        )
        return
    service = scope.config.service_by_schema(relation.schema)
    service_name = service.name if service is not None else relation.schema
    findings.add(
        relation.qualified,
        f"it has no {scope.column} column and is not declared in "
        f"services.{service_name}.global_tables: either it holds tenant data without the "
        "column, or it is global and the contract should say why.",
        location=scope.config_location("services", service_name),
        hint=f"services.{service_name}.global_tables: {{{relation.name}: <why it holds no tenant data>}}",
    )


def _check_tenant_table(scope: Scope, relation: Relation, has_policies: bool, findings: Findings) -> None:
    table = relation.qualified
    parent = scope.parent(relation)
    child = _child_description(relation, parent)
    if not relation.rls_enabled:
        fixes = [
            f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;",
            f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY;",
        ]
        if not has_policies and not relation.is_partition:
            fixes.append(scope.tenant_policy_sql(table))
        if parent is not None:
            message = (
                f"row-level security is disabled on this {child}: querying it directly bypasses "
                "the parent's policies and shows every tenant's rows."
            )
        else:
            message = (
                "row-level security is disabled, so every role that can read the table sees "
                "every tenant's rows."
            )
        findings.add(table, message, hint="\n".join(fixes))
    elif not relation.rls_forced:
        where = f" of this {child}" if parent is not None else ""
        findings.add(
            table,
            f"row-level security is enabled but not forced, so the owner{where} "
            f"({relation.owner}) and every role acting as it bypass the policies.",
            hint=f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY;",
        )
    column = scope.catalog.quoted_column
    # A child shares the parent's column: a fix on the parent reaches it (ALTER TABLE recurses).
    shared = parent if parent is not None and parent.has_tenant_column else None
    if not relation.tenant_column_is_uuid and shared is None:
        findings.add(
            table,
            f"{scope.column} is {relation.tenant_column_type}, not uuid: the setting is read as "
            "a uuid, and a text tenant id invites empty or malformed tenants.",
            hint=f"ALTER TABLE {table} ALTER COLUMN {column} TYPE uuid USING {column}::uuid;",
        )
    parent_nullable = shared is not None and not shared.tenant_column_not_null
    if not relation.tenant_column_not_null and not parent_nullable:
        findings.add(
            table,
            f"{scope.column} may be NULL: a row without a tenant belongs to no tenant, and any "
            "fail-open predicate shows it to everyone.",
            hint=f"ALTER TABLE {table} ALTER COLUMN {column} SET NOT NULL;",
        )
    # An index on a partitioned table is created on each partition; on an inheritance parent it is not.
    parent_reported = relation.is_partition and shared is not None and not shared.has_tenant_index
    if not relation.has_tenant_index and not parent_reported:
        findings.add(
            table,
            f"no valid index leads with {scope.column}: row-level security adds "
            f"{scope.column} = <tenant> to every query, which then scans the whole table.",
            hint=f"CREATE INDEX ON {table} ({column});",
        )


def _child_description(relation: Relation, parent: Relation | None) -> str:
    if parent is None:
        return "table"
    kind = "partition" if relation.is_partition else "inheritance child"
    return f"{kind} of {parent.qualified}"


def _report_unique_key(scope: Scope, key: UniqueKey, findings: Findings) -> None:
    table = scope.catalog.relations[key.relation_oid].qualified
    column = scope.catalog.quoted_column
    keys = ", ".join(key.key_columns)
    tenant_keys = f"{column}, {keys}"
    what = {"p": "primary key", "u": "unique constraint"}.get(key.constraint_kind or "", "unique index")
    if key.constraint_name is not None:
        kind = "PRIMARY KEY" if key.constraint_kind == "p" else "UNIQUE"
        name = key.constraint_name
        hint = f"ALTER TABLE {table} DROP CONSTRAINT {name}, ADD CONSTRAINT {name} {kind} ({tenant_keys});"
    else:
        name = key.index_name
        where = f" WHERE {key.index_predicate}" if key.index_predicate else ""
        hint = (
            f"DROP INDEX {key.index_name};\n"
            f"CREATE UNIQUE INDEX {key.index_local_name} ON {table} ({tenant_keys}){where};"
        )
    findings.add(
        table,
        f"{what} {name} ({keys}) leaves {scope.column} out: a duplicate-key error tells one "
        "tenant that another tenant holds the value.",
        hint=hint,
    )


def _report_foreign_key(scope: Scope, key: ForeignKey, findings: Findings) -> None:
    table = scope.catalog.relations[key.relation_oid].qualified
    column = scope.catalog.quoted_column
    columns = ", ".join(key.columns)
    referenced = ", ".join(key.referenced_columns)
    fix = (
        f"ALTER TABLE {table} DROP CONSTRAINT {key.quoted_name}, ADD CONSTRAINT {key.quoted_name} "
        f"FOREIGN KEY ({column}, {columns}) REFERENCES {key.referenced} ({column}, {referenced});"
    )
    if not key.has_tenant_column:
        findings.add(
            table,
            f"foreign key {key.name} ({columns}) references tenant table {key.referenced}, but "
            f"{table} has no {scope.column} column: it holds references to tenant rows without "
            "saying whose they are.",
            hint=f"ALTER TABLE {table} ADD COLUMN {column} uuid NOT NULL;\n{fix}",
        )
        return
    findings.add(
        table,
        f"foreign key {key.name} ({columns}) references tenant table {key.referenced} "
        f"({referenced}) without {scope.column}: foreign keys ignore row-level security, so a "
        "tenant can reference, and probe for, another tenant's rows.",
        hint=f"{fix}  -- needs a unique key on {key.referenced} ({column}, {referenced})",
    )


def _check_declarations_exist(scope: Scope, findings: Findings) -> None:
    present = {(r.schema, r.name) for r in scope.catalog.relations.values()}
    for (schema, table), declared in sorted(scope.global_declarations.items()):
        if schema not in scope.catalog.existing_schemas or (schema, table) in present:
            continue
        findings.add(
            f"{schema}.{table}",
            f"it is declared in services.{declared.service.name}.global_tables, but no such "
            "table exists in the database.",
            location=scope.config_location("services", declared.service.name, "global_tables", table),
            hint=f"remove {table} from services.{declared.service.name}.global_tables, or fix its name",
        )
