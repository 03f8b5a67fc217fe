"""Errors that stop a run before it can judge anything (exit code 2)."""

from __future__ import annotations


class FitgateError(Exception):
    """A run that could not be made. The message is one line, shown as is."""


class ConfigError(FitgateError):
    """A problem in a contract file, located by file, line and key."""

    def __init__(self, path: str, line: int | None, key: str, problem: str) -> None:
        self.path = path
        self.line = line
        self.key = key
        self.problem = " ".join(problem.split())
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {key}: {self.problem}" if key else f"{where}: {self.problem}")


class DatabaseUnavailable(FitgateError):
    """No database could be reached or started."""


class UsageError(FitgateError):
    """A command-line argument that cannot be honoured."""
