"""``/readyz`` refuses what would make row-level security moot or the service useless."""

from __future__ import annotations

from pathlib import Path

import pytest

from fitness.config import Config
from fitness.serving import ServiceStartError, running_services


def test_a_service_connected_as_a_superuser_is_never_ready(
    fitgate_config: Config, platform_database: str, tmp_path: Path
) -> None:
    with (
        pytest.raises(
            ServiceStartError, match="connected as postgres, not as the service role directory_service"
        ),
        running_services(
            fitgate_config,
            ["directory"],
            platform_database,
            admin_token="t",
            log_dir=tmp_path,
            environment={"FITGATE_DIRECTORY_DATABASE_URL": platform_database},
            ready_timeout_s=3,
        ),
    ):
        pass


def test_a_service_without_its_database_is_alive_but_not_ready(
    fitgate_config: Config, tmp_path: Path
) -> None:
    nowhere = f"postgresql://directory_service@/platform?host={tmp_path}"
    with (
        pytest.raises(ServiceStartError, match=r"answered 503: .*the database is not reachable"),
        running_services(
            fitgate_config,
            ["directory"],
            nowhere,
            admin_token="t",
            log_dir=tmp_path,
            environment={"FITGATE_POOL_TIMEOUT_SECONDS": "0.3"},
            ready_timeout_s=3,
        ),
    ):
        pass
