"""The policies of tenant tables: coverage of every command, nothing that widens it.

For each command, PostgreSQL ORs the permissive policies that apply and ANDs
the restrictive ones. So a tenant table is covered when, for SELECT, INSERT,
UPDATE and DELETE, some permissive policy holds the tenant predicate (USING
for reading, WITH CHECK, or USING where WITH CHECK is omitted, for writing),
and no permissive policy holds anything weaker, which would be OR-ed in.
Restrictive policies only narrow and are never a finding for what they let
through; a RESTRICTIVE tenant policy for every role is recommended as a floor.
Each problem is reported once: a weak policy on the policy, a command that no
policy covers on the table.
"""

from __future__ import annotations

from collections import defaultdict

from fitness.engine.fitness_function import Findings
from fitness.rls.catalog import Policy, Relation
from fitness.rls.predicate import PredicateJudge, Shape, Verdict
from fitness.rls.scope import COMMANDS, Scope, describe_roles, listing

_READS = {"SELECT", "UPDATE", "DELETE", "ALL"}  # commands whose policies have USING
_WRITES = {"INSERT", "UPDATE", "ALL"}  # commands whose policies have WITH CHECK


def check_policies(scope: Scope, judge: PredicateJudge, findings: Findings) -> None:
    by_relation: dict[int, list[Policy]] = defaultdict(list)
    for policy in scope.catalog.policies:
        by_relation[policy.relation_oid].append(policy)
    without_floor: list[str] = []
    noisy: list[str] = []
    for relation in scope.tenant_tables:
        policies = by_relation.get(relation.oid, [])
        if relation.rls_enabled and not policies and not relation.is_partition:
            findings.add(
                relation.qualified,
                "row-level security is enabled but the table has no policy: every query sees no "
                "rows and every write fails (a silent deny-all, usually a forgotten policy).",
                hint=scope.tenant_policy_sql(relation.qualified),
            )
        for policy in policies:
            _check_functions(scope, relation, policy, findings)
            if not relation.rls_enabled:
                findings.add(
                    _subject(relation, policy),
                    f"the policy is dormant: row-level security is disabled on {relation.qualified}, "
                    "so it filters nothing.",
                    hint=f"ALTER TABLE {relation.qualified} ENABLE ROW LEVEL SECURITY;",
                )
            if any(judge.judge(e).noisy for e in _expressions(policy)):
                noisy.append(_subject(relation, policy))
        reported = _check_permissive(scope, judge, relation, policies, findings)
        if relation.rls_enabled and policies:
            _check_coverage(scope, judge, relation, policies, reported, findings)
        if relation.rls_enabled and policies and not _has_floor(judge, policies):
            without_floor.append(relation.qualified)
    if noisy:
        findings.note(
            f"policies that fail closed by raising an error when no tenant (or an empty one) is "
            f"set: {listing(noisy)}; NULLIF(current_setting('{scope.setting}', true), '') "
            "matches no row instead"
        )
    if without_floor:
        findings.note(
            f"recommended: a RESTRICTIVE tenant policy for every role on {listing(without_floor)}, "
            "so that no permissive policy added later can widen access past the tenant "
            f"(CREATE POLICY tenant_floor ON <table> AS RESTRICTIVE FOR ALL TO PUBLIC "
            f"USING ({scope.predicate}) WITH CHECK ({scope.predicate}))"
        )


def _subject(relation: Relation, policy: Policy) -> str:
    return f"{relation.qualified}: {policy.name}"


def _expressions(policy: Policy) -> list[str]:
    return [e for e in (policy.using_expression, policy.check_expression) if e is not None]


def _check_functions(scope: Scope, relation: Relation, policy: Policy, findings: Findings) -> None:
    for oid in policy.function_oids:
        function = scope.catalog.functions.get(oid)
        if function is None or function.schema in ("pg_catalog", "information_schema"):
            continue
        if function.volatility == "i":
            findings.add(
                _subject(relation, policy),
                f"it calls {function.signature}, which is declared IMMUTABLE: PostgreSQL may compute "
                "it once when planning, so a cached plan can hand one tenant's value to the next.",
                hint=f"{function.alter} STABLE;",
            )
        if function.security_definer:
            findings.add(
                _subject(relation, policy),
                f"it calls {function.signature}, which is SECURITY DEFINER: the policy runs code "
                f"with the rights of {function.owner}, not of the querying role.",
                hint=f"{function.alter} SECURITY INVOKER;",
            )


