"""``running_services``: real processes, started, made ready, and always stopped."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from fitness.config import Config
from fitness.serving import RunningService, ServiceStartError, running_services

DATABASE = "postgresql://postgres:superpw@/platform?host=/tmp/somewhere"


def gone(service: RunningService) -> bool:
    return service.process.poll() is not None


def processes_serving(config: Config) -> list[int]:
    """Processes (anyone's) running a worker for this project's code root."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            arguments = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"fitness.serving.worker" in arguments and str(config.code_root).encode() in arguments:
            found.append(int(cmdline.parent.name))
    return found


def test_starts_services_as_processes_with_their_own_database_role(
    toy_project: Config, tmp_path: Path
) -> None:
    with running_services(
        toy_project, ["echo", "other"], DATABASE, admin_token="t0ken", ports={"echo": 0}, log_dir=tmp_path
    ) as services:
        echo, other = services["echo"], services["other"]
        assert echo.url != other.url and echo.pid != other.pid
        environment = httpx.get(echo.url + "/anything").json()
        assert httpx.get(other.url + "/readyz").json() == {"ready": True}
    assert environment["FITGATE_ECHO_DATABASE_URL"] == "postgresql://echo_role@/platform?host=/tmp/somewhere"
    assert environment["FITGATE_ADMIN_TOKEN"] == "t0ken"
    assert "FITGATE_DATABASE_URL" not in environment
    assert gone(echo) and gone(other)


def test_an_app_that_cannot_load_is_reported_with_its_reason(toy_project: Config, tmp_path: Path) -> None:
    with (
        pytest.raises(ServiceStartError, match=r"broken exited with code 2 .*a_module_nobody_installed"),
        running_services(toy_project, ["broken"], DATABASE, admin_token="t", log_dir=tmp_path),
    ):
        pass


def test_a_service_that_never_gets_ready_is_stopped(toy_project: Config, tmp_path: Path) -> None:
    with (
        pytest.raises(ServiceStartError, match=r"stuck did not become ready in 1 s .*answered 503"),
        running_services(
            toy_project, ["echo", "stuck"], DATABASE, admin_token="t", log_dir=tmp_path, ready_timeout_s=1
        ),
    ):
        pass
    assert processes_serving(toy_project) == []


def test_a_taken_port_is_reported(toy_project: Config) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with (
            pytest.raises(ServiceStartError, match=f"echo: cannot listen on 127.0.0.1:{port}"),
            running_services(toy_project, ["echo"], DATABASE, admin_token="t", ports={"echo": port}),
        ):
            pass


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("nosuch", "no service named nosuch"),
        ("unwritten", "module toyapps.not_yet .* does not exist yet"),
        ("appless", r"no app declared \(services.appless.app\)"),
    ],
)
def test_services_that_cannot_be_served(toy_project: Config, name: str, problem: str) -> None:
    with (
        pytest.raises(ServiceStartError, match=problem),
        running_services(toy_project, [name], DATABASE, admin_token="t"),
    ):
        pass
