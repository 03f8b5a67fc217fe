"""The code part of read-contract: SQL in a service's code may use only what others publish.

Every ``other_schema.table`` named in a service's SQL (string literals handed
to ``execute``/``text()``/``sql.SQL()``, SQL-looking string constants, ``.sql``
files in the package) or in its SQLAlchemy declarations (``Table(...,
schema=)``, ``__table_args__``, ``ForeignKey("schema.table.column")``) must be
published by the service owning that schema and declared in this service's
``reads``; tables of another schema are never written. SQL is parsed with
sqlglot; statements it cannot parse become notes with their location.

The ``read-contract`` fitness function merges :func:`check_schema_references`
into what it finds in the database catalog.
"""

from __future__ import annotations

import json

from fitness.code.markers import Aspect
from fitness.code.package_scan import FileRule, Markers, SourceText, scan_services
from fitness.code.scan_cache import Finding
from fitness.code.sources import SourceFile, SourceKind
from fitness.code.sql_facts import SqlAnalysis
from fitness.config import Config, Service
from fitness.engine.context import CheckContext
from fitness.engine.fitness_function import Findings, Kind


def check_schema_references(config: Config) -> Findings:
    """Violations (subject ``path/file.py:LINE``) and notes of every service package's SQL."""
    findings = Findings()
    if not scan_services(config, lambda service: SchemaReferenceRule(config, service), findings):
        findings.note("no service declares a package: SQL in code was not checked")
    return findings


class CodeReads:
    """read-contract's evidence from code: SQL naming another service's tables."""

    kind = Kind.STATIC
    needs_database = False

    def find(self, context: CheckContext, findings: Findings) -> None:
        found = check_schema_references(context.config)
        findings.violations.extend(found.violations)
        findings.notes.extend(found.notes)


class SchemaReferenceRule(FileRule):
    family = "read-contract-code"
    kinds = frozenset({SourceKind.PYTHON, SourceKind.SQL})

    def __init__(self, config: Config, service: Service) -> None:
        self.service = service
        self.owners = {s.schema: s for s in config.services.values() if s.name != service.name}
        self._markers = Aspect(tuple((schema.encode(),) for schema in sorted(self.owners)))
        self._focus = tuple(schema.encode() for schema in sorted(self.owners))
        self._fingerprint = json.dumps(
            [
                service.name,
                {name: list(tables) for name, tables in service.reads.items()},
                {s.schema: [s.name, list(s.publishes)] for s in self.owners.values()},
            ]
        )

    def markers(self, file: SourceFile) -> Markers:
        return {"sql": self._markers}

    def fingerprint(self) -> str:
        return self._fingerprint

    def check(self, file: SourceFile, source: SourceText, aspects: frozenset[str]) -> list[Finding]:
        if file.kind is SourceKind.SQL:
            return self._sql_findings(source.sql(source.text), source, 1, exact=True, executed=True)
        facts = source.python(focus=self._focus)
        if facts.syntax_error is not None:
            line, problem = facts.syntax_error
            return [
                Finding(line, f"is not valid Python ({problem}): its SQL was not checked", None, "", True)
            ]
        found: list[Finding] = []
        for sql in facts.sql:
            lowered = sql.text.lower()
            if not any(schema in lowered for schema in self.owners):
                continue
            analysis = source.sql(sql.text)
            found += self._sql_findings(
                analysis, source, sql.line, exact=sql.line_exact, executed=sql.executed
            )
        for table in facts.tables:
            finding = self._judge(table.schema, table.table, table.line, table.construct, False, source)
            if finding is not None:
                found.append(finding)
        return found

    def _sql_findings(
        self, analysis: SqlAnalysis, source: SourceText, first_line: int, *, exact: bool, executed: bool
    ) -> list[Finding]:
        def file_line(line: int) -> int:
            return first_line + line - 1 if exact else first_line

        found = []
        for reference in analysis.tables:
            line = file_line(reference.line)
            finding = self._judge(
                reference.schema, reference.table, line, reference.statement, reference.modifies, source
            )
            if finding is not None:
                found.append(finding)
        if executed:
            found += [
                Finding(
                    file_line(problem.line),
                    f"SQL that sqlglot cannot parse ({problem.message}): "
                    "the tables it names were not checked",
                    None,
                    "",
                    True,
                )
                for problem in analysis.problems
            ]
        return found

    def _judge(
        self, schema: str, table: str, line: int, statement: str, modifies: bool, source: SourceText
    ) -> Finding | None:
        owner = self.owners.get(schema)
        if owner is None:
            return None
        name = f"{schema}.{table}"
        me = self.service.name
        if modifies:
            return Finding(
                line,
                f"{statement} changes {name}, which belongs to service {owner.name}: "
                "a service writes and alters only its own schema",
                f"leave the change to {owner.name} (its code or its migrations)",
                source.line(line),
            )
        if table not in owner.publishes:
            published = ", ".join(owner.publishes) or "nothing yet"
            return Finding(
                line,
                f"reads {name}, which service {owner.name} does not publish",
                f"read one of {owner.name}'s published tables ({published}), or agree with "
                f"{owner.name} to publish {table} (services.{owner.name}.publishes)",
                source.line(line),
            )
        if table not in self.service.reads.get(owner.name, ()):
            return Finding(
                line,
                f"reads {name} without declaring it in services.{me}.reads",
                f"declare it: services.{me}.reads.{owner.name}: [..., {table}]",
                source.line(line),
            )
        return None
