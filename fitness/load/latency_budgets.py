"""``latency-budgets``: endpoints meet their declared p50/p95/p99 and error-rate budgets under load.

Under ``fitgate check`` (only when asked for with ``--only``) it starts every
service with an app on the database being checked, runs the config's ``ci``
load profile (or a short default) and judges the budgets; ``fitgate load`` runs
the same start-up, load and judgement with options of its own.
"""

from __future__ import annotations

import sys

from fitness.engine import CheckContext, Findings, FitnessFunction, Kind, SkipFitness
from fitness.load.budgets import judge
from fitness.load.plan import check_plan
from fitness.load.running import Progress, run_locust
from fitness.load.targets import started_services


class LatencyBudgets(FitnessFunction):
    id = "latency-budgets"
    kinds = (Kind.LOAD,)
    summary = "endpoints meet their declared p50, p95, p99 and error-rate budgets under realistic load"
    needs_database = True
    runs_by_default = False  # a load run takes a while: `fitgate check --only latency-budgets`

    def run(self, context: CheckContext) -> Findings:
        config = context.config
        if not any(service.budgets for service in config.services.values()):
            raise SkipFitness("no service declares latency budgets (services.<name>.budgets)")
        assert context.database is not None  # needs_database: the runner gave us one
        plan = check_plan(config)
        print(f"{self.id}: {plan.describe()}", file=sys.stderr, flush=True)
        with started_services(config, context.database.url, database_label=context.database.label) as target:
            measurement = run_locust(config, plan, target, on_progress=_progress)
            return judge(config, measurement, target, plan.budget_factor).findings


def _progress(progress: Progress) -> None:
    print(f"{LatencyBudgets.id}: {progress.describe()}", file=sys.stderr, flush=True)
