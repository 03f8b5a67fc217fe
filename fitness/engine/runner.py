"""Running fitness functions and turning what they find into results."""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable
from dataclasses import replace

import psycopg

from fitness import registry
from fitness.engine.check_run import CheckRun
from fitness.engine.context import CheckContext
from fitness.engine.fitness_function import Findings, Result, SkipFitness, Status, Violation
from fitness.errors import FitgateError

BaselineKey = tuple[str, str, str]  # (fitness id, subject, message)


def run_fitness_functions(
    context: CheckContext,
    ids: Iterable[str] = registry.FITNESS_IDS,
    baseline: Collection[BaselineKey] = (),
) -> list[Result]:
    """Run each fitness function in ``ids``; a crash becomes an ``error`` result."""
    return [run_one(context, fitness_id, baseline) for fitness_id in ids]


def check(context: CheckContext, ids: Iterable[str], baseline: Collection[BaselineKey] = ()) -> CheckRun:
    """A whole check run over ``ids``, timed, ready for any report format."""
    started = time.perf_counter()
    results = run_fitness_functions(context, ids, baseline)
    return CheckRun(
        system=context.config.system,
        config_path=str(context.config.path),
        database=context.database.label if context.database else None,
        results=tuple(results),
        seconds=time.perf_counter() - started,
    )


def run_one(context: CheckContext, fitness_id: str, baseline: Collection[BaselineKey] = ()) -> Result:
    settings = context.settings(fitness_id)
    function = registry.load(fitness_id)
    skipped = _unjudged(context, fitness_id)
    if not settings.enabled:
        return replace(skipped, reason="disabled in the config")
    if function.needs_database and context.database is None:
        return replace(skipped, reason=context.no_database_reason)
    started = time.perf_counter()
    try:
        findings = function.run(context)
    except SkipFitness as skip:
        return replace(skipped, reason=str(skip))
    except (FitgateError, psycopg.Error) as exc:
        return replace(skipped, status=Status.ERROR, reason=_one_line(exc))
    except Exception as exc:  # a bug in one function must not hide the others' results
        reason = f"{exc.__class__.__name__}: {_one_line(exc)}"
        return replace(skipped, status=Status.ERROR, reason=reason)
    return _judge(replace(skipped, seconds=time.perf_counter() - started), findings, baseline)


def judge_findings(
    context: CheckContext, fitness_id: str, findings: Findings, seconds: float = 0.0
) -> Result:
    """The result of findings gathered outside :func:`run_one` (``fitgate load`` runs its own load)."""
    return _judge(replace(_unjudged(context, fitness_id), seconds=seconds), findings, ())


def _unjudged(context: CheckContext, fitness_id: str) -> Result:
    settings = context.settings(fitness_id)
    return Result(
        fitness=fitness_id,
        status=Status.SKIP,
        kinds=registry.load(fitness_id).kinds,
        attribute=settings.attribute,
        adr=settings.adr,
        severity=settings.severity,
    )


def _judge(result: Result, findings: Findings, baseline: Collection[BaselineKey]) -> Result:
    new: list[Violation] = []
    known: list[Violation] = []
    for violation in sorted(set(findings.violations)):
        key = (result.fitness, violation.subject, violation.message)
        (known if key in baseline else new).append(violation)
    notes = list(findings.notes)
    if known:
        notes.append(f"{len(known)} known violation(s) accepted by the baseline")
    return replace(
        result,
        status=Status.FAIL if new else Status.PASS,
        violations=tuple(new),
        known=tuple(known),
        notes=tuple(notes),
    )


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or exc.__class__.__name__
