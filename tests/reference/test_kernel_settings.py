"""Settings from the environment; service URLs derived from the superuser URL."""

from __future__ import annotations

import pytest

from reference.platform.errors import SettingsError
from reference.platform.settings import Settings, url_for_role, url_user

URL = "postgresql://postgres@db/platform"


def test_explicit_service_url_wins() -> None:
    settings = Settings.from_environment(
        "directory",
        "directory_service",
        {
            "FITGATE_DIRECTORY_DATABASE_URL": "postgresql://directory_service:pw@db/platform",
            "FITGATE_DATABASE_URL": "postgresql://postgres@db/platform",
            "FITGATE_DIRECTORY_POOL_MAX_SIZE": "20",
            "FITGATE_ADMIN_TOKEN": "secret",
            "FITGATE_LOG_LEVEL": "debug",
        },
    )
    assert settings.database_url == "postgresql://directory_service:pw@db/platform"
    assert (settings.pool_min_size, settings.pool_max_size) == (1, 20)
    assert (settings.admin_token, settings.log_level) == ("secret", "DEBUG")


def test_the_superuser_url_is_used_with_the_service_role_and_no_password() -> None:
    settings = Settings.from_environment(
        "directory",
        "directory_service",
        {"FITGATE_DATABASE_URL": "postgresql://postgres:su@db:5433/p?sslmode=require"},
    )
    assert settings.database_url == "postgresql://directory_service@db:5433/p?sslmode=require"
    assert settings.admin_token is None
    socket = url_for_role("postgresql://postgres@/p?host=/tmp/x", "auth_service")
    assert socket == "postgresql://auth_service@/p?host=/tmp/x"
    assert (
        url_user(url_for_role("host=/tmp/x dbname=p user=postgres password=su", "auth_service"))
        == "auth_service"
    )
    assert "password" not in url_for_role("host=/tmp/x dbname=p user=postgres password=su", "auth_service")


@pytest.mark.parametrize(
    ("environment", "variable"),
    [
        ({}, "FITGATE_DIRECTORY_DATABASE_URL"),
        ({"FITGATE_DATABASE_URL": "not a url"}, "FITGATE_DATABASE_URL"),
        (
            {"FITGATE_DATABASE_URL": URL, "FITGATE_DIRECTORY_POOL_MAX_SIZE": "many"},
            "FITGATE_DIRECTORY_POOL_MAX_SIZE",
        ),
        (
            {"FITGATE_DATABASE_URL": URL, "FITGATE_DIRECTORY_POOL_MAX_SIZE": "0"},
            "FITGATE_DIRECTORY_POOL_MAX_SIZE",
        ),
        (
            {
                "FITGATE_DATABASE_URL": URL,
                "FITGATE_DIRECTORY_POOL_MIN_SIZE": "5",
                "FITGATE_DIRECTORY_POOL_MAX_SIZE": "2",
            },
            "FITGATE_DIRECTORY_POOL_MIN_SIZE",
        ),
        ({"FITGATE_DATABASE_URL": URL, "FITGATE_LOG_LEVEL": "loud"}, "FITGATE_LOG_LEVEL"),
        (
            {"FITGATE_DATABASE_URL": URL, "FITGATE_PUBLIC_KEY_CACHE_SECONDS": "-1"},
            "FITGATE_PUBLIC_KEY_CACHE_SECONDS",
        ),
    ],
)
def test_bad_settings_name_the_variable(environment: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_environment("directory", "directory_service", environment)
    assert caught.value.variable == variable
    assert str(caught.value).startswith(variable)
