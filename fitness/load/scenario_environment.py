"""The environment fitgate gives the locust process: the contract with any team's locustfile.

- ``FITGATE_<NAME>_URL``: the base URL of service ``<name>``;
- ``FITGATE_ADMIN_TOKEN``: the platform admin token, when fitgate started the services;
- ``FITGATE_LOAD_DATABASE_URL``: a superuser URL of the database fitgate installed
  (local runs only), e.g. to mint access tokens from the installed signing key.

A user class says which service it loads with a class attribute ``service = "<name>"``.
"""

from __future__ import annotations

ADMIN_TOKEN_VARIABLE = "FITGATE_ADMIN_TOKEN"
LOAD_DATABASE_VARIABLE = "FITGATE_LOAD_DATABASE_URL"
SERVICE_ATTRIBUTE = "service"


def service_url_variable(name: str) -> str:
    """The variable telling load scenarios where a service is: ``FITGATE_<NAME>_URL``."""
    return f"FITGATE_{name.upper().replace('-', '_')}_URL"
