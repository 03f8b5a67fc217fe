"""Optimistic concurrency over HTTP: an aggregate's version as ``ETag``, the expected one in ``If-Match``.

Every write answers the aggregate after the change with ``ETag: "<version>"``;
a client that sends it back as ``If-Match`` gets 409 if someone changed the
aggregate in between (:class:`~reference.platform.errors.VersionConflict`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header, Response

from reference.platform.errors import InvalidInput

IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description="the version (ETag) the change is based on; 409 if stale"),
]


def with_etag(response: Response, state: dict[str, Any]) -> dict[str, Any]:
    """``state``, after setting the response's ``ETag`` to its version."""
    response.headers["ETag"] = f'"{state["version"]}"'
    return state


def expected_version(if_match: str | None) -> int | None:
    """The version in ``If-Match`` (``"3"``, ``W/"3"`` or ``3``); None for no header or ``*``."""
    if if_match is None or if_match.strip() == "*":
        return None
    raw = if_match.strip().removeprefix("W/").strip('"')
    if not raw.isdigit() or int(raw) < 1:
        raise InvalidInput("If-Match", f'{if_match!r} is not a version such as "3"')
    return int(raw)