def _check_permissive(
    scope: Scope, judge: PredicateJudge, relation: Relation, policies: list[Policy], findings: Findings
) -> set[str]:
    """Report permissive policies weaker than the tenant predicate; the commands they touch."""
    reported: set[str] = set()
    for policy in policies:
        if not policy.permissive:
            continue
        weak: list[tuple[str, Verdict]] = []
        if policy.command in _READS and policy.using_expression is not None:
            weak.append(("USING clause", judge.judge(policy.using_expression)))
        if policy.command in _WRITES and policy.check_expression is not None:
            weak.append(("WITH CHECK clause", judge.judge(policy.check_expression)))
        has_tenant_clause = any(v.is_tenant for _, v in weak)
        weak = [(clause, v) for clause, v in weak if v.shape not in (Shape.TENANT, Shape.DENIES)]
        if not weak:
            continue
        commands = COMMANDS if policy.command == "ALL" else (policy.command,)
        if set(policy.roles) <= scope.bypass_roles:
            findings.note(
                f"{_subject(relation, policy)} lets {describe_roles(policy.roles)} past the tenant "
                "predicate, as declared in platform_roles (bypass_rls)"
            )
            continue
        reported.update(commands)
        for clause, verdict in weak:
            effect = "see other tenants' rows" if clause == "USING clause" else "write rows for any tenant"
            findings.add(
                _subject(relation, policy),
                f"permissive {policy.command} policy whose {clause} {verdict.reason}; permissive "
                f"policies are OR-ed, so {describe_roles(policy.roles)} can {effect}.",
                hint=_weak_policy_fix(scope, relation, policy, verdict, has_tenant_clause),
            )
    return reported


def _weak_policy_fix(
    scope: Scope, relation: Relation, policy: Policy, verdict: Verdict, has_tenant_clause: bool
) -> str:
    on = f"{policy.quoted_name} ON {relation.qualified}"
    if verdict.shape is Shape.LOOSE or has_tenant_clause:
        # meant as the tenant policy: make every clause the tenant predicate
        clauses = []
        if policy.command in _READS:
            clauses.append(f"USING ({scope.predicate})")
        if policy.command in _WRITES:
            clauses.append(f"WITH CHECK ({scope.predicate})")
        return f"ALTER POLICY {on} {' '.join(clauses)};"
    drop = f"DROP POLICY {on};"
    if verdict.shape is Shape.ALWAYS_TRUE:
        return drop
    # a condition of its own (not deleted, owner = current_user, ...): it can only narrow
    clauses = []
    if policy.using_expression is not None:
        clauses.append(f"USING ({policy.using_expression})")
    if policy.check_expression is not None:
        clauses.append(f"WITH CHECK ({policy.check_expression})")
    return (
        f"{drop}\nCREATE POLICY {on} AS RESTRICTIVE FOR {policy.command} "
        f"TO {', '.join(policy.quoted_roles)} {' '.join(clauses)};"
    )


def _covers(judge: PredicateJudge, policy: Policy, command: str) -> bool:
    if not (policy.permissive and policy.applies_to(command)):
        return False
    using = policy.using_expression
    # Where WITH CHECK is omitted, an ALL or UPDATE policy checks new rows with USING.
    check = policy.check_expression or (using if policy.command in ("ALL", "UPDATE") else None)
    needed = {
        "SELECT": [using],
        "DELETE": [using],
        "INSERT": [check],
        "UPDATE": [using, check],
    }[command]
    return all(e is not None and judge.judge(e).is_tenant for e in needed)


def _check_coverage(
    scope: Scope,
    judge: PredicateJudge,
    relation: Relation,
    policies: list[Policy],
    reported: set[str],
    findings: Findings,
) -> None:
    missing = [
        command
        for command in COMMANDS
        if command not in reported and not any(_covers(judge, p, command) for p in policies)
    ]
    if not missing:
        return
    fixes = [_command_policy_sql(scope, relation, command) for command in missing]
    them = "it" if len(missing) == 1 else "them"
    findings.add(
        relation.qualified,
        f"no permissive policy covers {', '.join(missing)} with the tenant predicate "
        f"({scope.column} = {scope.setting}), so PostgreSQL refuses {them} for every role "
        "(row-level security denies what no policy allows).",
        hint=scope.tenant_policy_sql(relation.qualified) if len(missing) == 4 else "\n".join(fixes),
    )


def _command_policy_sql(scope: Scope, relation: Relation, command: str) -> str:
    clauses = []
    if command != "INSERT":
        clauses.append(f"USING ({scope.predicate})")
    if command in ("INSERT", "UPDATE"):
        clauses.append(f"WITH CHECK ({scope.predicate})")
    return (
        f"CREATE POLICY tenant_{command.lower()} ON {relation.qualified} FOR {command} {' '.join(clauses)};"
    )


def _has_floor(judge: PredicateJudge, policies: list[Policy]) -> bool:
    """A RESTRICTIVE policy for every role and command holding the tenant predicate."""
    return any(
        not p.permissive
        and p.command == "ALL"
        and "public" in p.roles
        and p.using_expression is not None
        and judge.judge(p.using_expression).is_tenant
        and (p.check_expression is None or judge.judge(p.check_expression).is_tenant)
        for p in policies
    )
