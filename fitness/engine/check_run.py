"""A finished check run: what every renderer is given."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from fitness.engine.fitness_function import Result, Status


@dataclass(frozen=True)
class CheckRun:
    system: str
    config_path: str
    database: str | None  # label of the database checked, if any
    results: tuple[Result, ...]
    seconds: float

    def summary(self) -> dict[str, int]:
        counts = Counter(result.status for result in self.results)
        return {
            "passed": counts[Status.PASS],
            "failed": counts[Status.FAIL],
            "errors": counts[Status.ERROR],
            "skipped": counts[Status.SKIP],
        }

    @property
    def exit_code(self) -> int:
        """0 when every blocking rule held, 1 otherwise (errors block: nothing was proven)."""
        blocked = any(r.blocking or r.status is Status.ERROR for r in self.results)
        return 1 if blocked else 0
