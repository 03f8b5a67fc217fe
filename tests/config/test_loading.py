"""The contract loader: valid files become typed objects, bad ones one located error."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from fitness.config import load_config
from fitness.errors import ConfigError

VALID = """\
version: 1
system: demo
quality_attributes:
  tenant_isolation: no tenant sees another's rows
  availability: auth stays up
services:
  directory:
    schema: directory
    role: directory_service
    publishes: [users, roles]
    global_tables:
      schema_migrations: bookkeeping
    priorities: [tenant_isolation]
    budgets:
      "POST /v1/users": {p95_ms: 50, p99_ms: 120, error_rate: 0.001}
  auth:
    schema: auth
    role: auth_service
    reads:
      directory: [users]
    url: http://127.0.0.1:8001
platform_roles:
  lake_exporter: {bypass_rls: true, reason: reads every tenant for export}
events:
  aggregates: {directory.users: User}
"""


def write(tmp_path: Path, text: str, name: str = "quality-attributes.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    return str(caught.value)


def test_a_valid_file_becomes_typed_objects(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, VALID))
    directory = config.services["directory"]
    assert directory.schema == "directory"
    assert directory.publishes == ("users", "roles")
    assert directory.budgets["POST /v1/users"].p99_ms == 120
    assert config.services["auth"].reads == {"directory": ("users",)}
    assert config.services["auth"].url == "http://127.0.0.1:8001"
    assert config.platform_roles["lake_exporter"].bypass_rls is True
    assert config.tenancy.column == "tenant_id"
    assert config.tenancy.setting == "app.tenant_id"
    assert config.events.table == "domain_event"
    assert config.code_root == tmp_path.resolve()


def test_only_version_schema_and_role_are_required(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "version: 1\nservices:\n  a: {schema: a, role: a_rw}\n"))
    assert config.services["a"].role == "a_rw"
    assert config.installer is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version: 1\nservices:\n  auth:\n    schema: auth\n", "q.yaml:3: services.auth.role: required"),
        (
            "version: 1\nservices:\n  auth:\n    schema: auth\n    role: r\n    roel: x\n",
            "q.yaml:6: services.auth.roel: unknown key",
        ),
        (
            "version: 1\nservices:\n  auth:\n    schema: 7\n    role: r\n",
            "q.yaml:4: services.auth.schema: must be a string, not a number",
        ),
        ("version: 2\nservices: {a: {schema: a, role: r}}\n", "q.yaml:1: version: must be 1"),
        ("services: {a: {schema: a, role: r}}\n", "q.yaml:1: version: required"),
        ("version: 1\nservices: [a]\n", "q.yaml:2: services: must be a mapping, not a list"),
        (
            "version: 1\nservices:\n  a: {schema: Bad-Name, role: r}\n",
            "q.yaml:3: services.a.schema: 'Bad-Name' is not a lower-case SQL identifier",
        ),
        (
            "version: 1\nservices:\n  a: {schema: a, role: r}\n  a: {schema: b, role: s}\n",
            "q.yaml:4: services.a: duplicate key",
        ),
        ("version: 1\nservices: {a: {schema: a, role: r}\n", "q.yaml:3: invalid YAML"),
        ("- just\n- a list\n", "q.yaml:1: must be a mapping of keys"),
        (
            "version: 1\nservices:\n  a: {schema: a, role: r, budgets: {'GET /x': {p95_ms: -1}}}\n",
            "q.yaml:3: services.a.budgets.GET /x.p95_ms: must be more than 0",
        ),
    ],
)
def test_schema_errors_name_file_line_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "q.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(expected.replace("q.yaml", str(path)))
    assert "\n" not in message


def test_reading_an_unpublished_table_is_an_error(tmp_path: Path) -> None:
    text = VALID.replace("directory: [users]", "directory: [users, secrets]")
    assert "services.auth.reads.directory[1]: directory does not publish secrets" in error_of(tmp_path, text)


def test_reading_an_unknown_service_is_an_error(tmp_path: Path) -> None:
    text = VALID.replace("      directory: [users]", "      billing: [users]")
    assert "services.auth.reads.billing: no service named billing" in error_of(tmp_path, text)


def test_priorities_must_be_declared_attributes(tmp_path: Path) -> None:
    text = VALID.replace("priorities: [tenant_isolation]", "priorities: [speed]")
    message = error_of(tmp_path, text)
    assert ":13: services.directory.priorities[0]: quality attribute speed is not declared" in message


def test_a_fitness_link_to_a_missing_adr_is_an_error(tmp_path: Path) -> None:
    text = VALID + "fitness:\n  adr-traceability: {adr: ADR-0042, attribute: availability}\n"
    message = error_of(tmp_path, text)
    assert "fitness.adr-traceability.adr: ADR-0042 is not an ADR in" in message


def test_a_fitness_link_to_an_existing_adr_loads(tmp_path: Path) -> None:
    (tmp_path / "adr").mkdir()
    (tmp_path / "adr" / "0001-x.md").write_text(
        "---\nid: ADR-0001\ntitle: X\nstatus: accepted\ndate: 2026-01-01\n"
        "attributes: [availability]\nenforced_by: [adr-traceability]\n---\n# X\n"
    )
    text = VALID + "fitness:\n  adr-traceability: {adr: ADR-0001, attribute: availability}\n"
    config = load_config(write(tmp_path, text))
    assert config.settings_for("adr-traceability").adr == "ADR-0001"
    assert [adr.id for adr in config.adrs] == ["ADR-0001"]


def test_an_unknown_fitness_id_is_an_error(tmp_path: Path) -> None:
    text = VALID + "fitness:\n  rls-coverag: {severity: error}\n"
    assert "fitness.rls-coverag: no fitness function with this id" in error_of(tmp_path, text)


def test_two_services_cannot_own_one_schema(tmp_path: Path) -> None:
    text = "version: 1\nservices:\n  a: {schema: s, role: a}\n  b: {schema: s, role: b}\n"
    assert "services.b.schema: schema s is already owned by a" in error_of(tmp_path, text)


def test_a_declared_package_must_exist_under_code_root(tmp_path: Path) -> None:
    text = "version: 1\nservices:\n  a: {schema: a, role: a, package: svc.a}\n"
    assert "services.a.package: no folder" in error_of(tmp_path, text)
    (tmp_path / "svc" / "a").mkdir(parents=True)
    assert load_config(write(tmp_path, text)).services["a"].package == "svc.a"


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (lambda p: None, "no such file"),
        (lambda p: p.mkdir(), "is a folder, not a file"),
        (lambda p: p.write_bytes(b"\xff\xfe\x00bad"), "cannot read"),
    ],
)
def test_unreadable_files_are_one_line_errors(tmp_path: Path, setup, expected: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "quality-attributes.yaml"
    setup(path)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert expected in str(caught.value)
