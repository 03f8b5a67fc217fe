"""The one way probes touch a database: a superuser transaction that is always rolled back."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import psycopg

from fitness.engine.context import CheckContext
from fitness.engine.fitness_function import SkipFitness
from fitness.sql_files import sql_file

# Probe statements that wait for a lock give up quickly instead of stalling live traffic.
LOCK_TIMEOUT = "100ms"

_SETTINGS = (
    # Only row-level security and privileges are under test: user triggers and
    # foreign-key triggers stay off, so no trigger can reach outside the
    # transaction (a nextval, a NOTIFY to a remote listener) while probing.
    "SET LOCAL session_replication_role = replica",
    f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'",
)


@contextlib.contextmanager
def rolled_back_transaction(context: CheckContext) -> Iterator[psycopg.Connection[Any]]:
    """A connection inside a transaction that is rolled back however the block ends.

    Probes switch to each service role with SET LOCAL ROLE and read every
    tenant's rows to seed and compare, so they need a superuser; a read-only
    server (a standby) would refuse every write for the wrong reason.
    """
    conn = context.connect(autocommit=False)
    try:
        row = conn.execute(sql_file("fitness.probes.sql", "probe_session.sql")).fetchone()
        if row is None or not row[0]:
            raise SkipFitness("probes need fitgate to connect as a superuser")
        if row[1]:
            raise SkipFitness("the database is read-only (a standby?): write probes cannot run")
        for statement in _SETTINGS:
            conn.execute(statement)
        yield conn
    finally:
        with contextlib.suppress(psycopg.Error):
            conn.rollback()
        conn.close()
