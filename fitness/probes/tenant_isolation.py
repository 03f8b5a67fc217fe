"""tenant-isolation-probe: as each service role, no tenant reads or changes another's rows."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from psycopg.rows import dict_row

from fitness.config import Config
from fitness.engine.context import CheckContext
from fitness.engine.fitness_function import Findings, FitnessFunction, Kind, SkipFitness
from fitness.probes.transaction import rolled_back_transaction
from fitness.sql_files import sql_file

_SQL = "fitness.probes.sql"
_CALL_PROBE = (
    "SELECT * FROM pg_temp.fitgate_tenant_probe("
    "%(roles)s::text[], %(tables)s::oid[], %(column)s::text, %(setting)s::text, %(large_rows)s::real)"
)
_CURRENT_TENANT = (
    "SELECT current_setting(%(setting)s, true), quote_ident(current_user), quote_ident(current_database())"
)
_EXISTING_ROLES = "SELECT rolname FROM pg_roles WHERE rolname = ANY(%(roles)s)"


@dataclass(frozen=True)
class TenantTable:
    oid: int
    schema_name: str
    table_name: str
    table_sql: str  # quoted for SQL where needed
    kind: str
    rls_enabled: bool
    rls_forced: bool
    column_type: str
    tenant_index: bool

    @property
    def qualified(self) -> str:
        return f"{self.schema_name}.{self.table_name}"


class TenantIsolationProbe(FitnessFunction):
    id = "tenant-isolation-probe"
    kinds = (Kind.PROBE,)
    summary = (
        "with two tenants in the data, every service role sees only the tenant set in its "
        "transaction, nothing without one, and can neither move nor insert rows into another"
    )
    needs_database = True

    # Tables estimated at this many rows or more must let an index serve the tenant predicate.
    LARGE_TABLE_ROWS = 1000.0

    def run(self, context: CheckContext) -> Findings:
        config = context.config
        findings = Findings()
        self._check_fresh_connection(context, findings)
        tables, roles = self._targets(context, findings)
        with rolled_back_transaction(context) as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(sql_file(_SQL, "tenant_probe.sql"))
            cur.execute(
                _CALL_PROBE,
                {
                    "roles": roles,
                    "tables": [t.oid for t in tables],
                    "column": config.tenancy.column,
                    "setting": config.tenancy.setting,
                    "large_rows": self.LARGE_TABLE_ROWS,
                },
            )
            outcomes = cur.fetchall()
        _judge(config, {t.oid: t for t in tables}, outcomes, findings)
        findings.note(
            f"probed {len(roles)} service role(s) on {len(tables)} relation(s) with the "
            f"{config.tenancy.column} column; nothing the probe did was kept (rolled back)"
        )
        return findings

    def _check_fresh_connection(self, context: CheckContext, findings: Findings) -> None:
        """A new session, and a new session of each service role, starts with no tenant."""
        setting = context.config.tenancy.setting
        with context.connect() as conn:
            row = conn.execute(_CURRENT_TENANT, {"setting": setting}).fetchone()
            assert row is not None
            value, user, database = (str(v) if v is not None else "" for v in row)
            if value:
                findings.add(
                    setting,
                    f"a fresh connection (as {user}) starts with {setting} = {value}: a "
                    "request that sets no tenant reads that tenant's rows.",
                    hint=f"ALTER DATABASE {database} RESET {setting}; ALTER ROLE {user} RESET {setting};",
                )
            defaults = conn.cursor(row_factory=dict_row).execute(
                sql_file(_SQL, "session_defaults.sql"),
                {"setting": setting, "roles": [s.role for s in context.config.services.values()]},
            )
            for default in defaults.fetchall():
                scope = (
                    f"ALTER ROLE {default['role_sql']}"
                    + (" IN DATABASE " + database if default["per_database"] else "")
                    if default["per_role"]
                    else f"ALTER DATABASE {database}"
                )
                findings.add(
                    default["role_name"],
                    f"a fresh connection of {default['role_name']} starts with {setting} = "
                    f"{default['value']} ({scope} SET): a request that sets no tenant reads "
                    "that tenant's rows.",
                    hint=f"{scope} RESET {setting};",
                )

    def _targets(self, context: CheckContext, findings: Findings) -> tuple[list[TenantTable], list[str]]:
        config = context.config
        services = list(config.services.values())
        with context.connect() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(
                sql_file(_SQL, "tenant_tables.sql"),
                {"column": config.tenancy.column, "schemas": [s.schema for s in services]},
            )
            tables = [TenantTable(**row) for row in cur.fetchall()]
            cur.execute(_EXISTING_ROLES, {"roles": [s.role for s in services]})
            existing = {row["rolname"] for row in cur.fetchall()}
        roles = [s.role for s in services if s.role in existing]
        for service in services:
            if service.role not in existing:
                findings.note(f"role {service.role} of service {service.name} does not exist: not probed")
        declared_global = {
            f"{s.schema}.{table}": reason for s in services for table, reason in s.global_tables.items()
        }
        with_column = {t.qualified for t in tables}
        for qualified, reason in sorted(declared_global.items()):
            column = f" has {config.tenancy.column} but" if qualified in with_column else ""
            findings.note(f"{qualified}{column} is declared global ({reason}): not probed")
        tables = [t for t in tables if t.qualified not in declared_global]
        if not tables:
            raise SkipFitness(
                f"no table of the service schemas has the tenant column {config.tenancy.column}"
            )
        if not roles:
            raise SkipFitness("none of the service roles exists in the database")
        return tables, roles


def _judge(
    config: Config,
    tables: dict[int, TenantTable],
    outcomes: list[dict[str, Any]],
    findings: Findings,
) -> None:
    column, setting = config.tenancy.column, config.tenancy.setting
    readable: Counter[str] = Counter()
    untestable: dict[str, str] = {}
    inconclusive: list[str] = []
    seeded: defaultdict[str, int] = defaultdict(int)
    for row in outcomes:
        table = tables[row["table_oid"]]
        role, check, outcome, detail = row["role_name"], row["check_name"], row["outcome"], row["detail"]
        policy = _policy_hint(table, column, setting)
        if check == "seed":
            if outcome == "seeded":
                seeded[table.qualified] += 1
            else:
                untestable[table.qualified] = f"no second tenant could be seeded ({detail})"
        elif check == "tenants" and outcome != "found":
            untestable.setdefault(table.qualified, "fewer than two tenants in its data")
        elif check == "insert B" and outcome == "no copy":
            findings.note(
                f"{table.qualified}: inserting a row of another tenant was not probed: a copy of "
                f"a row does not rebuild from JSON ({detail})"
            )
        elif check == "readable":
            readable[role] += 1
        elif check in ("no tenant", "empty tenant") and outcome == "rows":
            state = "no tenant set" if check == "no tenant" else f"{setting} set to ''"
            findings.add(
                table.qualified,
                f"with {state}, {role} sees rows of {table.qualified}: it must see none.",
                hint=policy,
            )
        elif check == "tenant A" and outcome == "other tenant":
            findings.add(
                table.qualified,
                f"with tenant {_tenant_a(outcomes, table.oid)} set, {role} sees rows of tenant "
                f"{detail} in {table.qualified}.",
                hint=policy,
            )
        elif check in ("move to B", "insert B") and outcome in ("succeeded", "failed later"):
            action = (
                f"moving a row of {table.qualified} to another tenant (UPDATE ... SET {column})"
                if check == "move to B"
                else f"inserting a row of another tenant into {table.qualified}"
            )
            result = (
                "succeeded"
                if outcome == "succeeded"
                else f"was not refused by row-level security and failed only later ({detail})"
            )
            findings.add(
                table.qualified,
                f"as {role} with a tenant set, {action} {result}: WITH CHECK must hold the tenant.",
                hint=policy,
            )
        elif outcome == "inconclusive":
            inconclusive.append(f"{check} on {table.qualified} as {role}: {detail}")
        elif check == "index" and outcome == "not used":
            if table.tenant_index:
                findings.note(
                    f"{table.qualified}: with enable_seqscan off, {role}'s tenant-scoped query "
                    f"still scans the table; the row-level security predicate cannot use the "
                    f"index on {column}"
                )
            else:
                findings.add(
                    table.qualified,
                    f"no index of {table.qualified} serves the tenant predicate: every query of "
                    f"{role} reads the whole table.",
                    hint=f"CREATE INDEX ON {table.table_sql} ({column});",
                )
    for qualified, reason in sorted(untestable.items()):
        findings.note(f"{qualified}: isolation with a tenant set was not probed: {reason}")
    for text in inconclusive:
        findings.note(f"inconclusive (a lock was held elsewhere): {text}")
    if seeded:
        findings.note(
            f"seeded tenant rows (rolled back) into {len(seeded)} table(s) with fewer than two tenants"
        )
    for role, count in sorted(readable.items()):
        findings.note(f"{role} can read {count} tenant relation(s)")


def _tenant_a(outcomes: list[dict[str, Any]], oid: int) -> str:
    found = next(
        (r["detail"] for r in outcomes if r["table_oid"] == oid and r["check_name"] == "tenants"),
        None,
    )
    return found.split(", ")[0] if found else "A"


def _policy_hint(table: TenantTable, column: str, setting: str) -> str:
    predicate = f"{column} = (SELECT NULLIF(current_setting('{setting}', true), '')::{table.column_type})"
    if table.kind not in ("r", "p"):
        return (
            f"ALTER VIEW {table.table_sql} SET (security_invoker = true);"
            if table.kind == "v"
            else f"-- {table.table_sql} cannot apply row-level security: expose it through a table or "
            "a security_invoker view"
        )
    enable = (
        ""
        if table.rls_enabled and table.rls_forced
        else f"ALTER TABLE {table.table_sql} ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;\n"
    )
    return (
        f"{enable}CREATE POLICY tenant_isolation ON {table.table_sql} USING ({predicate}) "
        f"WITH CHECK ({predicate});  -- and drop any permissive policy that widens it"
    )
