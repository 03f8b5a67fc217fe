"""Holding a measured load against the declared latency budgets.

Every endpoint with a budget is judged: over its p50, p95 or p99 (times the
run's budget factor) or its error rate is a violation; no requests at all is a
violation too, since a budget that checked nothing must not pass. Endpoints
that had traffic but no budget are listed as notes. The budget factor loosens
only latency: a failed request is a failure on any machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from fitness.config import Budget, Config
from fitness.engine import Findings
from fitness.load.measurement import EndpointMeasurement, Measurement
from fitness.load.targets import LoadTarget

_PERCENTILES = (("p50", "p50_ms"), ("p95", "p95_ms"), ("p99", "p99_ms"))


class Verdict(StrEnum):
    HELD = "ok"
    BREACHED = "BREACH"
    NO_TRAFFIC = "NO TRAFFIC"
    UNBUDGETED = "no budget"


@dataclass(frozen=True)
class BudgetLine:
    """One endpoint: its budget (if any), what was measured (if anything) and the verdict."""

    endpoint: str
    service: str | None  # the service whose budget it is; None for traffic without a budget
    budget: Budget | None
    measured: EndpointMeasurement | None
    factor: float
    verdict: Verdict
    breaches: tuple[str, ...] = ()

    def limit_ms(self, percentile: str) -> float | None:
        """The latency this run holds the endpoint to: the declared budget times the factor."""
        declared = getattr(self.budget, f"{percentile}_ms", None) if self.budget else None
        return None if declared is None else declared * self.factor

    def margin(self, percentile: str) -> float | None:
        """Headroom as a fraction of the limit: 0.4 is 40 % under it, -0.2 is 20 % over it."""
        limit = self.limit_ms(percentile)
        if limit is None or self.measured is None or not self.measured.requests:
            return None
        measured: float = getattr(self.measured, f"{percentile}_ms")
        return (limit - measured) / limit


@dataclass(frozen=True)
class Judgement:
    lines: tuple[BudgetLine, ...]
    findings: Findings

    @property
    def breached(self) -> int:
        return sum(line.verdict in (Verdict.BREACHED, Verdict.NO_TRAFFIC) for line in self.lines)


def judge(config: Config, measurement: Measurement, target: LoadTarget, factor: float) -> Judgement:
    """Every budget held against the measurement, as table lines and as findings."""
    findings = Findings()
    lines: list[BudgetLine] = []
    budgeted: set[str] = set()
    for service, endpoint, budget in _budgets(config):
        budgeted.add(endpoint)
        measured = measurement.endpoint(endpoint)
        location = _location(config, service, endpoint)
        if measured is None or measured.requests == 0:
            lines.append(BudgetLine(endpoint, service, budget, measured, factor, Verdict.NO_TRAFFIC))
            findings.add(
                endpoint,
                f"received no requests under load, so its budget checked nothing: "
                f"{_why_no_traffic(config, measurement, target, service)}",
                location=location,
                hint=f"add a task calling {endpoint} to the {service} user class in "
                f"{config.load.locustfile.name} (or run longer if one does), "
                "or remove the budget if the endpoint is gone",
            )
            continue
        breaches = tuple(_breaches(budget, measured, factor))
        verdict = Verdict.BREACHED if breaches else Verdict.HELD
        lines.append(BudgetLine(endpoint, service, budget, measured, factor, verdict, breaches))
        if breaches:
            findings.add(
                endpoint,
                f"over budget under load: {'; '.join(breaches)}",
                location=location,
                hint=_hint(service, endpoint, measured),
            )
        findings.note(f"{endpoint}: {_figures(measured)}")
    for measured in measurement.endpoints:
        if measured.endpoint not in budgeted:
            lines.append(BudgetLine(measured.endpoint, None, None, measured, factor, Verdict.UNBUDGETED))
            findings.note(f"{measured.endpoint}: {_figures(measured)}; no budget declared")
    for note in _run_notes(measurement, target, factor):
        findings.note(note)
    return Judgement(tuple(lines), findings)


def _budgets(config: Config) -> Iterator[tuple[str, str, Budget]]:
    for name, service in config.services.items():
        for endpoint, budget in service.budgets.items():
            yield name, endpoint, budget


def _location(config: Config, service: str, endpoint: str) -> str:
    line = config.document.line_of(("services", service, "budgets", endpoint))
    return f"{config.path}:{line}" if line is not None else str(config.path)


def _breaches(budget: Budget, measured: EndpointMeasurement, factor: float) -> Iterator[str]:
    for label, attribute in _PERCENTILES:
        declared: float | None = getattr(budget, attribute)
        if declared is None:
            continue
        value: float = getattr(measured, attribute)
        limit = declared * factor
        if value > limit:
            scaled = f" ({declared:g} ms declared x{factor:g})" if factor != 1 else ""
            yield f"{label} {value:g} ms exceeds {limit:g} ms{scaled}"
    if budget.error_rate is not None and measured.failure_rate > budget.error_rate:
        commonest = f", commonest: {measured.errors[0]}" if measured.errors else ""
        yield (
            f"failure rate {measured.failure_rate:.2%} ({measured.failures} of {measured.requests}) "
            f"exceeds {budget.error_rate:.2%}{commonest}"
        )


def _hint(service: str, endpoint: str, measured: EndpointMeasurement) -> str:
    key = f"services.{service}.budgets['{endpoint}']"
    if measured.failures:
        return (
            "look at the failures in the service's log and locust's failures CSV "
            f"(fitgate load --output DIR); if the budget itself is wrong, change {key} "
            "with the measurement that justifies it"
        )
    return (
        "find the slow part (EXPLAIN ANALYZE its queries as the service role with the tenant set; "
        f"an index leading with tenant_id); if the budget itself is wrong, change {key} "
        "with the measurement that justifies it"
    )


def _why_no_traffic(config: Config, measurement: Measurement, target: LoadTarget, service: str) -> str:
    if service in target.left_out:
        return f"{service} was not under load ({target.left_out[service]})"
    classes = measurement.user_classes.get(service)
    if not classes:
        return f"the locustfile has no user class for {service}"
    return (
        f"no task of {', '.join(classes)} called it in the {measurement.seconds:.0f} s measured "
        "(none calls it, or a rare task did not come up in so short a run)"
    )


def _figures(measured: EndpointMeasurement) -> str:
    return (
        f"{measured.requests} requests ({measured.requests_per_s:g}/s), {measured.failures} failed, "
        f"p50 {measured.p50_ms:g} ms, p95 {measured.p95_ms:g} ms, p99 {measured.p99_ms:g} ms"
    )


def _run_notes(measurement: Measurement, target: LoadTarget, factor: float) -> Iterator[str]:
    rate = measurement.requests / measurement.seconds if measurement.seconds else 0.0
    processes = f", {measurement.workers} worker processes" if measurement.workers else ""
    yield (
        f"load: {measurement.users} users for {measurement.seconds:.0f} s{processes} on {target.label}; "
        f"{measurement.requests} requests ({rate:.1f}/s), {measurement.failures} failed"
    )
    if factor != 1:
        yield f"latency budgets were loosened x{factor:g} for this run; the declared budgets are unchanged"
    for service, classes in sorted(measurement.user_classes.items()):
        yield f"{service} loaded by {', '.join(classes)}"
    for name, reason in sorted(measurement.classes_left_out.items()):
        yield f"user class {name} not run: {reason}"
    for service, reason in sorted(target.left_out.items()):
        yield f"{service} not under load: {reason}"
    for exception in measurement.exceptions:
        yield f"the load scenarios raised: {exception}"
    for service, code in sorted(target.exited().items()):
        yield f"{service} exited with code {code} during the load: its requests failed from then on"
