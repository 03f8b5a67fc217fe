"""Results of the code scan kept between runs, keyed by the hash of what they depend on.

Three kinds of entries: a file's findings under one rule (keyed by the file's
content digest, its path, the parts of the contract the rule reads and the
analyser's own source); the analysis of a piece of SQL (keyed by its text;
parsing is the costly part and does not depend on the contract); and each
file's content digest under its modification time, size and inode, so that a
file unchanged since the last run is not even read (as git's index does). The cache lives in
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
from fitness.code.sql_facts import SqlAnalysis

CACHE_ENV = "FITGATE_CACHE_DIR"
CACHE_FILE = "code-scan.json"
_FORMAT = 2
_KEEP_GENERATIONS = 8  # entries unused in the last runs that changed the cache are dropped


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


Signature = tuple[int, int, int]  # mtime_ns, size, inode: unchanged files are not read again


@dataclass(frozen=True)
class Verdict:
    """A rule's findings in one file, and whether the file had to be parsed for them."""

    findings: list[Finding]
    read_closely: bool


class ScanCache:
    """Findings per file and SQL analyses, in memory and (when a folder is given) on disk."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self._verdicts: dict[str, list[Any]] = {}  # key -> [generation, read closely, rows]
        self._sql: dict[str, list[Any]] = {}  # text digest -> [generation, analysis]
        self._digests: dict[str, list[Any]] = {}  # path -> [generation, mtime_ns, size, inode, digest]
        self._python: dict[tuple[str, bool, tuple[bytes, ...] | None], PythonFacts] = {}
        self._files: dict[Path, tuple[Signature, bytes, bytes]] = {}
        self._generation = 0
        self._dirty = False
        self._load()

    @property
    def path(self) -> Path | None:
        return self.folder / CACHE_FILE if self.folder is not None else None

    def known_digest(self, path: Path, signature: Signature) -> str | None:
        """The content digest of a file seen before with this very signature."""
        entry = self._digests.get(str(path))
        if entry is None or tuple(entry[1:4]) != signature:
            return None
        self._touch(entry)
        return str(entry[4])

    def remember_digest(self, path: Path, signature: Signature, content: str) -> None:
        self._digests[str(path)] = [self._generation, *signature, content]
        self._dirty = True

    def verdict(self, key: str) -> Verdict | None:
        entry = self._verdicts.get(key)
        if entry is None:
            return None
        self._touch(entry)
        return Verdict([Finding(*row) for row in entry[2]], bool(entry[1]))

    def store_verdict(self, key: str, verdict: Verdict) -> None:
        rows = [[f.line, f.message, f.hint, f.code, f.note] for f in verdict.findings]
        self._verdicts[key] = [self._generation, verdict.read_closely, rows]
        self._dirty = True

    def sql_analysis(self, text: str) -> SqlAnalysis:
        key = digest(text.encode("utf-8", "surrogatepass"))
        entry = self._sql.get(key)
        if entry is not None:
            self._touch(entry)
            return SqlAnalysis.from_json(entry[1])
        from fitness.code.sql_analysis import analyse_sql  # sqlglot takes 0.5 s to import: only when parsing

        analysis = analyse_sql(text)
        self._sql[key] = [self._generation, analysis.to_json()]
        self._dirty = True
        return analysis

    def python_facts(
        self, key: str, data: bytes, *, imports_only: bool = False, focus: tuple[bytes, ...] | None = None
    ) -> PythonFacts:
        """Facts of a Python file, kept in memory for the other rules of this run."""
        complete = self._python.get((key, False, None))
        if complete is not None:
            return complete
        memo = (key, imports_only, focus)
        facts = self._python.get(memo)
        if facts is None:
            facts = self._python[memo] = extract_python_facts(data, imports_only=imports_only, focus=focus)
        return facts

    def file_bytes(self, path: Path, signature: Signature) -> tuple[bytes, bytes]:
        """A file's bytes and their lower-case form, read once per process while unchanged
        (the rules of one run read the same files)."""
        known = self._files.get(path)
        if known is not None and known[0] == signature:
            return known[1], known[2]
        data = path.read_bytes()
        lowered = data.lower()
        self._files[path] = (signature, data, lowered)
        return data, lowered

    def _touch(self, entry: list[Any]) -> None:
        """Mark an entry used in this run; it is written with the next change, not alone."""
        entry[0] = self._generation

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
            "digests": {k: v for k, v in self._digests.items() if v[0] > oldest},
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
        self._digests = document.get("digests", {})
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
