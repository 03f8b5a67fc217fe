"""Request parameters every service reads the same way: versions (``If-Match``/``ETag``) and times.

A write answers with the aggregate's version as ``ETag`` (``"3"``); a change may
send it back as ``If-Match`` so that a stale version ends in 409 instead of
overwriting someone else's change. A point-in-time read (``?at=...``) needs a
time with its zone: a naive time would mean a different instant on every server.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import Header, Query, Response

from reference.platform.errors import InvalidInput

IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description="the version (ETag) the change is based on; 409 if stale"),
]
PageSize = Annotated[int, Query(ge=1, le=500, description="at most this many items")]
# An entity tag (RFC 9110 8.8.3), weak or strong, holding a version; bare digits are accepted too.
_VERSION_TAG = re.compile(r'^(?:(?:W/)?"([0-9]+)"|([0-9]+))$')


def with_etag(response: Response, state: dict[str, Any]) -> dict[str, Any]:
    """``state`` unchanged, with its ``version`` set as the response's ``ETag``."""
    response.headers["ETag"] = f'"{state["version"]}"'
    return state


def expected_version(if_match: str | None) -> int | None:
    """The version in ``If-Match`` (``"3"``, ``W/"3"`` or ``3``); None for no header or ``*``."""
    if if_match is None or if_match.strip() == "*":
        return None
    match = _VERSION_TAG.match(if_match.strip())
    digits = match and (match.group(1) or match.group(2))
    if not digits or int(digits) < 1:
        raise InvalidInput("If-Match", f'{if_match!r} is not a version such as "3"')
    return int(digits)


def aware_time(moment: datetime, field: str = "at") -> datetime:
    """``moment`` if it names its time zone; otherwise :class:`InvalidInput` naming ``field``."""
    if moment.tzinfo is None:
        raise InvalidInput(field, "needs a time zone, e.g. 2025-01-31T12:00:00Z")
    return moment
