"""The reference platform, installed by its own installer, holds rls-coverage."""

from __future__ import annotations

from collections.abc import Callable

from fitness.engine.check_run import CheckRun
from fitness.report import FORMATS


def test_the_reference_platform_holds_rls_coverage(
    fitgate_check: Callable[..., CheckRun], fitgate_installed_database: str
) -> None:
    run = fitgate_check(fitgate_installed_database, only=["rls-coverage"])
    (result,) = run.results
    assert result.status.value == "pass", FORMATS["text"](run)
    assert any("global" in note for note in result.notes)
