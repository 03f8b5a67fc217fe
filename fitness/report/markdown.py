"""A Markdown report, for pull-request comments and job summaries."""

from __future__ import annotations

from fitness.engine.check_run import CheckRun
from fitness.engine.fitness_function import Status

_ICON = {
    Status.PASS: "✅ pass",
    Status.FAIL: "❌ fail",
    Status.ERROR: "⚠️ error",
    Status.SKIP: "⏭ skip",
}


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def render(run: CheckRun) -> str:
    summary = run.summary()
    lines = [
        f"## fitgate: {_cell(run.system)}",
        "",
        f"{summary['passed']} passed, {summary['failed']} failed, {summary['errors']} errors, "
        f"{summary['skipped']} skipped",
        "",
        "| fitness | status | violations | ADR | attribute | note |",
        "|---|---|---:|---|---|---|",
    ]
    for r in run.results:
        lines.append(
            f"| `{r.fitness}` | {_ICON[r.status]} | {len(r.violations)} | {_cell(r.adr)} "
            f"| {_cell(r.attribute)} | {_cell(r.reason)} |"
        )
    for r in run.results:
        if not r.violations:
            continue
        lines += [
            "",
            f"### `{r.fitness}`",
            "",
            "| subject | problem | location | fix |",
            "|---|---|---|---|",
        ]
        for v in r.violations:
            fix = f"`{_cell(v.hint)}`" if v.hint else ""
            lines.append(f"| `{_cell(v.subject)}` | {_cell(v.message)} | {_cell(v.location)} | {fix} |")
    return "\n".join(lines) + "\n"
