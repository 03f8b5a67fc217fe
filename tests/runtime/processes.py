"""Helpers for runtime guard tests: service processes on free ports, a stand-in external server."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from pathlib import Path

import httpx

from fitness.config import load_config
from fitness.serving import running_services

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
    """A fixture service started the way ``fitgate serve`` starts services; stopped when done."""

    def __init__(self, config: Path, name: str, port: int, env: dict[str, str], logs: Path) -> None:
        self._stack = contextlib.ExitStack()
        self.output = logs / f"{name}.log"
        started = self._stack.enter_context(
            running_services(
                load_config(config),
                [name],
                env.get("FIXTURE_DATABASE_URL", "postgresql://fixture@/unused"),
                admin_token="fixture",
                ports={name: port},
                log_dir=logs,
                environment=env,
            )
        )
        self.url = started[name].url
        self.process = started[name].process

    def get(self, path: str) -> dict[str, object]:
        answer = httpx.get(f"{self.url}{path}", timeout=15)
        answer.raise_for_status()
        body: dict[str, object] = answer.json()
        return body

    def stop(self) -> None:
        self._stack.close()


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
