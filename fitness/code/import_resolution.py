"""The absolute modules an import statement or call names."""

from __future__ import annotations

from fitness.code.python_facts import ImportFact
from fitness.code.sources import SourceFile


def imported_modules(fact: ImportFact, file: SourceFile) -> list[str]:
    """``from a import b`` names ``a`` and maybe submodule ``a.b``; relative imports resolved."""
    if fact.level == 0:
        base = fact.module
    else:
        anchor = fact.anchor if fact.how == "import_module" else file.package
        if not anchor:
            return []
        parts = anchor.split(".")
        climb = fact.level - 1
        if climb >= len(parts):
            return []  # climbs above the top-level package: Python refuses it too
        base = ".".join([*parts[: len(parts) - climb], *([fact.module] if fact.module else [])])
    if not base:
        return []
    return [base, *(f"{base}.{name}" for name in fact.names if name != "*")]


def within(module: str, package: str) -> bool:
    """Whether ``module`` is ``package`` or inside it."""
    return module == package or module.startswith(package + ".")


def climbing_marker(file: SourceFile) -> bytes:
    """The shortest ``from ..`` that leaves the package a file was scanned under."""
    return b"from " + b"." * (file.depth + 2)
