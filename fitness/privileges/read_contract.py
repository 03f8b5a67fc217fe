"""read-contract: other services read only published tables, and only those they declare.

The rule has more than one source of evidence (the database's grants; the
services' code), each a :class:`ReadFinder`. Adding a source is adding a
finder to ``ReadContract.finders``.
"""

from __future__ import annotations

from typing import ClassVar, Protocol

from fitness.code.schema_references import CodeReads
from fitness.engine.context import CheckContext
from fitness.engine.fitness_function import Findings, FitnessFunction, Kind
from fitness.privileges.catalog_reads import CatalogReads


class ReadFinder(Protocol):
    """One source of cross-service reads; adds what breaks the contract to ``findings``."""

    kind: Kind
    needs_database: bool

    def find(self, context: CheckContext, findings: Findings) -> None: ...


class ReadContract(FitnessFunction):
    id = "read-contract"
    summary = (
        "a service can read another service's table only if the owner publishes it "
        "and the reader declares it in reads"
    )
    finders: ClassVar[tuple[ReadFinder, ...]] = (CatalogReads(), CodeReads())
    kinds = tuple(dict.fromkeys(f.kind for f in finders))
    needs_database = False  # the code finder runs without one; the catalog finder says it skipped

    def run(self, context: CheckContext) -> Findings:
        findings = Findings()
        for finder in self.finders:
            if finder.needs_database and context.database is None:
                findings.note(f"{finder.kind.value} part not run: {context.no_database_reason}")
                continue
            finder.find(context, findings)
        return findings
