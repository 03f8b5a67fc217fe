"""The request parameters every service shares: If-Match versions, ETags and point-in-time ``at``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi import Response

from reference.platform.errors import InvalidInput
from reference.platform.request_parameters import aware_time, expected_version, with_etag


@pytest.mark.parametrize(
    ("header", "version"),
    [(None, None), ("*", None), (" * ", None), ('"3"', 3), ('W/"3"', 3), ("3", 3), ('"12"', 12)],
)
def test_if_match_versions(header: str | None, version: int | None) -> None:
    assert expected_version(header) == version


@pytest.mark.parametrize("header", ['"0"', '"-1"', "soon", '"3', "", 'W/"x"', "W/3"])
def test_a_bad_if_match_is_invalid_input_naming_the_header(header: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        expected_version(header)
    assert raised.value.field == "If-Match"


def test_the_etag_is_the_version() -> None:
    response = Response()
    state = {"id": "x", "version": 4}
    assert with_etag(response, state) is state
    assert response.headers["ETag"] == '"4"'


def test_a_time_needs_its_zone() -> None:
    aware = datetime(2025, 1, 31, 12, tzinfo=UTC)
    assert aware_time(aware) is aware
    with pytest.raises(InvalidInput) as raised:
        aware_time(datetime(2025, 1, 31, 12), "valid_at")
    assert raised.value.field == "valid_at" and "time zone" in raised.value.message
