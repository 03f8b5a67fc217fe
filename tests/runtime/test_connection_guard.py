"""The connection guard in a real process: connections to other services are recorded or
refused, whatever library opens them; everything else passes untouched."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from fitness.serving import ServiceStartError
from tests.runtime.processes import ExternalServer, Service, free_port, read_log, write_config

SCRIPT = """
import socket, sys
from fitness.config import load_config
from fitness.runtime import install_guards
install_guards(load_config(sys.argv[1]), "alpha")
beta, other = int(sys.argv[2]), int(sys.argv[3])

def attempt(label, connect):
    try:
        connect()
        print(label, "connected")
    except ConnectionRefusedError as exc:
        print(label, "refused", type(exc).__name__)
    except OSError as exc:
        print(label, "failed", type(exc).__name__)

attempt("create_connection", lambda: socket.create_connection(("127.0.0.1", beta), timeout=2).close())
attempt("localhost", lambda: socket.create_connection(("localhost", beta), timeout=2).close())
attempt("other", lambda: socket.create_connection(("127.0.0.1", other), timeout=2).close())
def raw():
    with socket.socket() as s:
        s.settimeout(2)
        s.connect_ex(("127.0.0.1", beta))
attempt("connect_ex", raw)
"""


def run_guarded(tmp_path: Path, mode: str, other: ExternalServer) -> tuple[str, list[dict[str, object]]]:
    beta = ExternalServer()  # stands in for beta's listener
    try:
        beta_port = int(beta.address.rsplit(":", 1)[1])
        config = write_config(tmp_path, {"alpha": free_port(), "beta": beta_port})
        log = tmp_path / "guard.jsonl"
        script = tmp_path / "guarded.py"
        script.write_text(textwrap.dedent(SCRIPT))
        env = {"FITGATE_GUARD": mode, "FITGATE_GUARD_LOG": str(log), "PATH": "/usr/bin:/bin"}
        other_port = other.address.rsplit(":", 1)[1]
        done = subprocess.run(
            [sys.executable, str(script), str(config), str(beta_port), other_port],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout, read_log(log)
    finally:
        beta.close()


def test_connections_to_another_service_are_recorded(tmp_path: Path, external_server: ExternalServer) -> None:
    output, records = run_guarded(tmp_path, "1", external_server)
    assert output.splitlines() == [
        "create_connection connected",
        "localhost connected",
        "other connected",
        "connect_ex connected",
    ]
    assert records[0]["kind"] == "guard-installed"
    assert {r["kind"] for r in records[1:]} == {"cross-service-connection"}
    assert len(records) - 1 >= 3  # "localhost" may try ::1 first: one more attempt, one more record
    assert {r["target"] for r in records[1:]} == {"beta"}
    assert all(r["refused"] is False for r in records[1:])


def test_refuse_mode_stops_them(tmp_path: Path, external_server: ExternalServer) -> None:
    output, records = run_guarded(tmp_path, "refuse", external_server)
    assert output.splitlines() == [
        "create_connection refused CrossServiceConnectionRefused",
        "localhost refused CrossServiceConnectionRefused",
        "other connected",
        "connect_ex refused CrossServiceConnectionRefused",
    ]
    assert {r["refused"] for r in records if r["kind"] == "cross-service-connection"} == {True}


def test_a_bad_mode_stops_the_service_with_one_line(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"alpha": free_port()})
    with pytest.raises(ServiceStartError) as caught:
        Service(config, "alpha", free_port(), {"FITGATE_GUARD": "maybe"}, tmp_path)
    assert str(caught.value).endswith(
        "fitgate worker: FITGATE_GUARD='maybe': expected 1 (record) or refuse"
    )
