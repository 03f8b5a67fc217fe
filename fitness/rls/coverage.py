"""rls-coverage: every tenant table is isolated by row-level security, with no way around it.

Judged from the system catalogs of the database under check, knowing only the
service schemas, the tenant column and the tenant setting of the contract:

- tables (partitioned tables, partitions and inheritance children included) in
  a service schema that have the tenant column: RLS enabled and forced; a
  permissive tenant policy for every command and no weaker permissive policy
  (the rule for a tenant predicate is in :mod:`fitness.rls.predicate`); no
  IMMUTABLE or SECURITY DEFINER function inside a policy; no dormant policy, no
  policy-less deny-all; the column uuid and NOT NULL, an index leading with it,
  unique keys and foreign keys to tenant tables that include it;
- tables without the column are declared in ``global_tables`` with a reason
  (reported as notes); declarations name existing tables without the column;
- nothing runs around the policies: views without security_invoker,
  materialized views and foreign tables over tenant data, SECURITY DEFINER
  functions and who may execute them, functions with a mutable search_path,
  user LEAKPROOF functions, rules and SECURITY DEFINER triggers on tenant
  tables, a default tenant from ALTER ROLE/DATABASE SET, parameter grants.

A partition with RLS enabled and forced but no policy of its own is accepted:
queried directly it shows nothing, and through its parent the parent's
policies apply. A permissive policy wider than the tenant predicate is
honoured, as a note, when every role it names is a platform role declared
with ``bypass_rls: true``.
"""

from __future__ import annotations

from fitness.engine.context import CheckContext
from fitness.engine.fitness_function import Findings, FitnessFunction, Kind, SkipFitness
from fitness.rls.bypasses import check_bypasses
from fitness.rls.catalog import Catalog, read_catalog
from fitness.rls.expression import function_body_expression
from fitness.rls.policies import check_policies
from fitness.rls.predicate import PredicateJudge, Wrapper
from fitness.rls.scope import Scope
from fitness.rls.session_defaults import check_session_defaults
from fitness.rls.tables import check_tables


class RlsCoverage(FitnessFunction):
    id = "rls-coverage"
    kinds = (Kind.CATALOG,)
    summary = (
        "every tenant table has RLS enabled and forced with fail-closed tenant policies for "
        "every command, and no view, function, rule or setting runs around them"
    )
    needs_database = True

    def run(self, context: CheckContext) -> Findings:
        config = context.config
        schemas = [service.schema for service in config.services.values()]
        declared_roles = [s.role for s in config.services.values()] + list(config.platform_roles)
        with context.connect() as conn:
            catalog = read_catalog(
                conn,
                schemas=schemas,
                tenant_column=config.tenancy.column,
                setting=config.tenancy.setting,
                declared_roles=declared_roles,
            )
        if not catalog.existing_schemas:
            raise SkipFitness(
                f"none of the service schemas ({', '.join(schemas)}) exists in database "
                f"{catalog.database}: nothing to check"
            )
        scope = Scope(config, catalog)
        judge = PredicateJudge(config.tenancy.column, config.tenancy.setting, _wrappers(catalog))
        findings = Findings()
        check_tables(scope, findings)
        check_policies(scope, judge, findings)
        check_bypasses(scope, findings)
        check_session_defaults(scope, findings)
        for name, service in config.services.items():
            if service.schema not in catalog.existing_schemas:
                findings.note(f"schema {service.schema} of service {name} does not exist in the database")
        tenant_tables = scope.tenant_tables
        if not tenant_tables and not findings.violations:
            raise SkipFitness(
                f"no table in the service schemas ({', '.join(sorted(catalog.existing_schemas))}) "
                f"has a {config.tenancy.column} column: nothing to check"
            )
        children = sum(1 for r in tenant_tables if r.is_child)
        findings.note(
            f"tenant tables judged: {len(tenant_tables)} ({children} partitions or inheritance "
            f"children); policies: {len(catalog.policies)}; schemas: "
            f"{', '.join(sorted(catalog.existing_schemas))}; database: {catalog.database}"
        )
        return findings


def _wrappers(catalog: Catalog) -> dict[tuple[str, str], Wrapper]:
    """Functions without arguments, by (schema, name), with the expression each returns."""
    return {
        (f.schema, f.name): Wrapper(
            f.signature, function_body_expression(f.language, f.body) if f.body is not None else None
        )
        for f in catalog.functions.values()
        if f.argument_count == 0 and f.schema not in ("pg_catalog", "information_schema")
    }
