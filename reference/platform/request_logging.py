"""Structured JSON logs, one object per line, and a request id on every request.

``X-Request-ID`` is echoed when the caller sends a sensible one (up to 128
characters of letters, digits and ``-_.:``) and generated otherwise; it is
returned on every response, put in every log line written while the request
runs, and recorded in the ``payload`` of the events the request writes.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
import traceback
import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "X-Request-ID"
_ACCEPTED_ID = re.compile(r"^[A-Za-z0-9\-_.:]{1,128}$")
_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_access = logging.getLogger("fitgate.request")


def current_request_id() -> str | None:
    """The id of the request being handled in this context, if any."""
    return _request_id.get()


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "service", "logger", "message", "request_id", ...fields}`` on one line."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = current_request_id()
        if request_id is not None:
            entry["request_id"] = request_id
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return json.dumps(entry, default=str)


def configure_logging(service: str, level: str) -> None:
    """Send every logger (uvicorn's included) to stdout as JSON lines at ``level``."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        named = logging.getLogger(name)
        named.handlers[:] = []
        named.propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # RequestLogMiddleware logs each request


class RequestLogMiddleware:
    """Assigns the request id, logs one line per request, and turns a crash into a JSON 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id_from(scope)
        token = _request_id.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.lower().encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            _access.exception("unhandled error", extra={"fields": _request_fields(scope, 500, started)})
            if not response_started:
                await _send_internal_error(send_with_id, request_id)
            return
        finally:
            _request_id.reset(token)
        _access.info("request", extra={"fields": _request_fields(scope, status, started)})


def _request_id_from(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate = bytes(value).decode("latin-1")
            if _ACCEPTED_ID.match(candidate):
                return candidate
    return uuid.uuid4().hex


def _request_fields(scope: Scope, status: int, started: float) -> dict[str, Any]:
    state = scope.get("state", {})
    route = scope.get("route")
    fields: dict[str, Any] = {
        "method": scope.get("method"),
        "path": scope.get("path"),
        "route": getattr(route, "path", None),
        "status": status,
        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        "request_id": state.get("request_id"),
    }
    if state.get("tenant_id") is not None:
        fields["tenant_id"] = str(state["tenant_id"])
    return fields


async def _send_internal_error(send: Send, request_id: str) -> None:
    body = json.dumps({"error": "internal", "message": "internal error", "request_id": request_id}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
