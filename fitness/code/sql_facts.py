"""What a piece of SQL references and which settings it changes: the result of reading it.

:mod:`fitness.code.sql_analysis` produces it with sqlglot; it is kept in the
scan cache as JSON, so a run that finds every analysis there never imports
sqlglot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TableReference:
    """``schema.table`` as the statement names it (unquoted names folded to lower case)."""

    schema: str
    table: str
    line: int  # 1-based, within the analysed text
    statement: str  # SELECT, INSERT, CREATE POLICY, ...
    modifies: bool  # the statement writes or changes this table


@dataclass(frozen=True)
class SettingChange:
    """A statement that gives a setting a value, and for how long."""

    line: int
    setting: str | None  # lower case; None when passed as a parameter
    parameter: str | None  # the placeholder holding the name: "0", "1", ... or a name
    scope: str  # "local", "session", "role", "database", "system" or "unknown"
    clears: bool  # sets it to '' or DEFAULT
    how: str  # "set_config", "SET", "ALTER ROLE", ...
    statement: int  # ordinal of the statement in the text


@dataclass(frozen=True)
class TransactionMark:
    line: int
    opens: bool  # BEGIN / START TRANSACTION; false for COMMIT / ROLLBACK / END
    statement: int


@dataclass(frozen=True)
class ParseProblem:
    line: int
    message: str


@dataclass
class SqlAnalysis:
    tables: list[TableReference] = field(default_factory=list)
    settings: list[SettingChange] = field(default_factory=list)
    transaction_marks: list[TransactionMark] = field(default_factory=list)
    problems: list[ParseProblem] = field(default_factory=list)
    statement: int = 0  # ordinal of the statement being read (not stored)

    def inside_transaction_block(self, change: SettingChange) -> bool:
        """Whether the text itself opened a transaction before ``change`` and kept it open."""
        open_block = False
        for mark in self.transaction_marks:
            if mark.statement >= change.statement:
                break
            open_block = mark.opens
        return open_block

    def add_setting(
        self, line: int, setting: str | None, parameter: str | None, scope: str, clears: bool, how: str
    ) -> None:
        self.settings.append(SettingChange(line, setting, parameter, scope, clears, how, self.statement))

    def to_json(self) -> dict[str, Any]:
        return {
            "tables": [[t.schema, t.table, t.line, t.statement, t.modifies] for t in self.tables],
            "settings": [
                [s.line, s.setting, s.parameter, s.scope, s.clears, s.how, s.statement] for s in self.settings
            ],
            "marks": [[m.line, m.opens, m.statement] for m in self.transaction_marks],
            "problems": [[p.line, p.message] for p in self.problems],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SqlAnalysis:
        return cls(
            tables=[TableReference(*row) for row in data["tables"]],
            settings=[SettingChange(*row) for row in data["settings"]],
            transaction_marks=[TransactionMark(*row) for row in data["marks"]],
            problems=[ParseProblem(*row) for row in data["problems"]],
        )
