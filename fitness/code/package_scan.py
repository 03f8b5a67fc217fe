"""Running one rule over the files of one package, reading closely only what can hold a finding.

Every file is read as bytes and searched for the rule's markers (see
:mod:`fitness.code.markers`); only files holding one are parsed. Findings are
cached under the file's content hash, its path and the rule's fingerprint, so
an unchanged file is never parsed twice.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import ClassVar

from fitness.code.markers import Aspect, matched_aspects
from fitness.code.python_facts import PythonFacts
from fitness.code.scan_cache import Finding, ScanCache, Verdict, analyser_version, digest, scan_cache
from fitness.code.sources import SourceFile, SourceKind, package_files
from fitness.code.sql_facts import SqlAnalysis
from fitness.config import Config, Service
from fitness.engine.fitness_function import Findings


@dataclass
class SourceText:
    """A file's bytes, with its text, Python facts and SQL analyses read on demand."""

    data: bytes
    lowered: bytes
    key: str
    cache: ScanCache

    @cached_property
    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")

    @cached_property
    def _lines(self) -> list[str]:
        return self.text.splitlines()

    def line(self, number: int) -> str:
        """Line ``number`` (1-based), stripped; empty past the end."""
        return self._lines[number - 1].strip() if 0 < number <= len(self._lines) else ""

    def python(self, *, imports_only: bool = False, focus: tuple[bytes, ...] | None = None) -> PythonFacts:
        """The file's Python facts: all of them, its imports only, or those on the lines
        holding one of the lower-case ``focus`` strings (see :func:`extract_python_facts`)."""
        return self.cache.python_facts(self.key, self.data, imports_only=imports_only, focus=focus)

    def sql(self, text: str) -> SqlAnalysis:
        return self.cache.sql_analysis(text)


Markers = dict[str, Aspect]


class FileRule(ABC):
    """A rule judged file by file over one package."""

    family: ClassVar[str]  # names the rule in the cache
    kinds: ClassVar[frozenset[SourceKind]]

    @abstractmethod
    def markers(self, file: SourceFile) -> Markers:
        """For each aspect of a file the rule reads, what any file with a finding of it holds."""

    @abstractmethod
    def fingerprint(self) -> str:
        """Everything of the contract the findings depend on, as text."""

    @abstractmethod
    def check(self, file: SourceFile, source: SourceText, aspects: frozenset[str]) -> list[Finding]:
        """The findings of one file, reading the ``aspects`` whose markers it holds."""


@dataclass
class PackageScan:
    """What a rule found in a package, and how much of it had to be read closely."""

    found: list[tuple[SourceFile, Finding]] = field(default_factory=list)
    files: int = 0
    read_closely: int = 0

    def add_to(self, findings: Findings) -> None:
        """Violations and notes, each named ``path/file.py:LINE``."""
        for file, finding in self.found:
            subject = f"{file.display}:{finding.line}"
            if finding.note:
                findings.note(f"{subject}: {finding.message}")
            else:
                message = f"{finding.message}: `{finding.code}`" if finding.code else finding.message
                findings.add(subject, message, location=subject, hint=finding.hint)


def scan_package(code_root: Path, package: str, rule: FileRule, cache: ScanCache) -> PackageScan:
    """Judge every file of ``package`` (under ``code_root``) by ``rule``."""
    scan = PackageScan()
    fingerprint = digest(f"{rule.family}\0{analyser_version()}\0{rule.fingerprint()}".encode())
    for file in package_files(code_root, package):
        if file.kind not in rule.kinds:
            continue
        scan.files += 1
        try:
            verdict = _judge(file, rule, fingerprint, cache)
        except OSError as exc:
            verdict = Verdict(
                [Finding(1, f"cannot be read ({exc.strerror}): not checked", None, "", True)], False
            )
        scan.read_closely += verdict.read_closely
        scan.found.extend((file, finding) for finding in verdict.findings)
    return scan


def _judge(file: SourceFile, rule: FileRule, fingerprint: str, cache: ScanCache) -> Verdict:
    status = os.stat(file.path)
    signature = (status.st_mtime_ns, status.st_size, status.st_ino)
    known = cache.known_digest(file.path, signature)
    if known is not None:
        verdict = cache.verdict(f"{known}:{fingerprint}:{file.display}")
        if verdict is not None:
            return verdict  # unchanged since a run that judged it: not even read
    data, lowered = cache.file_bytes(file.path, signature)
    content = digest(data)
    cache.remember_digest(file.path, signature, content)
    key = f"{content}:{fingerprint}:{file.display}"
    verdict = cache.verdict(key)
    if verdict is None:
        aspects = matched_aspects(lowered, rule.markers(file))
        found = rule.check(file, SourceText(data, lowered, content, cache), aspects) if aspects else []
        verdict = Verdict(found, bool(aspects))
        cache.store_verdict(key, verdict)
    return verdict


def scan_services(config: Config, make_rule: Callable[[Service], FileRule], findings: Findings) -> int:
    """Judge each service package by its own rule; returns how many services declare one."""
    services = [s for s in config.services.values() if s.package is not None]
    _scan(config, [(s.package, make_rule(s)) for s in services if s.package is not None], findings)
    return len(services)


def scan_system(config: Config, rule: FileRule, findings: Findings) -> int:
    """Judge all of the system's code (:func:`system_packages`) by one rule; returns how many
    services declare a package."""
    _scan(config, [(package, rule) for package in system_packages(config)], findings)
    return sum(1 for s in config.services.values() if s.package is not None)


def system_packages(config: Config) -> list[str]:
    """The service packages' common parent when they share one (so that the shared kernel
    beside them is read too), else each service package."""
    packages = sorted({s.package for s in config.services.values() if s.package is not None})
    if not packages:
        return []
    common = packages[0].split(".")
    for package in packages[1:]:
        parts = package.split(".")
        shared = 0
        while shared < min(len(common), len(parts)) and common[shared] == parts[shared]:
            shared += 1
        common = common[:shared]
    return [".".join(common)] if common else packages


def _scan(config: Config, work: list[tuple[str, FileRule]], findings: Findings) -> None:
    cache = scan_cache(config.code_root)
    files = read_closely = 0
    for package, rule in work:
        scan = scan_package(config.code_root, package, rule, cache)
        scan.add_to(findings)
        files += scan.files
        read_closely += scan.read_closely
    cache.save()
    if work:
        names = ", ".join(dict.fromkeys(package for package, _ in work))
        findings.note(f"code: {files} files of {names} scanned, {read_closely} read closely")
