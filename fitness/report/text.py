"""The human report: a table of fitness functions, then every violation with its fix."""

from __future__ import annotations

from fitness.engine.check_run import CheckRun
from fitness.engine.fitness_function import Result, Status

_MARK = {Status.PASS: "pass", Status.FAIL: "FAIL", Status.ERROR: "ERROR", Status.SKIP: "skip"}


def render(run: CheckRun) -> str:
    lines = [f"fitgate check: {run.system} ({run.config_path})"]
    if run.database:
        lines.append(f"database: {run.database}")
    lines.append("")
    width = max([len(r.fitness) for r in run.results] + [7])
    lines.append(f"{'fitness'.ljust(width)}  status  violations  note")
    for result in run.results:
        status = _status(result)
        note = result.reason or ""
        lines.append(
            f"{result.fitness.ljust(width)}  {status.ljust(6)}  {len(result.violations):>10}  {note}"
        )
    for result in run.results:
        if result.violations or result.notes:
            lines.append("")
            lines.extend(result_details(result))
    summary = run.summary()
    lines.append("")
    lines.append(
        f"{summary['passed']} passed, {summary['failed']} failed, {summary['errors']} errors, "
        f"{summary['skipped']} skipped in {run.seconds:.1f} s"
    )
    return "\n".join(lines) + "\n"


def _status(result: Result) -> str:
    if result.status is Status.FAIL and result.severity == "warning":
        return "warn"
    return _MARK[result.status]


def result_details(result: Result) -> list[str]:
    """A result's heading, each violation with where and how to fix it, then its notes."""
    links = ", ".join(x for x in (result.adr, result.attribute) if x)
    header = f"{result.fitness}" + (f" ({links})" if links else "")
    lines = [header, "-" * len(header)]
    for violation in result.violations:
        lines.append(f"  {violation.subject}: {violation.message}")
        if violation.location:
            lines.append(f"    at   {violation.location}")
        if violation.hint:
            hint_lines = violation.hint.splitlines()
            lines.append(f"    fix  {hint_lines[0]}")
            lines.extend(f"         {extra}" for extra in hint_lines[1:])
    lines.extend(f"  note: {note}" for note in result.notes)
    return lines
