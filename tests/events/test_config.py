"""The events section of the contract file: mapping, deletions, validation depth."""

from __future__ import annotations

from pathlib import Path

import pytest

from fitness.config import StateMapping, load_config
from fitness.errors import ConfigError
from tests.events import pki


def load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "quality-attributes.yaml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def test_the_fixture_contract_loads_with_its_mapping(tmp_path: Path) -> None:
    config = pki.write_config(tmp_path)
    assert config.events.mapping_for("pki.certificates") == StateMapping(
        exclude=("private_key_ref",), rename={"serial": "serial_number"}
    )
    assert config.events.mapping_for("pki.devices") == StateMapping()
    assert config.events.deletions == ("DeviceDecommissioned",)
    assert config.events.validate_latest == 100


@pytest.mark.parametrize(
    ("replace", "by", "error"),
    [
        (
            "pki.certificates:\n      exclude",
            "pki.keys:\n      exclude",
            "{path}:12: events.state.pki.keys: not an aggregate table in events.aggregates",
        ),
        (
            "rename: {serial: serial_number}",
            "rename: {version: v}",
            "{path}:14: events.state.pki.certificates.rename.version: version is bookkeeping, never part "
            "of the state",
        ),
        (
            "rename: {serial: serial_number}",
            "rename: {private_key_ref: key}",
            "{path}:14: events.state.pki.certificates.rename.private_key_ref: it is also in exclude",
        ),
        (
            "rename: {serial: serial_number}",
            "rename: {serial: s, status: s}",
            "{path}:14: events.state.pki.certificates.rename.status: serial is already renamed to s",
        ),
        (
            "exclude: [private_key_ref]",
            "exclude: [private_key_ref]\n      hide: [status]",
            "{path}:14: events.state.pki.certificates.hide: unknown key",
        ),
        (
            "pki.certificates: Certificate",
            "pki.certificates: Device",
            "{path}:10: events.aggregates.pki.certificates: kind Device is already the kind of pki.devices",
        ),
        (
            "[DeviceDecommissioned]",
            "[device_decommissioned]",
            "{path}:15: events.deletions[0]: 'device_decommissioned' is not an event name in PascalCase "
            "such as RoleRevoked",
        ),
        (
            "deletions: [DeviceDecommissioned]",
            "deletions: [DeviceDecommissioned]\n  validate_latest: 0",
            "{path}:16: events.validate_latest: must be at least 1",
        ),
    ],
)
def test_mistakes_in_the_events_section_are_located(
    tmp_path: Path, replace: str, by: str, error: str
) -> None:
    assert replace in pki.CONFIG
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, pki.CONFIG.replace(replace, by))
    assert str(raised.value) == error.format(path=tmp_path / "quality-attributes.yaml")
