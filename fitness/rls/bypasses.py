"""Objects through which tenant rows escape the policies: they run with someone else's
rights (definer views, SECURITY DEFINER functions and triggers, rules), are copies or
remote data RLS cannot filter (materialized views, foreign tables), or see rows before
the policies do (LEAKPROOF functions, a mutable search_path).
"""

from __future__ import annotations

from fitness.engine.fitness_function import Findings
from fitness.rls.catalog import Function, View
from fitness.rls.scope import Scope, listing

_SYSTEM_SCHEMAS = ("pg_catalog", "information_schema")


def check_bypasses(scope: Scope, findings: Findings) -> None:
    materialized: dict[str, list[str]] = {}
    for view in scope.catalog.views:
        if view.kind == "m":
            materialized[view.qualified] = view.tenant_tables
        elif not view.security_invoker:
            _report_definer_view(view, findings)
    for relation in scope.catalog.relations.values():
        if not (relation.has_tenant_column and relation.in_service_schema):
            continue
        if relation.kind == "m":
            materialized.setdefault(relation.qualified, [])
        elif relation.kind == "f":
            findings.add(
                relation.qualified,
                f"foreign table with a {scope.column} column: row-level security cannot apply to "
                "a foreign table, so every role that can read it sees every tenant's rows.",
                hint=f"REVOKE ALL ON {relation.qualified} FROM PUBLIC;  -- and serve the rows from a "
                "tenant table with row-level security",
            )
    for qualified, sources in sorted(materialized.items()):
        origin = f" (from {listing(sources)})" if sources else ""
        findings.add(
            qualified,
            f"materialized view holding tenant data{origin}: row-level security cannot apply "
            "to it, so every role that can read it sees every tenant's rows.",
            hint=f"DROP MATERIALIZED VIEW {qualified};  -- serve it as a view WITH "
            "(security_invoker = true), or as a tenant table with row-level security",
        )
    referenced = {oid for p in scope.catalog.policies for oid in p.function_oids} | {
        t.function_oid for t in scope.catalog.rules_and_triggers if t.function_oid is not None
    }
    for function in scope.catalog.functions.values():
        _check_function(scope, function, function.oid in referenced, findings)
    _check_rules_and_triggers(scope, findings)


def _report_definer_view(view: View, findings: Findings) -> None:
    tables = listing(view.tenant_tables)
    escapes = []
    if view.owner_is_superuser:
        escapes.append(f"its owner {view.owner} is a superuser")
    elif view.owner_bypasses_rls:
        escapes.append(f"its owner {view.owner} has BYPASSRLS")
    if view.owned_unforced_tables and not escapes:
        escapes.append(
            f"its owner {view.owner} owns {listing(view.owned_unforced_tables)} "
            "without FORCE ROW LEVEL SECURITY"
        )
    if escapes:
        message = (
            f"view over tenant tables ({tables}) without security_invoker: it reads them with "
            f"its owner's rights and {escapes[0]}, so it returns every tenant's rows."
        )
    else:
        message = (
            f"view over tenant tables ({tables}) without security_invoker: it reads them with "
            f"the rights of its owner {view.owner}, not the caller's, so the caller's grants and "
            "role-specific policies do not apply."
        )
    findings.add(view.qualified, message, hint=f"ALTER VIEW {view.qualified} SET (security_invoker = true);")


def _check_function(scope: Scope, function: Function, referenced: bool, findings: Findings) -> None:
    if function.schema in _SYSTEM_SCHEMAS:
        return
    if function.leakproof:
        findings.add(
            function.signature,
            "user-defined LEAKPROOF function: the planner may run it on rows before the policies "
            "filter them, so whatever it reveals (errors, notices, timing) covers other tenants' rows.",
            hint=f"{function.alter} NOT LEAKPROOF;",
        )
    if function.from_extension or not (function.in_service_schema or referenced):
        return
    if function.security_definer and function.in_service_schema:
        _report_security_definer(scope, function, findings)
    mutable = not (function.pins_search_path or function.parsed_at_creation)
    if mutable and function.language not in ("c", "internal"):
        rights = (
            f", and it runs with the rights of its owner {function.owner}"
            if function.security_definer
            else ""
        )
        findings.add(
            function.signature,
            "function without SET search_path: the names in its body resolve through the "
            "caller's search_path, where pg_temp comes first for tables, so a temporary table "
            f"or an object earlier on the path can take their place{rights}.",
            hint=f"{function.alter} SET search_path = pg_catalog, pg_temp;  -- and "
            "schema-qualify the names its body uses",
        )


def _report_security_definer(scope: Scope, function: Function, findings: Findings) -> None:
    owner_schema = function.schema
    others = sorted(
        role
        for role in function.executors
        if role in scope.services_by_role
        and scope.config.services[scope.services_by_role[role]].schema != owner_schema
    )
    if "PUBLIC" in function.executors:
        who = "every role may execute it (EXECUTE is granted to PUBLIC, the default)"
    elif others:
        who = f"other services may execute it ({', '.join(others)})"
    elif function.executors:
        who = f"{', '.join(function.executors)} may execute it"
    else:
        who = "only its owner may execute it"
    bypass = " (who bypasses row-level security)" if function.owner_bypasses_rls else ""
    fixes = [f"{function.alter} SECURITY INVOKER;"]
    if "PUBLIC" in function.executors:
        kind = "PROCEDURE" if function.kind == "p" else "FUNCTION"
        fixes.append(f"REVOKE EXECUTE ON {kind} {function.signature} FROM PUBLIC;")
    findings.add(
        function.signature,
        f"SECURITY DEFINER function: it runs with the rights of its owner {function.owner}"
        f"{bypass}, not the caller's, and {who}.",
        hint="\n".join(fixes),
    )


def _check_rules_and_triggers(scope: Scope, findings: Findings) -> None:
    for item in scope.catalog.rules_and_triggers:
        relation = scope.catalog.relations[item.relation_oid]
        if not relation.is_tenant_table:
            continue
        subject = f"{relation.qualified}: {item.name}"
        if item.kind == "rule":
            findings.add(
                subject,
                "rule on a tenant table: it rewrites statements before the policies apply, and "
                "its actions run with the table owner's rights, not the caller's.",
                hint=f"DROP RULE {item.quoted_name} ON {relation.qualified};  -- use a trigger",
            )
            continue
        function = scope.catalog.functions.get(item.function_oid or 0)
        if function is not None and function.security_definer:
            findings.add(
                subject,
                f"trigger on a tenant table runs SECURITY DEFINER function {function.signature} "
                f"with the rights of {function.owner}: what it reads and writes escapes the "
                "caller's tenant policies.",
                hint=f"{function.alter} SECURITY INVOKER;",
            )
