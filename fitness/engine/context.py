"""What a fitness function is given: the contract and, if there is one, a database."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psycopg

from fitness.config import Config, FitnessSettings


@dataclass(frozen=True)
class DatabaseTarget:
    """The database under check, reached as a role that may inspect everything."""

    url: str
    label: str  # how to name it to a human: "embedded PostgreSQL 18.6", "host:5432/app"
    installed_by_fitgate: bool


@dataclass(frozen=True)
class CheckContext:
    config: Config
    database: DatabaseTarget | None = None
    no_database_reason: str = "no database was given"
    # The runtime guard's log to judge (``fitgate load --guard``); None: FITGATE_GUARD_LOG, if set.
    guard_log: Path | None = None

    def settings(self, fitness_id: str) -> FitnessSettings:
        return self.config.settings_for(fitness_id)

    def connect(self, *, autocommit: bool = True) -> psycopg.Connection[tuple[object, ...]]:
        """A new connection to the database under check (the caller closes it)."""
        if self.database is None:
            raise RuntimeError("connect() called by a fitness function that needs no database")
        return psycopg.connect(self.database.url, autocommit=autocommit)
