"""The write probe: attempt every write on every other service's tables, as each service role."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from psycopg.rows import dict_row

from fitness.engine.context import CheckContext
from fitness.engine.fitness_function import Findings
from fitness.privileges.declared import DeclaredAccess
from fitness.probes.transaction import LOCK_TIMEOUT, rolled_back_transaction
from fitness.sql_files import sql_file

_SQL = "fitness.privileges.sql"
# Waiting for a lock (lock_not_available, query_canceled) proves nothing either way.
_WAITED = ("55P03", "57014")
_CALL_PROBE = (
    "SELECT * FROM pg_temp.fitgate_write_probe("
    "%(roles)s::text[], %(own_schemas)s::text[], %(schemas)s::text[])"
)


@dataclass(frozen=True)
class UnrefusedWrite:
    """A probe statement that was not refused with SQLSTATE 42501."""

    role: str
    schema: str
    table: str
    table_sql: str  # quoted for SQL where needed
    statement: str  # INSERT, UPDATE, UPDATE (column), DELETE, TRUNCATE
    sqlstate: str | None  # None: it succeeded
    message: str

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def privilege(self) -> str:
        return self.statement.split(" ", 1)[0]


@dataclass(frozen=True)
class ProbeTally:
    role: str
    attempts: int
    refused: int
    covered_by_schema: int


def run_write_probe(
    context: CheckContext, declared: DeclaredAccess, roles: list[str]
) -> tuple[list[UnrefusedWrite], list[ProbeTally]]:
    """Run the probe as ``roles`` in a rolled-back transaction (one server-side call)."""
    own_schemas = []
    for role in roles:
        service = declared.service_of_role(role)
        assert service is not None, role
        own_schemas.append(service.schema)
    with rolled_back_transaction(context) as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute(sql_file(_SQL, "write_probe.sql"))
        cur.execute(
            _CALL_PROBE,
            {"roles": roles, "own_schemas": own_schemas, "schemas": declared.service_schemas},
        )
        rows = cur.fetchall()
    unrefused = [
        UnrefusedWrite(
            role=r["role_name"],
            schema=r["schema_name"],
            table=r["table_name"],
            table_sql=r["table_sql"],
            statement=r["statement"],
            sqlstate=r["sqlstate"],
            message=r["message"],
        )
        for r in rows
        if r["table_name"] is not None
    ]
    tallies = [
        ProbeTally(r["role_name"], r["attempts"], r["refused"], r["covered_by_schema"])
        for r in rows
        if r["table_name"] is None
    ]
    return unrefused, tallies


def judge_write_probe(
    unrefused: list[UnrefusedWrite],
    tallies: list[ProbeTally],
    explained: Callable[[str, str, str], bool],
    role_sql: Callable[[str], str],
    findings: Findings,
) -> None:
    """Writes the catalog already explains are confirmations; any other is a violation."""
    confirmed = 0
    inconclusive = []
    for write in unrefused:
        if write.sqlstate in _WAITED:
            inconclusive.append(f"{write.statement} on {write.qualified} as {write.role}")
            continue
        if explained(write.role, write.qualified, write.privilege):
            confirmed += 1
            continue
        outcome = (
            "it succeeded"
            if write.sqlstate is None
            else f"it got past the privilege check and failed later with {write.sqlstate} ({write.message})"
        )
        findings.add(
            write.qualified,
            f"the probe's {write.statement} on {write.qualified} as {write.role} was not refused "
            f"for lack of privilege ({outcome}), and no grant in the catalog explains it.",
            hint=f"REVOKE {write.privilege} ON {write.table_sql} FROM {role_sql(write.role)};",
        )
    attempts = sum(t.attempts for t in tallies)
    refused = sum(t.refused for t in tallies)
    covered = sum(t.covered_by_schema for t in tallies)
    note = (
        f"write probe: {attempts} statement(s) as {len(tallies)} service role(s) on other "
        f"services' tables (LOCK TABLE first, then INSERT, UPDATE, DELETE and TRUNCATE wherever "
        f"the lock was not refused), {refused} refused with 42501"
    )
    if covered:
        note += f"; {covered} table(s) in schemas a role cannot use are covered by the schema's refusal"
    if confirmed:
        note += f"; {confirmed} write(s) the catalog reports were confirmed"
    findings.note(note)
    if inconclusive:
        findings.note(
            f"write probe inconclusive (a lock held elsewhere, {LOCK_TIMEOUT} timeout): "
            + "; ".join(inconclusive)
        )
