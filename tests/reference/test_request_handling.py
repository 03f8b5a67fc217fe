"""The app factory's request handling on an app of its own (no database needed for these paths)."""

from __future__ import annotations

import asyncio
import json
import logging

import httpx
import pytest

from reference.platform.request_logging import JsonFormatter, RequestLogMiddleware, current_request_id


async def crashing_app(scope: dict[str, object], receive: object, send: object) -> None:
    raise RuntimeError("boom")


def test_a_crash_is_a_json_500_with_the_request_id(caplog: pytest.LogCaptureFixture) -> None:
    app = RequestLogMiddleware(crashing_app)  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/x", headers={"X-Request-ID": "crash-1"})

    with caplog.at_level(logging.INFO, logger="fitgate.request"):
        response = asyncio.run(call())
    assert response.status_code == 500
    assert response.json() == {"error": "internal", "message": "internal error", "request_id": "crash-1"}
    assert response.headers["x-request-id"] == "crash-1"
    record = next(r for r in caplog.records if r.message == "unhandled error")
    line = json.loads(JsonFormatter("test").format(record))
    assert (
        line["status"] == 500
        and line["request_id"] == "crash-1"
        and "RuntimeError: boom" in line["exception"]
    )


def test_log_lines_are_single_json_objects() -> None:
    record = logging.LogRecord("fitgate.request", logging.INFO, __file__, 1, "request", None, None)
    record.fields = {"method": "GET", "status": 200}
    line = JsonFormatter("directory").format(record)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["service"] == "directory" and parsed["status"] == 200 and parsed["level"] == "info"
    assert current_request_id() is None
