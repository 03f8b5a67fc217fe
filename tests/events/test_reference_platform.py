"""The reference platform, installed and seeded by its own installer, holds event-completeness."""

from __future__ import annotations

from collections.abc import Callable

from fitness.engine.check_run import CheckRun
from fitness.report import FORMATS


def test_the_reference_platform_holds_event_completeness(
    fitgate_check: Callable[..., CheckRun], fitgate_installed_database: str
) -> None:
    run = fitgate_check(fitgate_installed_database, only=["event-completeness"])
    (result,) = run.results
    assert result.status.value == "pass", FORMATS["text"](run)
