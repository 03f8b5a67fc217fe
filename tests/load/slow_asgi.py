"""TEST ONLY: the directory app made slow (and partly failing) on purpose, to see budgets breached.

Load tests start it in place of ``reference.directory.app:app`` through a test
config (``services.directory.app: tests.load.slow_asgi:app``); production never
names it. ``SLOW_ASGI_DELAY_MS`` delays every ``/v1`` request; requests matching
``SLOW_ASGI_FAIL`` (``METHOD /path``) answer 503.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from reference.directory.app import app as directory

DELAY_S = float(os.environ.get("SLOW_ASGI_DELAY_MS", "0")) / 1000
FAILING = os.environ.get("SLOW_ASGI_FAIL")


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http" and scope["path"].startswith("/v1/"):
        await asyncio.sleep(DELAY_S)
        if f"{scope['method']} {scope['path']}" == FAILING:
            body = json.dumps({"error": "unavailable", "message": "failing on purpose"}).encode()
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 503, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
    await directory(scope, receive, send)
