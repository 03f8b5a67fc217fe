"""The one interface every fitness function implements, and what it reports."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from fitness.engine.context import CheckContext


class Kind(StrEnum):
    """Where a fitness function looks for evidence."""

    STATIC = "static"  # files: code, SQL, ADRs
    CATALOG = "catalog"  # PostgreSQL system catalogs
    PROBE = "probe"  # real statements in a rolled-back transaction
    RUNTIME = "runtime"  # running service processes
    LOAD = "load"  # traffic against running services
    DOCS = "docs"  # decision records and the contract file


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    SKIP = "skip"


@dataclass(frozen=True, order=True)
class Violation:
    """One thing at fault: what, why in a sentence, where, and how to fix it."""

    subject: str
    message: str
    location: str | None = None
    hint: str | None = None


@dataclass
class Findings:
    """What a fitness function returns: violations, plus notes worth seeing.

    Notes carry what was examined and every declared exception that was
    honoured (a global table, a platform role), so exceptions stay visible.
    """

    violations: list[Violation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(
        self, subject: str, message: str, *, location: str | None = None, hint: str | None = None
    ) -> None:
        self.violations.append(Violation(subject, message, location, hint))

    def note(self, text: str) -> None:
        self.notes.append(text)


class SkipFitness(Exception):
    """Raised by a fitness function that has nothing it can check, with the reason."""


@dataclass(frozen=True)
class Result:
    fitness: str
    status: Status
    kinds: tuple[Kind, ...]
    attribute: str | None
    adr: str | None
    violations: tuple[Violation, ...] = ()
    notes: tuple[str, ...] = ()
    reason: str | None = None  # why it was skipped or could not run
    severity: str = "error"
    known: tuple[Violation, ...] = ()  # violations accepted by the baseline
    seconds: float = 0.0

    @property
    def blocking(self) -> bool:
        """Whether this result makes the gate fail (exit code 1)."""
        return self.status is Status.FAIL and self.severity == "error"


class FitnessFunction(ABC):
    """A rule of the architecture, made executable.

    Subclasses set ``id`` (stable, used in configs and reports), ``kinds``,
    ``summary`` (one line: what holding the rule proves), ``needs_database``
    and ``runs_by_default``;
    ``run`` returns :class:`Findings` or raises :class:`SkipFitness`.
    """

    id: ClassVar[str]
    kinds: ClassVar[tuple[Kind, ...]]
    summary: ClassVar[str]
    needs_database: ClassVar[bool] = False
    runs_by_default: ClassVar[bool] = True  # false for what needs --only (a load run)

    @abstractmethod
    def run(self, context: CheckContext) -> Findings:
        """Examine the system described by ``context`` and report what breaks the rule."""
