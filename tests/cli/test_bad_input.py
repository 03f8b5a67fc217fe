"""Bad input ends in exit code 2 and one line naming what is wrong; nothing is written."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from fitness.cli import main
from tests.cli.conftest import CONFIG


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, out: str, err: str, expected: str) -> None:
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("fitgate: error: ")
    assert expected in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            CONFIG.replace("version: 1", "version: [1"),
            "quality-attributes.yaml:2: invalid YAML: expected ',' or ']'",
        ),
        (
            CONFIG.replace("role: directory_service", "role: 5"),
            "quality-attributes.yaml:6: services.directory.role: must be a string, not a number",
        ),
        (
            CONFIG.replace("role: directory_service", "role: r, rol: x"),
            "quality-attributes.yaml:6: services.directory.rol: unknown key",
        ),
        (
            CONFIG.replace(", role: directory_service", ""),
            "quality-attributes.yaml:6: services.directory.role: required",
        ),
        (
            CONFIG.replace("adr: ADR-0001", "adr: ADR-0009"),
            "quality-attributes.yaml:8: fitness.adr-traceability.adr: ADR-0009 is not an ADR",
        ),
    ],
)
def test_a_bad_config_is_one_line(
    capsys: pytest.CaptureFixture[str], project: Callable[..., Path], config: str, expected: str
) -> None:
    path = project(config)
    report = path.parent / "report.json"
    code, out, err = run_cli(capsys, "check", "--config", str(path), "--output", str(report))
    assert_one_line_error(code, out, err, expected)
    assert not report.exists()


def test_a_missing_config_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    code, out, err = run_cli(capsys, "check", "--config", str(missing))
    assert_one_line_error(code, out, err, f"{missing}: no such file")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["check", "--only", "rls-coverag"], "--only: unknown fitness id 'rls-coverag'"),
        (["check", "--only", ","], "--only: no fitness id given"),
        (["check", "--format", "xml"], "argument --format: invalid choice: 'xml'"),
        (["check", "--frmat", "json"], "unrecognized arguments: --frmat json"),
        (["chek"], "invalid choice: 'chek'"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_bad_arguments_are_one_line(
    capsys: pytest.CaptureFixture[str], project: Callable[..., Path], argv: list[str], expected: str
) -> None:
    path = project()
    if argv and argv[0] == "check":
        argv = [*argv, "--config", str(path)]
    code, out, err = run_cli(capsys, *argv)
    assert_one_line_error(code, out, err, expected)


def test_an_unreachable_database_url_names_the_host(
    capsys: pytest.CaptureFixture[str], project: Callable[..., Path]
) -> None:
    path = project()
    from fitness.cli.check import database_for
    from fitness.config import load_config
    from fitness.errors import DatabaseUnavailable

    with (
        pytest.raises(DatabaseUnavailable) as caught,
        database_for(load_config(path), "postgresql://nobody:secret@127.0.0.1:1/platform", needed=True),
    ):
        pass
    message = str(caught.value)
    assert message.startswith("cannot connect to the database at 127.0.0.1:1/platform: ")
    assert "secret" not in message and "\n" not in message


def test_a_bad_baseline_is_one_line(capsys: pytest.CaptureFixture[str], project: Callable[..., Path]) -> None:
    path = project()
    baseline = path.parent / "baseline.json"
    baseline.write_text('{"results": [{"fitness": "x"}]}')
    code, out, err = run_cli(capsys, "check", "--config", str(path), "--baseline", str(baseline))
    assert_one_line_error(code, out, err, "not a fitgate JSON report")
    baseline.write_text("{oops")
    code, out, err = run_cli(capsys, "check", "--config", str(path), "--baseline", str(baseline))
    assert_one_line_error(code, out, err, f"--baseline {baseline}:1: not JSON")


def test_an_output_folder_that_does_not_exist_is_one_line(
    capsys: pytest.CaptureFixture[str], project: Callable[..., Path]
) -> None:
    path = project()
    target = path.parent / "missing" / "report.json"
    code, out, err = run_cli(capsys, "check", "--config", str(path), "--output", str(target))
    assert_one_line_error(code, out, err, "folder")
    assert not target.parent.exists()


def test_the_installed_command_prints_no_traceback(project: Callable[..., Path]) -> None:
    path = project(CONFIG.replace("role: directory_service", "role: 5"))
    done = subprocess.run(
        [sys.executable, "-m", "fitness", "check", "--config", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and "services.directory.role" in done.stderr
