"""What rls-coverage reads from the system catalogs, in a fixed number of queries.

Each query is one ``.sql`` file of ``fitness.rls.sql`` and returns every row of
its kind at once, whatever the number of tables: ten statements in one
read-only transaction. The transaction runs with ``search_path = pg_catalog``
so that PostgreSQL prints every user function in a policy schema-qualified,
which is how policies' calls are matched to the functions read here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
from psycopg.rows import class_row

from fitness.sql_files import sql_file

_SQL = "fitness.rls.sql"
_READ_ONLY = "SET TRANSACTION READ ONLY"
# With only pg_catalog on the path, pg_get_expr qualifies every user function.
_PRINT_QUALIFIED = "SET LOCAL search_path = pg_catalog"
RowType = TypeVar("RowType")


@dataclass(frozen=True)
class _Head:
    database: str
    quoted_column: str
    existing_schemas: list[str]


@dataclass(frozen=True)
class Relation:
    oid: int
    schema: str
    name: str
    qualified: str  # schema.name, quoted where SQL needs it
    kind: str  # r table, p partitioned table, f foreign table, m materialized view
    in_service_schema: bool
    is_partition: bool
    parent_oid: int | None  # first inheritance or partition parent
    rls_enabled: bool
    rls_forced: bool
    owner: str
    has_tenant_column: bool
    tenant_column_type: str | None
    tenant_column_is_uuid: bool
    tenant_column_not_null: bool
    has_tenant_index: bool

    @property
    def is_table(self) -> bool:
        return self.kind in ("r", "p")

    @property
    def is_child(self) -> bool:
        return self.parent_oid is not None

    @property
    def is_tenant_table(self) -> bool:
        return self.is_table and self.has_tenant_column


@dataclass(frozen=True)
class Policy:
    relation_oid: int
    name: str
    quoted_name: str
    permissive: bool
    command: str  # SELECT, INSERT, UPDATE, DELETE or ALL
    roles: list[str]  # "public" for PUBLIC
    quoted_roles: list[str]  # as SQL spells them, "PUBLIC" for PUBLIC
    using_expression: str | None
    check_expression: str | None
    function_oids: list[int]

    def applies_to(self, command: str) -> bool:
        return self.command in (command, "ALL")


@dataclass(frozen=True)
class UniqueKey:
    relation_oid: int
    index_name: str
    index_local_name: str  # quoted where SQL needs it, as constraint_name
    constraint_name: str | None
    constraint_kind: str | None  # p primary key, u unique constraint, None a bare index
    key_columns: list[str]
    index_predicate: str | None


@dataclass(frozen=True)
class ForeignKey:
    relation_oid: int
    name: str
    quoted_name: str
    referenced: str
    columns: list[str]
    referenced_columns: list[str]
    has_tenant_column: bool


@dataclass(frozen=True)
class View:
    qualified: str
    kind: str  # v view, m materialized view
    security_invoker: bool
    owner: str
    owner_is_superuser: bool
    owner_bypasses_rls: bool
    tenant_tables: list[str]
    owned_unforced_tables: list[str]


@dataclass(frozen=True)
class Function:
    oid: int
    schema: str
    name: str
    signature: str  # schema.name(argument types)
    kind: str  # f function, p procedure, a aggregate, w window
    volatility: str  # i immutable, s stable, v volatile
    security_definer: bool
    leakproof: bool
    language: str
    argument_count: int
    in_service_schema: bool
    from_extension: bool
    pins_search_path: bool
    parsed_at_creation: bool
    body: str | None
    owner: str
    owner_bypasses_rls: bool
    executors: list[str]  # roles other than the owner that may EXECUTE; "PUBLIC" included

    @property
    def alter(self) -> str:
        """The ALTER statement's head for this routine."""
        return f"ALTER {'PROCEDURE' if self.kind == 'p' else 'FUNCTION'} {self.signature}"


@dataclass(frozen=True)
class RuleOrTrigger:
    relation_oid: int
    kind: str  # "rule" or "trigger"
    name: str
    quoted_name: str
    function_oid: int | None


