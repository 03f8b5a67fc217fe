"""A load that cannot be made ends in exit code 2 and one line saying why; nothing is written."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from fitness.cli import main
from tests.load.conftest import ConfigWriter


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def error_line(code: int, out: str, err: str) -> str:
    assert code == 2, err
    assert out == ""
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("fitgate: error: ")]
    assert len(lines) == 1, err
    return lines[0]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--users", "0"], "argument --users: 0 must be at least 1"),
        (["--users", "many"], "argument --users: 'many' is not an integer"),
        (["--duration", "0"], "argument --duration: 0 must be more than 0"),
        (["--spawn-rate", "-2"], "argument --spawn-rate: -2 must be more than 0"),
        (["--warmup", "-1"], "argument --warmup: -1 must be at least 0"),
        (["--workers", "-1"], "argument --workers: -1 must be at least 0"),
        (["--format", "sarif"], "argument --format: invalid choice: 'sarif'"),
        (["--profile", "nightly"], "--profile nightly: no such profile in"),
        (["--host", "ftp://example.org"], "--host ftp://example.org: not an http(s) URL"),
        (["--host", "http://example.org:port"], "--host http://example.org:port: the port is not a number"),
        (
            ["--host", "ledger=http://example.org"],
            "--host ledger=http://example.org: no service named ledger",
        ),
        (
            ["--host", "http://a.example", "--host", "http://b.example"],
            "--host http://b.example: every service already has a host",
        ),
        (
            ["--guard", "--host", "http://a.example"],
            "--guard: fitgate guards only the services it starts; for deployed ones, run them with "
            "FITGATE_GUARD=1 and FITGATE_GUARD_LOG=PATH",
        ),
    ],
)
def test_bad_arguments(
    capsys: pytest.CaptureFixture[str], write_config: ConfigWriter, argv: list[str], expected: str
) -> None:
    config = write_config()
    line = error_line(*run_cli(capsys, "load", "--config", str(config.path), *argv))
    assert expected in line


def test_an_output_that_is_a_file(
    capsys: pytest.CaptureFixture[str], write_config: ConfigWriter, tmp_path: Path
) -> None:
    config = write_config()
    taken = tmp_path / "taken"
    taken.write_text("mine")
    argv = ["--host", f"http://127.0.0.1:{closed_port()}", "--output", str(taken)]
    line = error_line(*run_cli(capsys, "load", "--config", str(config.path), *argv))
    assert line.endswith(f"--output {taken}: is a file, not a folder")
    assert taken.read_text() == "mine"


def test_an_unreachable_host_is_a_run_that_cannot_be_made(
    capsys: pytest.CaptureFixture[str], write_config: ConfigWriter, tmp_path: Path
) -> None:
    config = write_config()
    port = closed_port()
    output = tmp_path / "out"
    argv = ["--host", f"http://127.0.0.1:{port}", "--duration", "1", "--output", str(output)]
    line = error_line(*run_cli(capsys, "load", "--config", str(config.path), *argv))
    # The first service checked (its user class comes first by name) is named.
    assert f"load generator: auth at http://127.0.0.1:{port}: no answer (Connection refused)" in line
    assert not output.exists()


def test_a_missing_locustfile_names_the_config_line(
    capsys: pytest.CaptureFixture[str], write_config: ConfigWriter
) -> None:
    def elsewhere(data: dict[str, Any]) -> None:
        data["load"]["locustfile"] = "no/such/locustfile.py"

    config = write_config(elsewhere)
    line = error_line(*run_cli(capsys, "load", "--config", str(config.path), "--host", "http://127.0.0.1:9"))
    where = config.document.line_of(("load", "locustfile"))
    assert f"{config.path}:{where}: load.locustfile: no such file: " in line


def test_a_locustfile_without_a_class_for_the_services(
    capsys: pytest.CaptureFixture[str], write_config: ConfigWriter, tmp_path: Path
) -> None:
    locustfile = tmp_path / "other_locustfile.py"
    locustfile.write_text(
        "from locust import HttpUser, task\n\n\n"
        "class Anonymous(HttpUser):\n"
        "    @task\n"
        "    def home(self):\n"
        "        self.client.get('/')\n"
    )

    def other(data: dict[str, Any]) -> None:
        data["load"]["locustfile"] = str(locustfile)

    config = write_config(other)
    line = error_line(*run_cli(capsys, "load", "--config", str(config.path), "--host", "http://127.0.0.1:9"))
    assert "load generator: no user class for auth, device, directory, license in the locustfile" in line
    assert "(found: Anonymous); a class declares service = '<name>'" in line
