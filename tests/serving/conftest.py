"""A small project whose services are plain ASGI apps: fitness.serving knows nothing of the reference."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from fitness.config import Config, load_config

APPS = """
import json
import os

READY = {"ready": True}


async def _send(send, status, body):
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": data})


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["path"] == "/readyz":
        await _send(send, 200 if READY["ready"] else 503, {"ready": READY["ready"]})
    else:
        await _send(send, 200, {k: v for k, v in os.environ.items() if k.startswith("FITGATE_")})


async def never_ready(scope, receive, send):
    READY["ready"] = False
    await app(scope, receive, send)
"""

CONFIG = """\
version: 1
system: serving-test
services:
  echo: {schema: echo, role: echo_role, app: "toyapps.web:app", url: "http://127.0.0.1:8999"}
  other: {schema: other, role: other_role, app: "toyapps.web:app"}
  stuck: {schema: stuck, role: stuck_role, app: "toyapps.web:never_ready"}
  broken: {schema: broken, role: broken_role, app: "toyapps.missing_dependency:app"}
  unwritten: {schema: unwritten, role: unwritten_role, app: "toyapps.not_yet:app"}
  appless: {schema: appless, role: appless_role}
"""


@pytest.fixture
def toy_project(tmp_path: Path) -> Config:
    package = tmp_path / "toyapps"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "web.py").write_text(textwrap.dedent(APPS))
    (package / "missing_dependency.py").write_text("import a_module_nobody_installed\n")
    (tmp_path / "quality-attributes.yaml").write_text(CONFIG)
    return load_config(tmp_path / "quality-attributes.yaml")
