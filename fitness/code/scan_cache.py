"""Results of the code scan kept between runs, keyed by the hash of what they depend on.

Two kinds of entries: a file's findings under one rule (keyed by the file's
content, its path, the parts of the contract the rule reads and the analyser's
own source), and the analysis of a piece of SQL (keyed by its text; parsing
is the costly part and does not depend on the contract). The cache lives in
``FITGATE_CACHE_DIR`` or ``<code_root>/.fitgate-cache``; ``FITGATE_CACHE_DIR=off``
keeps it in memory only. It is plain JSON: reading it never executes anything.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from fitness.code.python_facts import PythonFacts, extract_python_facts
from fitness.code.sql_analysis import SqlAnalysis, analyse_sql

CACHE_ENV = "FITGATE_CACHE_DIR"
CACHE_FILE = "code-scan.json"
_FORMAT = 1
_KEEP_GENERATIONS = 8  # entries unused for this many saves are dropped


@dataclass(frozen=True)
class Finding:
    """What a rule found in one file: a violation, or a note worth seeing."""

    line: int
    message: str
    hint: str | None
    code: str  # the offending line, stripped
    note: bool = False


def digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


@cache
def analyser_version() -> str:
    """A hash of the analyser's own source and sqlglot's version: a new analyser, a new cache."""
    hasher = hashlib.blake2b(digest_size=8)
    folder = Path(__file__).parent
    for path in sorted(folder.glob("*.py")):
        hasher.update(path.read_bytes())
    hasher.update((folder.parent / "service_addresses.py").read_bytes())
    hasher.update(metadata.version("sqlglot").encode())
    return hasher.hexdigest()


class ScanCache:
    """Findings per file and SQL analyses, in memory and (when a folder is given) on disk."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self._verdicts: dict[str, list[Any]] = {}
        self._sql: dict[str, list[Any]] = {}
        self._python: dict[str, PythonFacts] = {}
        self._generation = 0
        self._dirty = False
        self._load()

    @property
    def path(self) -> Path | None:
        return self.folder / CACHE_FILE if self.folder is not None else None

    def findings(self, key: str) -> list[Finding] | None:
        entry = self._verdicts.get(key)
        if entry is None:
            return None
        if entry[0] != self._generation:
            entry[0] = self._generation
            self._dirty = True
        return [Finding(*row) for row in entry[1]]

    def store_findings(self, key: str, findings: list[Finding]) -> None:
        rows = [[f.line, f.message, f.hint, f.code, f.note] for f in findings]
        self._verdicts[key] = [self._generation, rows]
        self._dirty = True

    def sql_analysis(self, text: str) -> SqlAnalysis:
        key = digest(text.encode("utf-8", "surrogatepass"))
        entry = self._sql.get(key)
        if entry is not None:
            if entry[0] != self._generation:
                entry[0] = self._generation
                self._dirty = True
            return SqlAnalysis.from_json(entry[1])
        analysis = analyse_sql(text)
        self._sql[key] = [self._generation, analysis.to_json()]
        self._dirty = True
        return analysis

    def python_facts(self, key: str, data: bytes) -> PythonFacts:
        """Facts of a Python file, kept in memory for the other rules of this run."""
        facts = self._python.get(key)
        if facts is None:
            facts = self._python[key] = extract_python_facts(data)
        return facts

    def save(self) -> None:
        """Write the cache if anything changed; a folder that cannot be written is skipped."""
        path = self.path
        if path is None or not self._dirty:
            return
        oldest = self._generation - _KEEP_GENERATIONS
        document = {
            "format": _FORMAT,
            "analyser": analyser_version(),
            "generation": self._generation,
            "verdicts": {k: v for k, v in self._verdicts.items() if v[0] > oldest},
            "sql": {k: v for k, v in self._sql.items() if v[0] > oldest},
        }
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".code-scan-", suffix=".tmp")
        except OSError:
            return  # a read-only checkout: run without a disk cache
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(document, out, separators=(",", ":"))
            os.replace(temporary, path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            return
        self._dirty = False

    def _load(self) -> None:
        path = self.path
        if path is None:
            return
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if (
            not isinstance(document, dict)
            or document.get("format") != _FORMAT
            or document.get("analyser") != analyser_version()
        ):
            return
        self._generation = int(document.get("generation", 0)) + 1
        self._verdicts = document.get("verdicts", {})
        self._sql = document.get("sql", {})


_OPEN: dict[Path | None, ScanCache] = {}


def cache_folder(code_root: Path) -> Path | None:
    """Where the cache of a code root lives (None: memory only)."""
    setting = os.environ.get(CACHE_ENV, "").strip()
    if setting.lower() == "off":
        return None
    return Path(setting).resolve() if setting else code_root / ".fitgate-cache"


def scan_cache(code_root: Path) -> ScanCache:
    """The process's cache for ``code_root`` (one instance, shared by the rules of a run)."""
    folder = cache_folder(code_root)
    if folder not in _OPEN:
        _OPEN[folder] = ScanCache(folder)
    return _OPEN[folder]
