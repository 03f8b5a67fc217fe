"""Reading the ``.sql`` files that ship inside fitgate's packages."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def sql_file(package: str, name: str) -> str:
    """The text of ``name`` in ``package`` (e.g. ``sql_file("fitness.rls.sql", "policies.sql")``)."""
    return resources.files(package).joinpath(name).read_text(encoding="utf-8")
