"""The embedded server starts, serves, and leaves nothing behind however fitgate ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from fitness.database import embedded
from fitness.database.embedded import embedded_server
from fitness.errors import DatabaseUnavailable

SERVE_UNTIL_SIGNALLED = """
import signal, sys
from fitness.database.embedded import embedded_server
with embedded_server() as server:
    print(server.folder, server.process.pid, flush=True)
    signal.pause()
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is not a server: it has exited and waits to be reaped by its parent
    status = Path(f"/proc/{pid}/status")
    return not status.exists() or "State:\tZ" not in status.read_text()


def test_it_serves_queries_and_cleans_up_on_normal_exit() -> None:
    with embedded_server() as server:
        with psycopg.connect(server.url("postgres")) as conn:
            assert conn.execute("SELECT 40 + 2").fetchone() == (42,)
        folder, pid = server.folder, server.process.pid
        assert server.label.startswith("embedded PostgreSQL 1")
    assert not folder.exists()
    assert not alive(pid)


def test_it_cleans_up_when_the_block_raises() -> None:
    with pytest.raises(RuntimeError), embedded_server() as server:
        folder, pid = server.folder, server.process.pid
        raise RuntimeError("boom")
    assert not folder.exists()
    assert not alive(pid)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_it_cleans_up_when_fitgate_is_interrupted(signum: int) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", SERVE_UNTIL_SIGNALLED],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    folder_text, pid_text = child.stdout.readline().split()
    folder, pid = Path(folder_text), int(pid_text)
    assert folder.exists() and alive(pid)
    child.send_signal(signum)
    child.wait(timeout=30)
    assert not folder.exists()
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid)


def test_a_server_that_cannot_start_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(embedded._SERVER_SETTINGS, "shared_buffers", "plenty")
    made: list[str] = []
    real_mkdtemp = tempfile.mkdtemp

    def recording_mkdtemp(*args: Any, **kwargs: Any) -> str:
        made.append(real_mkdtemp(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(embedded.tempfile, "mkdtemp", recording_mkdtemp)
    with pytest.raises(DatabaseUnavailable) as caught:
        embedded.start_embedded_server()
    message = str(caught.value)
    assert message.startswith("embedded PostgreSQL did not start:")
    assert "shared_buffers" in message
    assert "\n" not in message
    assert made and not any(Path(folder).exists() for folder in made)
