"""The static half of no-cross-service-calls: one service's files, judged against the contract.

A service's code must not import another service's package, must not open a
network connection except to a host declared in its ``external_hosts``, and
must not hold another service's address (in code or settings files).
"""

from __future__ import annotations

import json

from fitness.code.import_resolution import (
    DYNAMIC_IMPORT_MARKERS,
    import_markers,
    imported_modules,
    within,
)
from fitness.code.literal_scanning import AddressLiteral, settings_file_literals
from fitness.code.markers import Aspect
from fitness.code.package_scan import FileRule, Markers, SourceText
from fitness.code.python_facts import ClientUse, PythonFacts
from fitness.code.scan_cache import Finding
from fitness.code.sources import SourceFile, SourceKind
from fitness.config import Config, Service
from fitness.service_addresses import (
    LOOPBACK_SPELLINGS,
    host_allowed,
    is_loopback,
    service_addresses,
    service_at,
)

# A file using a network client imports its module (``http`` alone would match HTTPException).
_CLIENT_IMPORTS = Aspect(
    (
        (b"requests",),
        (b"httpx",),
        (b"aiohttp",),
        (b"urllib",),
        (b"http.client",),
        (b"from http import",),
        (b"grpc",),
        (b"websockets",),
        (b"socket",),
    ),
    in_import_statements=True,
)
_ASYNCIO_CONNECTIONS = Aspect(((b"open_connection",),))


class CrossServiceCallRule(FileRule):
    family = "no-cross-service-calls"
    kinds = frozenset({SourceKind.PYTHON, SourceKind.SETTINGS})

    def __init__(self, config: Config, service: Service) -> None:
        self.service = service
        self.other_packages = {
            other.package: other.name
            for other in config.services.values()
            if other.package is not None and other.name != service.name
        }
        self.addresses = service_addresses(config)
        self.other_addresses = [a for a in self.addresses if a.service != service.name]
        hosts = {a.endpoint.host for a in self.other_addresses}
        if any(is_loopback(host) for host in hosts):
            hosts = {h for h in hosts if not is_loopback(h)} | set(LOOPBACK_SPELLINGS)
        self._address_markers = Aspect(tuple((host.encode(),) for host in sorted(hosts)))
        self._focus = (
            *(h.encode() for h in sorted(hosts)),
            b"import_module",
            b"__import__",
            b"open_connection",
        )
        publishes = {s.name: list(s.publishes) for s in config.services.values()}
        self._fingerprint = json.dumps(
            [
                service.name,
                sorted(self.other_packages.items()),
                [(a.service, str(a.endpoint)) for a in self.addresses],
                list(service.external_hosts),
                publishes,
            ]
        )
        self.publishes = publishes

    def markers(self, file: SourceFile) -> Markers:
        if file.kind is SourceKind.SETTINGS:
            return {"addresses": self._address_markers}
        return {
            "imports": import_markers(tuple(self.other_packages), file.depth),
            "dynamic_imports": DYNAMIC_IMPORT_MARKERS,
            "clients": _CLIENT_IMPORTS,
            "asyncio_connections": _ASYNCIO_CONNECTIONS,
            "addresses": self._address_markers,
        }

    def fingerprint(self) -> str:
        return self._fingerprint

    def check(self, file: SourceFile, source: SourceText, aspects: frozenset[str]) -> list[Finding]:
        if file.kind is SourceKind.SETTINGS:
            addresses, _ = settings_file_literals(source.text)
            return self._address_findings(addresses, source, set())
        if aspects == {"imports"}:
            facts = source.python(imports_only=True)
        else:
            facts = source.python(focus=self._focus)
        if facts.syntax_error is not None:
            line, problem = facts.syntax_error
            return [Finding(line, f"is not valid Python ({problem}): not checked", None, "", True)]
        found = self._import_findings(file, facts, source)
        found += [
            Finding(line, "imports a module whose name is computed at run time: not checked", None, "", True)
            for line in facts.computed_imports
        ]
        client_lines: set[int] = set()
        for use in facts.client_uses:
            finding = self._client_finding(use, source)
            if finding is not None:
                found.append(finding)
                if not finding.note:
                    client_lines.add(use.line)
        found += self._address_findings(facts.addresses, source, client_lines)
        return found

    def _import_findings(self, file: SourceFile, facts: PythonFacts, source: SourceText) -> list[Finding]:
        found = []
        for fact in facts.imports:
            for module in imported_modules(fact, file):
                owner = next((p for p in self.other_packages if within(module, p)), None)
                if owner is None:
                    continue
                other = self.other_packages[owner]
                found.append(
                    Finding(
                        fact.line,
                        f"imports {module}, the code of service {other}: services never import each other",
                        f"move what both need into the shared platform package, or read {other}'s "
                        f"published tables ({self._published(other)}); do not import {owner}",
                        source.line(fact.line),
                    )
                )
                break
        return found

    def _client_finding(self, use: ClientUse, source: SourceText) -> Finding | None:
        code = source.line(use.line)
        declared = f"services.{self.service.name}.external_hosts"
        if use.targets is None:
            return Finding(
                use.line,
                f"opens a network connection with {use.api} to a target fitgate cannot read "
                f"({use.unknown_because}); a service may call only hosts in {declared}",
                "call a declared external host with a literal URL (or base_url); to use another "
                "service's data, read its published tables instead of calling it",
                code,
            )
        services = [s for s in (service_at(t, self.addresses) for t in use.targets) if s is not None]
        other = next((s for s in services if s.service != self.service.name), None)
        if other is not None:
            return Finding(
                use.line,
                f"calls service {other.service} at {other.endpoint} with {use.api}: "
                "services never call each other",
                f"read {other.service}'s published tables ({self._published(other.service)}) "
                "instead of calling its API",
                code,
            )
        undeclared = [t for t in use.targets if not host_allowed(t, self.service.external_hosts)]
        if undeclared:
            hosts = ", ".join(str(t) for t in undeclared)
            return Finding(
                use.line,
                f"calls {hosts} with {use.api}, which is not in {declared}",
                f"if {hosts} is an external system this service may call, add it to {declared}; "
                "otherwise remove the call",
                code,
            )
        hosts = ", ".join(str(t) for t in use.targets)
        return Finding(use.line, f"calls {hosts} with {use.api}: declared in {declared}", None, code, True)

    def _address_findings(
        self, addresses: list[AddressLiteral], source: SourceText, skip_lines: set[int]
    ) -> list[Finding]:
        found = []
        for literal in addresses:
            if literal.line in skip_lines:
                continue  # the call on this line is already reported
            other = service_at(literal.endpoint, self.other_addresses)
            if other is None:
                continue
            found.append(
                Finding(
                    literal.line,
                    f"holds the address of service {other.service} ({literal.text}): "
                    "a service that knows another's address is one step from calling it",
                    f"remove it and read {other.service}'s published tables "
                    f"({self._published(other.service)}) instead",
                    source.line(literal.line),
                )
            )
        return found

    def _published(self, service: str) -> str:
        tables = self.publishes.get(service, [])
        return ", ".join(tables) if tables else "it publishes none yet"
