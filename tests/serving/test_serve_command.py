"""``fitgate serve``: end to end, as a user runs it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import psycopg
import pytest

from fitness.config import load_config
from fitness.serving import app_available

REPO = Path(__file__).resolve().parents[2]
TENANT_A = "a0000000-0000-4000-8000-00000000000a"


def serve(*argv: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "fitness", "serve", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )


def announced(process: subprocess.Popen[str]) -> dict[str, str]:
    """What serve printed up to 'press Ctrl-C': the database line, services left out (and why),
    each service's url and pid, the token."""
    assert process.stdout is not None
    seen: dict[str, str] = {}
    for line in process.stdout:
        if line.startswith("database: "):
            seen["database"] = line.strip()
        elif match := re.match(r"^(\w+): not served: (.*)$", line):
            seen[f"{match.group(1)}.left_out"] = match.group(2)
        elif match := re.match(r"^(\w+)\s+(http://\S+)\s+\(pid (\d+)", line):
            seen[f"{match.group(1)}.url"], seen[f"{match.group(1)}.pid"] = match.group(2), match.group(3)
        elif line.startswith("admin token"):
            seen["token"] = line.rsplit(" ", 1)[1].strip()
        elif line.startswith("press Ctrl-C"):
            return seen
    process.wait(timeout=30)
    raise AssertionError(f"serve ended early: {process.stderr.read() if process.stderr else ''}")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_serve_directory_then_stop_leaving_nothing(signum: int) -> None:
    process = serve("directory", "--port", "0", env={"FITGATE_ADMIN_TOKEN": "serve-test-token"})
    try:
        seen = announced(process)
        url, pid = seen["directory.url"], int(seen["directory.pid"])
        folder = Path(parse_qs(urlsplit(seen["database"].rsplit(" ", 1)[1]).query)["host"][0])
        assert seen["token"] == "serve-test-token"
        assert httpx.get(f"{url}/readyz").json()["role"] == "directory_service"
        headers = {"Authorization": "Bearer serve-test-token", "X-Tenant-ID": TENANT_A}
        users = httpx.get(f"{url}/v1/users", headers=headers).json()["items"]
        assert [u["username"] for u in users] == ["alice", "bob", "carol"]
        process.send_signal(signum)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "stopped" in out
    assert not alive(pid)
    assert not folder.exists()


@pytest.mark.slow
def test_serve_all_serves_every_app_and_says_which_are_left_out() -> None:
    config = load_config(REPO / "quality-attributes.yaml")
    without_app = {name for name, s in config.services.items() if app_available(s, config.code_root)}
    process = serve("all", env={"FITGATE_ADMIN_TOKEN": ""})
    try:
        seen = announced(process)
        left_out = {key.split(".")[0] for key in seen if key.endswith(".left_out")}
        assert left_out == without_app
        assert all("does not exist yet" in seen[f"{name}.left_out"] for name in left_out)
        served = {key.split(".")[0] for key in seen if key.endswith(".url")}
        assert served == set(config.services) - without_app and {"directory", "license"} <= served
        for name in served:
            assert httpx.get(seen[f"{name}.url"] + "/readyz").json()["role"] == config.services[name].role
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    assert process.returncode == 0


@pytest.mark.slow
def test_serve_an_installed_database_as_it_is(fitgate_installed_database: str) -> None:
    process = serve("directory", "--port", "0", "--database-url", fitgate_installed_database)
    try:
        seen = announced(process)
        assert "installed by" not in seen["database"]
        assert seen["token"]
        assert httpx.get(seen["directory.url"] + "/readyz").status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    assert process.returncode == 0
    with psycopg.connect(fitgate_installed_database) as connection:
        assert (
            connection.execute("SELECT 1 FROM pg_database WHERE datname = 'fitgate_serve'").fetchone() is None
        )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["nosuch"], "no service named nosuch"),
        (["all", "--port", "9000"], "--port is for a single service"),
        (["directory", "--port", "70000"], "--port 70000: not a port number"),
    ],
)
def test_bad_requests_exit_2_with_one_line(argv: list[str], message: str) -> None:
    process = serve(*argv)
    _out, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert err.count("\n") == 1 and message in err and err.startswith("fitgate: error: ")


def test_a_service_without_its_app_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "quality-attributes.yaml"
    config.write_text(
        "version: 1\nservices:\n  ghost: {schema: ghost, role: ghost_service, app: 'ghost.app:app'}\n"
    )
    process = serve("ghost", "--config", str(config))
    _out, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert err.count("\n") == 1 and "ghost cannot be served: module ghost.app" in err