@dataclass(frozen=True)
class SettingDefault:
    role: str | None  # None: ALTER DATABASE ... SET
    quoted_role: str | None
    database: str | None  # None: for every database
    quoted_database: str
    value: str


@dataclass(frozen=True)
class ParameterGrant:
    parameter: str
    privilege: str  # SET or ALTER SYSTEM
    grantee: str  # a role, or PUBLIC
    quoted_grantee: str


@dataclass(frozen=True)
class Catalog:
    """Everything the judgement needs, read in one transaction."""

    database: str
    quoted_column: str
    relations: Mapping[int, Relation]  # by oid
    policies: Sequence[Policy]
    unique_keys: Sequence[UniqueKey]
    foreign_keys: Sequence[ForeignKey]
    views: Sequence[View]
    functions: Mapping[int, Function]
    rules_and_triggers: Sequence[RuleOrTrigger]
    setting_defaults: Sequence[SettingDefault]
    parameter_grants: Sequence[ParameterGrant]
    existing_schemas: frozenset[str]


def read_catalog(
    conn: psycopg.Connection[Any],
    *,
    schemas: Sequence[str],
    tenant_column: str,
    setting: str,
    declared_roles: Sequence[str],
) -> Catalog:
    """Read every fact rls-coverage judges, in one read-only transaction."""
    with conn.transaction():
        conn.execute(_READ_ONLY)
        conn.execute(_PRINT_QUALIFIED)
        head = _rows(
            conn,
            "database_and_schemas.sql",
            _Head,
            tenant_column=tenant_column,
            schemas=list(schemas),
        )[0]
        relations = _rows(conn, "relations.sql", Relation, schemas=list(schemas), tenant_column=tenant_column)
        relation_oids = [r.oid for r in relations]
        tenant_oids = [r.oid for r in relations if r.has_tenant_column]
        tenant_table_oids = [r.oid for r in relations if r.is_tenant_table]
        policies = _rows(conn, "policies.sql", Policy, relations=relation_oids)
        rules_and_triggers = _rows(conn, "rules_and_triggers.sql", RuleOrTrigger, relations=relation_oids)
        referenced = sorted(
            {oid for p in policies for oid in p.function_oids}
            | {t.function_oid for t in rules_and_triggers if t.function_oid is not None}
        )
        functions = _rows(conn, "functions.sql", Function, schemas=list(schemas), referenced=referenced)
        catalog = Catalog(
            database=head.database,
            quoted_column=head.quoted_column,
            relations={r.oid: r for r in relations},
            policies=policies,
            unique_keys=_rows(
                conn,
                "unique_keys_without_tenant.sql",
                UniqueKey,
                tenant_relations=tenant_table_oids,
                tenant_column=tenant_column,
            ),
            foreign_keys=_rows(
                conn,
                "foreign_keys_without_tenant.sql",
                ForeignKey,
                relations=[r.oid for r in relations if r.is_table],
                tenant_relations=tenant_table_oids,
                tenant_column=tenant_column,
            ),
            views=_rows(conn, "views_over_tenant_tables.sql", View, tenant_relations=tenant_oids),
            functions={f.oid: f for f in functions},
            rules_and_triggers=rules_and_triggers,
            setting_defaults=_rows(
                conn,
                "tenant_setting_defaults.sql",
                SettingDefault,
                setting=setting,
                schemas=list(schemas),
                declared_roles=list(declared_roles),
            ),
            parameter_grants=_rows(
                conn,
                "parameter_grants.sql",
                ParameterGrant,
                schemas=list(schemas),
                declared_roles=list(declared_roles),
            ),
            existing_schemas=frozenset(head.existing_schemas),
        )
    return catalog


def _rows(
    conn: psycopg.Connection[Any], name: str, row_type: type[RowType], **params: object
) -> list[RowType]:
    with conn.cursor(row_factory=class_row(row_type)) as cursor:
        cursor.execute(sql_file(_SQL, name), params)
        return cursor.fetchall()
