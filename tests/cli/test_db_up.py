"""``fitgate db up``: prints a URL that works, stops and cleans up on Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest

from tests.cli.test_check_database import with_installer


def start(*argv: str, cwd: Path | None = None) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "fitness", "db", "up", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("FITGATE_DATABASE_URL="):
            return process, line.strip().split("=", 1)[1]
    process.wait(timeout=10)
    raise AssertionError(f"no URL printed; stderr: {process.stderr.read() if process.stderr else ''}")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_db_up_serves_until_stopped_then_leaves_nothing(signum: int) -> None:
    process, url = start()
    folder = Path(parse_qs(urlsplit(url).query)["host"][0])
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    process.send_signal(signum)
    process.wait(timeout=30)
    assert process.returncode in (0, 128 + signum)
    assert not folder.exists()


def test_db_up_install_runs_the_installer(project: Callable[..., Path]) -> None:
    config = with_installer(project)
    process, url = start("--install", "--config", str(config), cwd=config.parent)
    try:
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM directory.marker").fetchone() == (0,)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    assert process.returncode == 0
