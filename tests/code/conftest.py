"""Code fitness tests: fixture shops under fixtures/, each scan with a cache of its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from fitness.config import Config, load_config

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def isolated_scan(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A disk cache per test, and no guard log from the environment."""
    monkeypatch.setenv("FITGATE_CACHE_DIR", str(tmp_path / "scan-cache"))
    monkeypatch.delenv("FITGATE_GUARD_LOG", raising=False)


@pytest.fixture
def broken_shop() -> Config:
    return load_config(FIXTURES / "broken" / "quality-attributes.yaml")


@pytest.fixture
def clean_shop() -> Config:
    return load_config(FIXTURES / "clean" / "quality-attributes.yaml")
