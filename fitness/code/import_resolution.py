"""The absolute modules an import statement or call names."""

from __future__ import annotations

from functools import cache

from fitness.code.markers import Aspect
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


@cache
def import_markers(packages: tuple[str, ...], depth: int) -> Aspect:
    """What the import statements of a file ``depth`` packages below the scanned one hold when
    it imports one of ``packages``: the dotted name; or, for ``from parent import last``, both
    parts; or a relative import climbing out of the scanned package."""
    alternatives: list[tuple[bytes, ...]] = [(b"from " + b"." * (depth + 2),)]
    for package in packages:
        name = package.lower().encode()
        parent, _, last = name.rpartition(b".")
        alternatives.append((name,))
        if parent:
            alternatives.append((parent, last))
    return Aspect(tuple(alternatives), in_import_statements=True)


DYNAMIC_IMPORT_MARKERS = Aspect(((b"import_module",), (b"__import__",)))
