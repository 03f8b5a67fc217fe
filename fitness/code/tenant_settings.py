"""The static half of tenant-scope: the tenant is set for one transaction, inside it.

Findings, for the contract's ``tenancy.setting`` (default ``app.tenant_id``):

- set for the session: ``set_config(setting, v, false)``, ``SET setting`` or
  ``SET SESSION setting`` without LOCAL, or ``-c setting=`` in connection
  options. On a pooled connection the value outlives the request.
- a default for a role or a database: ``ALTER ROLE|USER|DATABASE ... SET setting``.
- ``set_config(setting, v, is_local)`` whose ``is_local`` is not a literal.
- a transaction-local set (``set_config(..., true)``, ``SET LOCAL``) outside a
  transaction block. The rule, as far as a static reading can tell: in Python,
  the ``execute`` that runs it must sit lexically inside ``with``/``async with``
  on a call named ``transaction`` or ``*_transaction`` (psycopg
  ``conn.transaction()``, a platform helper such as ``tenant_transaction()``),
  ``begin``/``begin_nested`` (SQLAlchemy) or ``atomic``, in the same function;
  in SQL text, a ``BEGIN``/``START TRANSACTION`` must come before it in the
  same text. On an autocommit connection the value would vanish at once (the
  next query runs with no tenant); in an implicit transaction it silently
  spans whatever the caller does next. SQL defined in one place and executed
  in another file cannot be followed: it becomes a note.

Setting the tenant to ``''``, ``DEFAULT`` or NULL, or ``RESET``, clears it and is
never a finding.
"""

from __future__ import annotations

import json

from fitness.code.literal_scanning import StartupOption, settings_file_literals
from fitness.code.markers import Aspect
from fitness.code.package_scan import FileRule, Markers, SourceText
from fitness.code.python_facts import SqlText
from fitness.code.scan_cache import Finding
from fitness.code.sources import SourceFile, SourceKind
from fitness.code.sql_facts import SettingChange, SqlAnalysis
from fitness.config import Config


class TenantSettingRule(FileRule):
    family = "tenant-scope"
    kinds = frozenset({SourceKind.PYTHON, SourceKind.SQL, SourceKind.SETTINGS})

    def __init__(self, config: Config) -> None:
        self.setting = config.tenancy.setting.lower()
        self._markers = Aspect(((self.setting.encode(),), (b"set_config",)))
        self.fix = f"SELECT set_config('{self.setting}', %s, true) inside `with conn.transaction():`"

    def markers(self, file: SourceFile) -> Markers:
        return {"tenant": self._markers}

    def fingerprint(self) -> str:
        return json.dumps([self.setting])

    def check(self, file: SourceFile, source: SourceText, aspects: frozenset[str]) -> list[Finding]:
        if file.kind is SourceKind.SETTINGS:
            _, options = settings_file_literals(source.text)
            return self._option_findings(options, source)
        if file.kind is SourceKind.SQL:
            analysis = source.sql(source.text)
            return self._script_findings(analysis, source)
        facts = source.python()
        if facts.syntax_error is not None:
            line, problem = facts.syntax_error
            return [Finding(line, f"is not valid Python ({problem}): not checked", None, "", True)]
        found = self._option_findings(facts.startup_options, source)
        for sql in facts.sql:
            lowered = sql.text.lower()
            if self.setting in lowered or "set_config" in lowered:
                found += self._python_sql_findings(sql, source.sql(sql.text), source)
        return found

    def _option_findings(self, options: list[StartupOption], source: SourceText) -> list[Finding]:
        return [
            Finding(
                option.line,
                f"sets {self.setting} in the connection's startup options (-c): every transaction "
                "of every session opened with them runs as that tenant",
                f"remove it from the options; {self.fix}",
                source.line(option.line),
            )
            for option in options
            if option.setting == self.setting
        ]

    def _script_findings(self, analysis: SqlAnalysis, source: SourceText) -> list[Finding]:
        found = []
        for change in analysis.settings:
            if change.setting != self.setting or change.clears:
                continue
            finding = self._scope_finding(change, change.line, source)
            if finding is not None:
                found.append(finding)
            elif change.scope == "local" and not analysis.inside_transaction_block(change):
                found.append(self._outside_transaction(change.line, source))
        return found

    def _python_sql_findings(self, sql: SqlText, analysis: SqlAnalysis, source: SourceText) -> list[Finding]:
        found = []
        for change in analysis.settings:
            if change.clears or not self._is_tenant(change, sql):
                continue
            line = sql.file_line(change.line)
            finding = self._scope_finding(change, line, source)
            if finding is not None:
                found.append(finding)
                continue
            if analysis.inside_transaction_block(change):
                continue
            if not sql.executions:
                found.append(
                    Finding(
                        line,
                        f"sets {self.setting} for the transaction in SQL executed elsewhere: "
                        "whether a transaction block is open there was not checked",
                        None,
                        "",
                        True,
                    )
                )
            found += [
                self._outside_transaction(execution.line, source)
                for execution in sql.executions
                if not execution.in_transaction
            ]
        return found

    def _is_tenant(self, change: SettingChange, sql: SqlText) -> bool:
        if change.setting is not None:
            return change.setting == self.setting
        key = change.parameter or ""
        if key.isdigit():
            index = int(key)
            named = sql.positional_parameters[index] if index < len(sql.positional_parameters) else None
        else:
            named = sql.named_parameters.get(key)
        return named is not None and named.lower() == self.setting

    def _scope_finding(self, change: SettingChange, line: int, source: SourceText) -> Finding | None:
        code = source.line(line)
        if change.scope == "session":
            how = "set_config(..., false)" if change.how == "set_config" else "SET without LOCAL"
            return Finding(
                line,
                f"sets {self.setting} for the whole session ({how}): on a pooled connection the "
                "tenant outlives the request and the next request runs as that tenant",
                self.fix,
                code,
            )
        if change.scope in ("role", "database", "system"):
            return Finding(
                line,
                f"gives {self.setting} a default for a {change.scope} ({change.how}): every session "
                "starts as that tenant, so code that forgets to set one no longer fails closed",
                f"remove it (ALTER {change.how.split(' ')[-1]} ... RESET {self.setting}); {self.fix}",
                code,
            )
        if change.scope == "unknown":
            return Finding(
                line,
                "set_config's third argument (is_local) is not a literal, so the tenant may be set "
                "for the whole session",
                f"pass true literally: {self.fix}",
                code,
            )
        return None

    def _outside_transaction(self, line: int, source: SourceText) -> Finding:
        return Finding(
            line,
            f"sets {self.setting} for the transaction outside a transaction block: on an autocommit "
            "connection it ends at once and the next query runs with no tenant; otherwise it spans "
            "whatever the caller runs next",
            f"execute it inside `with conn.transaction():` (or the platform's tenant transaction "
            f"helper), first thing in the block: {self.fix}",
            source.line(line),
        )
