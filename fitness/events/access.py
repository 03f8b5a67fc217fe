"""How fitgate reaches every tenant's rows and events: as a role that bypasses RLS."""

from __future__ import annotations

from typing import Any

import psycopg

from fitness.errors import FitgateError


def require_rls_bypass(conn: psycopg.Connection[Any], purpose: str) -> None:
    """Refuse a role that row-level security would limit to some tenants' rows, then make
    any policy that would still apply an error (``row_security = off``), never a filter."""
    row = conn.execute(
        "SELECT current_user, rolsuper OR rolbypassrls FROM pg_catalog.pg_roles WHERE rolname = current_user"
    ).fetchone()
    if row is None or not row[1]:
        who = row[0] if row else "the connection's role"
        raise FitgateError(
            f"{purpose} reads every tenant's rows and events: connect as a superuser or a role "
            f"with BYPASSRLS ({who} has neither)"
        )
    conn.execute("SET LOCAL row_security = off")
