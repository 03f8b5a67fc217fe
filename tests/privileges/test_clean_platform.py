"""A correctly built platform: nothing to report, and the declared exceptions are visible."""

from __future__ import annotations

import pytest

from fitness.engine.fitness_function import Status


@pytest.mark.parametrize("fitness_id", ["write-ownership", "read-contract", "tenant-isolation-probe"])
def test_a_correct_platform_reports_nothing(service_platform, fitness_id):
    result = service_platform.run(fitness_id)
    assert result.status in (Status.PASS, Status.FAIL), result.reason
    assert service_platform.subjects(result) == []
