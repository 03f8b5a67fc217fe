"""Helpers for runtime guard tests: service processes on free ports, a stand-in external server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

FIXTURES = Path(__file__).parent / "fixtures"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def write_config(folder: Path, ports: dict[str, int], extra: str = "") -> Path:
    """A contract for the guarded fixture services listening on ``ports``."""
    lines = [
        "version: 1",
        f"code_root: {FIXTURES}",
        "services:",
    ]
    for name, port in ports.items():
        lines.append(
            f"  {name}: {{schema: {name}, role: {name}_service, package: guarded.{name}, "
            f"app: 'guarded.{name}.app:app', url: 'http://127.0.0.1:{port}'}}"
        )
    path = folder / "quality-attributes.yaml"
    path.write_text("\n".join(lines) + "\n" + extra)
    return path


def read_log(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class Service:
    """A service process started by the launcher; stopped (by its pid) when done."""

    def __init__(self, config: Path, name: str, port: int, env: dict[str, str], logs: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.output = logs / f"{name}-{port}.out"
        with self.output.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "fitness.runtime.launcher",
                    "--config",
                    str(config),
                    "--service",
                    name,
                    "--port",
                    str(port),
                ],
                env={**os.environ, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self._wait_until_up()

    def _wait_until_up(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.url} exited: {self.output.read_text()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.url} did not come up: {self.output.read_text()}")

    def get(self, path: str) -> dict[str, object]:
        answer = httpx.get(f"{self.url}{path}", timeout=15)
        answer.raise_for_status()
        body: dict[str, object] = answer.json()
        return body

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class ExternalServer:
    """A TCP listener that is no service: the guard must leave connections to it alone."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            with connection:
                connection.sendall(b"hello")

    def close(self) -> None:
        self.listener.close()
