"""Runtime guard tests: real processes on free ports, a guard log per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.runtime.processes import ExternalServer


@pytest.fixture
def external_server() -> Iterator[ExternalServer]:
    server = ExternalServer()
    yield server
    server.close()
