"""fitgate holds itself to its own rules: fitness never imports reference; services only
import reference.platform; and the reference services pass the code checks of their contract."""

from __future__ import annotations

from pathlib import Path

import pytest

from fitness.code.import_boundaries import ImportBoundary, check_import_boundaries, fitgate_boundaries
from fitness.code.schema_references import check_schema_references
from fitness.config import Config, load_config
from fitness.engine import CheckContext, Status
from fitness.engine.runner import run_one

REPOSITORY = Path(__file__).resolve().parents[2]


def test_fitgate_keeps_its_import_boundaries() -> None:
    boundaries = fitgate_boundaries(REPOSITORY)
    assert boundaries[0] == ImportBoundary(
        "fitness", ("reference",), reason="fitness learns about a system only from its contract"
    )
    findings = check_import_boundaries(REPOSITORY, boundaries)
    assert findings.violations == []


def test_a_crossing_is_reported(tmp_path: Path) -> None:
    (tmp_path / "reference/auth").mkdir(parents=True)
    (tmp_path / "reference/directory").mkdir()
    (tmp_path / "reference/platform").mkdir()
    (tmp_path / "fitness").mkdir()
    for package in ("reference", "reference/auth", "reference/directory", "reference/platform", "fitness"):
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "fitness/check.py").write_text("from reference.auth import app\n")
    (tmp_path / "reference/auth/app.py").write_text(
        "from reference.platform import db\nfrom ..directory import users\nimport reference.installer\n"
    )
    (tmp_path / "reference/platform/db.py").write_text("from reference import auth\n")
    findings = check_import_boundaries(tmp_path, fitgate_boundaries(tmp_path))
    assert sorted(v.subject for v in findings.violations) == [
        "fitness/check.py:1",
        "reference/auth/app.py:2",
        "reference/auth/app.py:3",
        "reference/platform/db.py:1",
    ]
    message = next(v.message for v in findings.violations if v.subject == "reference/auth/app.py:2")
    assert message.startswith(
        "reference.auth imports reference.directory (only reference.auth, reference.platform)"
    )


def _repository_config() -> Config:
    return load_config(REPOSITORY / "quality-attributes.yaml")


@pytest.mark.parametrize("fitness_id", ["no-cross-service-calls", "tenant-scope"])
def test_the_reference_platform_passes_the_code_checks(fitness_id: str) -> None:
    result = run_one(CheckContext(_repository_config()), fitness_id)
    assert result.status is Status.PASS, [(v.subject, v.message) for v in result.violations]


def test_the_reference_platform_reads_only_what_is_published() -> None:
    findings = check_schema_references(_repository_config())
    assert findings.violations == []
