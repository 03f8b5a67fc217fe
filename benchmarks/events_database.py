"""A throwaway database holding one service schema that follows the event contract.

Shared by the event benchmarks: the server is resolved as everywhere else
(``FITGATE_DATABASE_URL``, ``FITGATE_DB=docker``, or the embedded wheel), the
database is dropped afterwards, and the event table and catalogue come from
fitgate's own DDL templates.
"""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from fitness.config import Config, load_config
from fitness.database import open_server
from fitness.database.databases import create_database, drop_database
from fitness.events.catalog import render_ddl

SCHEMA = "bench"


@contextlib.contextmanager
def bench_database() -> Iterator[tuple[str, str]]:
    """Yield ``(url, server label)`` of a new empty database, dropped afterwards."""
    with open_server() as (server, _provisioned):
        admin = server.url("postgres")
        name = f"fitgate_bench_{uuid.uuid4().hex[:10]}"
        url = create_database(admin, name)
        try:
            yield url, server.label
        finally:
            drop_database(admin, name)


def create_event_schema(conn: psycopg.Connection[Any], *, point_in_time_index: bool = True) -> None:
    """Schema ``bench`` with its event table (optionally without the index) and catalogue."""
    conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(SCHEMA)))
    ddl = render_ddl(
        conn,
        "event_table.sql",
        event_table=sql.Identifier(SCHEMA, "domain_event"),
        tenant=sql.Identifier("tenant_id"),
        setting=sql.Literal("app.tenant_id"),
        point_in_time_index=sql.Identifier("domain_event_point_in_time"),
    )
    if not point_in_time_index:
        ddl = "\n".join(line for line in ddl.splitlines() if "domain_event_point_in_time" not in line)
    conn.execute(ddl)
    conn.execute(render_ddl(conn, "event_types_table.sql", event_types=sql.Identifier(SCHEMA, "event_types")))


def bench_config(text: str) -> Config:
    """The contract ``text`` loaded from a temporary file (removed again)."""
    with tempfile.TemporaryDirectory(prefix="fitgate-bench-") as folder:
        path = Path(folder) / "quality-attributes.yaml"
        path.write_text(text, encoding="utf-8")
        return load_config(path)


CONFIG = """\
version: 1
system: events-benchmark
services:
  bench: {schema: bench, role: bench_service}
events:
  aggregates: {bench.certificates: Certificate, bench.users: User}
"""
