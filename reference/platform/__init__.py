"""The reference platform's shared kernel: no service logic, only what every service needs.

Modules, one concept each:

- :mod:`~reference.platform.settings`: configuration from the environment;
- :mod:`~reference.platform.errors`: the errors services raise and the HTTP status of each;
- :mod:`~reference.platform.pool`: the connection pool of a service's login role;
- :mod:`~reference.platform.tenancy`: transactions scoped to one tenant (or to global tables);
- :mod:`~reference.platform.migrations`: ordered SQL migrations applied as the schema's owner;
- :mod:`~reference.platform.event_catalogue`: the registered event names, versions and JSON Schemas;
- :mod:`~reference.platform.event_store`: writing and reading ``domain_event`` rows;
- :mod:`~reference.platform.aggregates`: aggregate rows changed together with their event;
- :mod:`~reference.platform.json_rows`: rows read as JSON, the shape events record;
- :mod:`~reference.platform.access_tokens`: signed access tokens (EdDSA JWT) and their verification;
- :mod:`~reference.platform.callers`: who is calling (tenant, actor, roles), as FastAPI dependencies;
- :mod:`~reference.platform.request_logging`: JSON logs and request ids;
- :mod:`~reference.platform.service_app`: the FastAPI app factory every service uses;
- :mod:`~reference.platform.request_parameters`: ``If-Match`` versions, ``ETag`` and point-in-time ``at``;
- :mod:`~reference.platform.api_models`: the strict request base and the event body of history endpoints;
- :mod:`~reference.platform.seeding`: the seed tenants and the seed-step contract of the installer;
- :mod:`~reference.platform.test_tokens`: minting access tokens in tests.
"""
