"""tenant-scope: the tenant is set per transaction, and no pooled connection keeps one."""

from __future__ import annotations

from fitness.code.package_scan import scan_system
from fitness.code.tenant_settings import TenantSettingRule
from fitness.engine.context import CheckContext
from fitness.engine.fitness_function import Findings, FitnessFunction, Kind, SkipFitness
from fitness.runtime.guard_findings import add_tenant_leak_violations


class TenantScope(FitnessFunction):
    id = "tenant-scope"
    kinds = (Kind.STATIC, Kind.RUNTIME)
    summary = (
        "code and SQL set the tenant transaction-locally inside a transaction block, never for a "
        "session, role or database; at run time no connection goes back to a pool with a tenant"
    )

    def run(self, context: CheckContext) -> Findings:
        config = context.config
        findings = Findings()
        packages = scan_system(config, TenantSettingRule(config), findings)
        runtime = add_tenant_leak_violations(config, findings, context.guard_log)
        if not packages and not runtime:
            raise SkipFitness("no service declares a package (services.*.package) and no guard log was given")
        if not packages:
            findings.note("code: not checked: no service declares a package (services.*.package)")
        return findings
