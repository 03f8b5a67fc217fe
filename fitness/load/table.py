"""The human report of a load run: every budget, what was measured, and the margin left."""

from __future__ import annotations

from fitness.engine import Result, Status
from fitness.load.budgets import BudgetLine, Judgement, Verdict
from fitness.load.plan import LoadPlan

_HEADER = (
    "endpoint",
    "requests",
    "req/s",
    "failed",
    "p50 ms",
    "p95 ms / budget",
    "margin",
    "p99 ms / budget",
    "margin",
    "verdict",
)
_RIGHT = {1, 2, 3, 4, 5, 6, 7, 8}


def render(judgement: Judgement, result: Result, plan: LoadPlan, target_label: str) -> str:
    """The budget table, then each violation with its fix, the notes, and the verdict."""
    lines = [f"fitgate load: {target_label}", f"plan: {plan.describe()}", ""]
    rows = [_HEADER, *(_row(line) for line in judgement.lines)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADER))]
    for row in rows:
        cells = [
            cell.rjust(widths[i]) if i in _RIGHT else cell.ljust(widths[i]) for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
    if plan.budget_factor != 1:
        lines.append(f"(budgets shown are the declared ones x{plan.budget_factor:g})")
    for violation in result.violations:
        lines += ["", f"{violation.subject}: {violation.message}"]
        if violation.location:
            lines.append(f"  at   {violation.location}")
        if violation.hint:
            lines.append(f"  fix  {violation.hint}")
    run_notes = [note for note in result.notes if not note.startswith(_endpoint_prefixes(judgement))]
    if run_notes:
        lines.append("")
        lines += [f"note: {note}" for note in run_notes]
    lines += ["", _verdict(judgement, result)]
    return "\n".join(lines) + "\n"


def _endpoint_prefixes(judgement: Judgement) -> tuple[str, ...]:
    """Notes that repeat a table row (the per-endpoint figures) are left out of the text report."""
    return tuple(f"{line.endpoint}: " for line in judgement.lines)


def _row(line: BudgetLine) -> tuple[str, ...]:
    measured = line.measured
    if measured is None or measured.requests == 0:
        return (
            line.endpoint,
            "0",
            "-",
            _failure_cell(line),
            "-",
            _latency_cell(line, "p95"),
            "",
            _latency_cell(line, "p99"),
            "",
            line.verdict.value,
        )
    return (
        line.endpoint,
        str(measured.requests),
        f"{measured.requests_per_s:.1f}",
        _failure_cell(line),
        _p50_cell(line),
        _latency_cell(line, "p95"),
        _margin_cell(line, "p95"),
        _latency_cell(line, "p99"),
        _margin_cell(line, "p99"),
        line.verdict.value,
    )


def _p50_cell(line: BudgetLine) -> str:
    assert line.measured is not None
    value = f"{line.measured.p50_ms:g}"
    limit = line.limit_ms("p50")
    return value if limit is None else f"{value} / {limit:g}"


def _latency_cell(line: BudgetLine, percentile: str) -> str:
    limit = line.limit_ms(percentile)
    if line.measured is None or not line.measured.requests:
        measured = "-"
    else:
        measured = f"{getattr(line.measured, f'{percentile}_ms'):g}"
    return measured if limit is None else f"{measured} / {limit:g}"


def _margin_cell(line: BudgetLine, percentile: str) -> str:
    margin = line.margin(percentile)
    return "" if margin is None else f"{margin:+.0%}"


def _failure_cell(line: BudgetLine) -> str:
    rate = f"{line.measured.failure_rate:.2%}" if line.measured and line.measured.requests else "-"
    if line.budget is None or line.budget.error_rate is None:
        return rate
    return f"{rate} / {line.budget.error_rate:.2%}"


def _verdict(judgement: Judgement, result: Result) -> str:
    held = sum(line.verdict is Verdict.HELD for line in judgement.lines)
    budgets = sum(line.budget is not None for line in judgement.lines)
    if result.status is Status.PASS:
        return f"latency-budgets: pass ({held} of {budgets} budgets held)"
    if result.status is Status.FAIL:
        level = "warn" if result.severity == "warning" else "FAIL"
        return f"latency-budgets: {level} ({judgement.breached} of {budgets} budgets not held)"
    return f"latency-budgets: {result.status.value} ({result.reason or ''})"
