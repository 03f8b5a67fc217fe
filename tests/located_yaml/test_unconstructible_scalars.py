"""Scalars PyYAML resolves but cannot build (impossible dates) are located errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from fitness.config import load_config
from fitness.errors import ConfigError
from fitness.located_yaml import load_yaml


def test_impossible_date_value_names_line_and_key() -> None:
    with pytest.raises(ConfigError) as caught:
        load_yaml("a: 1\nwhen:\n  since: 2024-13-01\n", "x.yaml")
    assert str(caught.value) == ("x.yaml:3: when.since: '2024-13-01' cannot be read: month must be in 1..12")


def test_impossible_date_key_names_its_line() -> None:
    with pytest.raises(ConfigError) as caught:
        load_yaml("a: 1\n2024-02-30: x\n", "x.yaml")
    assert caught.value.line == 2
    assert "'2024-02-30' cannot be read: day is out of range for month" in str(caught.value)


def test_contract_file_with_impossible_date_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "quality-attributes.yaml"
    config.write_text("version: 1\nsystem: 2024-13-01\nservices: {}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert caught.value.line == 2
    assert caught.value.key == "system"
