"""The files of a service package that the code rules read."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

SETTINGS_SUFFIXES = frozenset({".toml", ".yaml", ".yml", ".env", ".ini", ".cfg"})
_SKIPPED_FOLDERS = frozenset({"__pycache__", "node_modules", "site-packages"})


class SourceKind(StrEnum):
    PYTHON = "python"
    SQL = "sql"
    SETTINGS = "settings"


@dataclass(frozen=True)
class SourceFile:
    """One file of a package: where it is, how to name it, what kind of text it holds."""

    path: Path
    display: str  # relative to code_root with forward slashes: the subject of findings
    kind: SourceKind
    module: str | None  # dotted module name, for Python files
    depth: int  # packages between this file's package and the package scanned

    @property
    def package(self) -> str | None:
        """The package relative imports start from."""
        if self.module is None:
            return None
        if self.path.name == "__init__.py":
            return self.module
        return self.module.rpartition(".")[0]


def kind_of(name: str) -> SourceKind | None:
    suffix = os.path.splitext(name)[1].lower()
    if suffix == ".py":
        return SourceKind.PYTHON
    if suffix == ".sql":
        return SourceKind.SQL
    if suffix in SETTINGS_SUFFIXES or name == ".env" or name.startswith(".env."):
        return SourceKind.SETTINGS
    return None


def package_files(code_root: Path, package: str) -> Iterator[SourceFile]:
    """Every Python, SQL and settings file under ``package`` (dotted, below ``code_root``)."""
    root = os.path.join(code_root, *package.split("."))
    prefix = len(str(code_root)) + 1
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if d not in _SKIPPED_FOLDERS and not d.startswith("."))
        relative = os.path.relpath(folder, root)
        relative_parts = [] if relative == "." else relative.split(os.sep)
        for name in sorted(names):
            kind = kind_of(name)
            if kind is None:
                continue
            full = os.path.join(folder, name)
            module = None
            if kind is SourceKind.PYTHON:
                stem = name[:-3]
                parts = [package, *relative_parts] + ([] if stem == "__init__" else [stem])
                module = ".".join(parts)
            display = full[prefix:].replace(os.sep, "/")
            yield SourceFile(Path(full), display, kind, module, len(relative_parts))
