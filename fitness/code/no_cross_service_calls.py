"""no-cross-service-calls: services never call each other, in their code or at run time."""

from __future__ import annotations

from fitness.code.cross_service_calls import CrossServiceCallRule
from fitness.code.package_scan import scan_services
from fitness.engine.context import CheckContext
from fitness.engine.fitness_function import Findings, FitnessFunction, Kind, SkipFitness
from fitness.runtime.guard_findings import add_connection_violations


class NoCrossServiceCalls(FitnessFunction):
    id = "no-cross-service-calls"
    kinds = (Kind.STATIC, Kind.RUNTIME)
    summary = (
        "no service imports another's package, calls another over HTTP, gRPC or a socket, or "
        "holds another's address; at run time no service connects to another"
    )

    def run(self, context: CheckContext) -> Findings:
        config = context.config
        findings = Findings()
        packages = scan_services(config, lambda service: CrossServiceCallRule(config, service), findings)
        runtime = add_connection_violations(config, findings, context.guard_log)
        if not packages and not runtime:
            raise SkipFitness("no service declares a package (services.*.package) and no guard log was given")
        if not packages:
            findings.note("code: not checked: no service declares a package (services.*.package)")
        return findings
