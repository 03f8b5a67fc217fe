"""The built-in fitness functions, by stable id.

Entries name the implementing class as ``module:Class`` and are imported only
when used, so reading the list (to validate a config, to list ids) stays cheap
and free of import cycles.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fitness.engine.fitness_function import FitnessFunction

BUILTIN: dict[str, str] = {
    "rls-coverage": "fitness.rls.coverage:RlsCoverage",
    "tenant-isolation-probe": "fitness.probes.tenant_isolation:TenantIsolationProbe",
    "write-ownership": "fitness.privileges.write_ownership:WriteOwnership",
    "read-contract": "fitness.privileges.read_contract:ReadContract",
    "no-cross-service-calls": "fitness.code.no_cross_service_calls:NoCrossServiceCalls",
    "tenant-scope": "fitness.code.tenant_scope:TenantScope",
    "event-completeness": "fitness.events.completeness:EventCompleteness",
    "adr-traceability": "fitness.docs.adr_traceability:AdrTraceability",
    "latency-budgets": "fitness.load.latency_budgets:LatencyBudgets",
}

FITNESS_IDS: tuple[str, ...] = tuple(BUILTIN)


def default_ids() -> list[str]:
    """What ``fitgate check`` runs without ``--only`` (everything but load runs)."""
    return [fitness_id for fitness_id in FITNESS_IDS if load(fitness_id).runs_by_default]


def load(fitness_id: str) -> FitnessFunction:
    """A new instance of the fitness function registered under ``fitness_id``."""
    module_name, _, class_name = BUILTIN[fitness_id].partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    instance: FitnessFunction = cls()
    return instance
