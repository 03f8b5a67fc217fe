"""Which packages may import which, checked on files without importing them.

A boundary says that the code of ``package`` must not import anything inside
``forbidden`` unless it is inside ``allowed``. fitgate holds itself to three:
``fitness`` never imports ``reference``; each reference service imports only
itself and ``reference.platform``; ``reference.platform`` imports no service.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from fitness.code.import_resolution import (
    DYNAMIC_IMPORT_MARKERS,
    import_markers,
    imported_modules,
    within,
)
from fitness.code.package_scan import FileRule, Markers, SourceText, scan_package
from fitness.code.scan_cache import Finding, scan_cache
from fitness.code.sources import SourceFile, SourceKind
from fitness.engine.fitness_function import Findings


@dataclass(frozen=True)
class ImportBoundary:
    package: str
    forbidden: tuple[str, ...]
    allowed: tuple[str, ...] = ()
    reason: str = ""

    def permits(self, module: str) -> bool:
        return not any(within(module, f) for f in self.forbidden) or any(
            within(module, a) for a in self.allowed
        )


def check_import_boundaries(code_root: Path, boundaries: list[ImportBoundary]) -> Findings:
    """Every import across a boundary, as ``path/file.py:LINE`` violations."""
    findings = Findings()
    cache = scan_cache(code_root)
    for boundary in boundaries:
        scan_package(code_root, boundary.package, ImportBoundaryRule(boundary), cache).add_to(findings)
    cache.save()
    return findings


def fitgate_boundaries(repository: Path) -> list[ImportBoundary]:
    """fitgate's own boundaries; the reference services are found as folders of ``reference/``."""
    boundaries = [
        ImportBoundary(
            "fitness", ("reference",), reason="fitness learns about a system only from its contract"
        )
    ]
    reference = repository / "reference"
    if (reference / "platform").is_dir():
        boundaries.append(
            ImportBoundary(
                "reference.platform",
                ("reference",),
                ("reference.platform",),
                "the shared kernel holds no service logic",
            )
        )
    services = sorted(
        folder.name
        for folder in (reference.iterdir() if reference.is_dir() else ())
        if (folder / "__init__.py").is_file() and folder.name != "platform"
    )
    boundaries += [
        ImportBoundary(
            f"reference.{name}",
            ("reference",),
            (f"reference.{name}", "reference.platform"),
            "services never import each other; only reference.platform is shared",
        )
        for name in services
    ]
    return boundaries


class ImportBoundaryRule(FileRule):
    family = "import-boundary"
    kinds = frozenset({SourceKind.PYTHON})

    def __init__(self, boundary: ImportBoundary) -> None:
        self.boundary = boundary

    def markers(self, file: SourceFile) -> Markers:
        return {
            "imports": import_markers(self.boundary.forbidden, file.depth),
            "dynamic_imports": DYNAMIC_IMPORT_MARKERS,
        }

    def fingerprint(self) -> str:
        b = self.boundary
        return json.dumps([b.package, b.forbidden, b.allowed, b.reason])

    def check(self, file: SourceFile, source: SourceText, aspects: frozenset[str]) -> list[Finding]:
        if "dynamic_imports" in aspects:
            facts = source.python(focus=(b"import_module", b"__import__"))
        else:
            facts = source.python(imports_only=True)
        if facts.syntax_error is not None:
            line, problem = facts.syntax_error
            return [Finding(line, f"is not valid Python ({problem}): not checked", None, "", True)]
        found = []
        for fact in facts.imports:
            crossing = next((m for m in imported_modules(fact, file) if not self.boundary.permits(m)), None)
            if crossing is not None:
                allowed = f" (only {', '.join(self.boundary.allowed)})" if self.boundary.allowed else ""
                found.append(
                    Finding(
                        fact.line,
                        f"{self.boundary.package} imports {crossing}{allowed}: {self.boundary.reason}",
                        f"remove the import of {crossing} from {self.boundary.package}",
                        source.line(fact.line),
                    )
                )
        return found
