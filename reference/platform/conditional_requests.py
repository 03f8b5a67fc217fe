"""Optimistic concurrency over HTTP: an aggregate's version as ``ETag``, ``If-Match`` on changes.

Every response carrying one aggregate sets ``ETag: "<version>"``; a change may send
that value back as ``If-Match``, and a stale one ends in 409 (the aggregate's
``version_conflict``). Without ``If-Match`` (or with ``*``) the change applies to
whatever version the transaction reads.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header, Response

from reference.platform.errors import InvalidInput

IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description="the version (ETag) the change is based on; 409 if stale"),
]


def expected_version(if_match: str | None) -> int | None:
    """The version in ``If-Match`` (``"3"``, ``W/"3"`` or ``3``); None for no header or ``*``."""
    if if_match is None or if_match.strip() == "*":
        return None
    raw = if_match.strip().removeprefix("W/").strip('"')
    if not raw.isdigit() or int(raw) < 1:
        raise InvalidInput("If-Match", f'{if_match!r} is not a version such as "3"')
    return int(raw)


def with_etag(response: Response, state: dict[str, Any]) -> dict[str, Any]:
    """``state`` (an aggregate with a ``version``), after setting the response's ``ETag`` to it."""
    response.headers["ETag"] = f'"{state["version"]}"'
    return state
