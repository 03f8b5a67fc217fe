"""TEST ONLY: the license app wrapped to call the directory over HTTP, for the runtime guard to catch.

A test config names it in place of ``reference.license.app:app``
(``services.license.app: tests.runtime.broken_license:app``); production never
does. Before listing a user's seats it asks the directory's API whether the
user exists (the shortcut ADR-0001 forbids: license reads ``directory.users``,
which the directory publishes), at ``BROKEN_LICENSE_DIRECTORY_URL``.
"""

from __future__ import annotations

import os
from typing import Any

import httpx

from reference.license.app import app as license_app

DIRECTORY_URL_VARIABLE = "BROKEN_LICENSE_DIRECTORY_URL"
USER_SEATS = ("", "v1", "users", "{user_id}", "seats")


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    parts = scope.get("path", "").split("/") if scope["type"] == "http" else []
    if len(parts) == len(USER_SEATS) and parts[1:3] == ["v1", "users"] and parts[4] == "seats":
        headers = {name.decode(): value.decode() for name, value in scope["headers"]}
        forwarded = {key: headers[key] for key in ("authorization", "x-tenant-id") if key in headers}
        async with httpx.AsyncClient(base_url=os.environ[DIRECTORY_URL_VARIABLE]) as directory:
            await directory.get(f"/v1/users/{parts[3]}", headers=forwarded)  # the call the guard sees
    await license_app(scope, receive, send)
