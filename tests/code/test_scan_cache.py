"""The scan cache: an unchanged file is not parsed again; a changed one is."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from fitness.code import scan_cache, sql_analysis
from fitness.code.python_facts import PythonFacts, extract_python_facts
from fitness.code.schema_references import check_schema_references
from fitness.config import load_config
from fitness.engine import CheckContext
from fitness.engine.runner import run_one

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A copy of the broken shop that tests may edit."""
    target = tmp_path / "broken"
    shutil.copytree(FIXTURES / "broken", target)
    return target / "quality-attributes.yaml"


def count_parses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    parsed: list[int] = []

    def counting(source: bytes, **options: Any) -> PythonFacts:
        parsed.append(len(source))
        return extract_python_facts(source, **options)

    monkeypatch.setattr(scan_cache, "extract_python_facts", counting)
    return parsed


def fresh_process_caches(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a new process sees: only what is on disk."""
    monkeypatch.setattr(scan_cache, "_OPEN", {})


def test_a_second_run_reads_findings_from_disk(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parsed = count_parses(monkeypatch)
    first = run_one(CheckContext(load_config(shop)), "no-cross-service-calls")
    assert parsed
    fresh_process_caches(monkeypatch)
    parsed.clear()
    second = run_one(CheckContext(load_config(shop)), "no-cross-service-calls")
    assert parsed == []
    assert second.violations == first.violations
    cache_file = Path(scan_cache.cache_folder(shop.parent) or "") / scan_cache.CACHE_FILE
    assert json.loads(cache_file.read_text())["verdicts"]


def test_an_edited_file_is_read_again(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_one(CheckContext(load_config(shop)), "no-cross-service-calls")
    source = shop.parent / "shop" / "alpha" / "imports_aliased.py"
    edited = source.read_text().replace(
        "import shop.beta.models as orders_model", "import json as orders_model  # was shop.beta.models"
    )
    source.write_text(edited)
    fresh_process_caches(monkeypatch)
    parsed = count_parses(monkeypatch)
    result = run_one(CheckContext(load_config(shop)), "no-cross-service-calls")
    assert len(parsed) == 1
    assert "shop/alpha/imports_aliased.py:3" not in {v.subject for v in result.violations}


def test_a_changed_contract_changes_the_verdict(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = {v.subject for v in check_schema_references(load_config(shop)).violations}
    assert "shop/alpha/queries.py:17" in before
    shop.write_text(shop.read_text().replace("beta: [orders]", "beta: [orders, invoices]"))
    fresh_process_caches(monkeypatch)
    after = {v.subject for v in check_schema_references(load_config(shop)).violations}
    assert "shop/alpha/queries.py:17" not in after


def test_sql_analyses_are_kept_by_text(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    check_schema_references(load_config(shop))
    fresh_process_caches(monkeypatch)
    analysed: list[str] = []
    original = sql_analysis.analyse_sql
    monkeypatch.setattr(sql_analysis, "analyse_sql", lambda text: analysed.append(text) or original(text))
    shop.write_text(shop.read_text().replace("beta: [orders]", "beta: [orders, invoices]"))
    check_schema_references(load_config(shop))
    assert analysed == []  # the contract changed, the SQL did not: no statement parsed again


def test_a_damaged_cache_is_ignored(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = scan_cache.cache_folder(shop.parent)
    assert folder is not None
    folder.mkdir(parents=True)
    (folder / scan_cache.CACHE_FILE).write_text("{not json")
    result = run_one(CheckContext(load_config(shop)), "no-cross-service-calls")
    assert result.violations


def test_the_cache_can_be_switched_off(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(scan_cache.CACHE_ENV, "off")
    assert scan_cache.cache_folder(shop.parent) is None
    run_one(CheckContext(load_config(shop)), "no-cross-service-calls")
    assert not (shop.parent / ".fitgate-cache").exists()
