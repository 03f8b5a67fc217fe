"""Where a hot endpoint's CPU goes in the service's own process: the app's floor, the database read, the rest.

``service_throughput.py`` shows the service's single event loop busy near one
core for both ``/healthz`` and the hottest endpoint, so their throughput ratio
is the ratio of the service's own CPU per request. This benchmark splits that
CPU for each service's hottest endpoint. It installs the platform into a fresh
database (embedded PostgreSQL), loads each service's app in this process, and
calls it over ASGI directly (no HTTP client, no load generator, one request at
a time), measuring CPU time (``time.process_time``) per request for:

- ``GET /healthz`` of the same app: the floor (middleware, routing, logging);
- the hottest endpoint;
- the endpoint's database read alone (the model's read, through the pool).

What is left (endpoint - floor - read) is the framework's work for that route:
matching a deeper route, solving its dependencies (caller, runtime), validating
its parameters and its response. Each figure is the best of several rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jwt
from seed_login import login_body

from fitness.config import DEFAULT_CONFIG, load_config
from fitness.database.addresses import with_user
from fitness.load.targets import fresh_installation
from fitness.named_objects import load_named_object
from fitness.serving import service_environment_variable
from reference.auth.model import Auth
from reference.device.model import DeviceRegistry
from reference.device.seed import seed_device_id
from reference.directory.model import Directory
from reference.directory.seed import seed_user_id
from reference.license.model import Licensing
from reference.license.seed import seed_license_id
from reference.platform.pool import Pool
from reference.platform.seeding import TENANT_A
from reference.platform.test_tokens import mint_test_access_token

ADMIN_TOKEN = "request-cost-benchmark-admin-token"
Read = Callable[[Pool], Awaitable[Any]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""


@dataclass(frozen=True)
class Hottest:
    endpoint: Endpoint
    read: Read  # the endpoint's database read alone


async def call(app: Any, endpoint: Endpoint) -> tuple[int, bytes]:
    """One request to the ASGI app; its status and body."""
    path, _, query = endpoint.path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": endpoint.method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(name.lower().encode(), value.encode()) for name, value in endpoint.headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    delivered = False
    status: list[int] = []
    body: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if delivered:  # the app only asks again to notice a disconnect
            await asyncio.sleep(3600)
        delivered = True
        return {"type": "http.request", "body": endpoint.body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(int(message["status"]))
        elif message["type"] == "http.response.body":
            body.append(bytes(message.get("body", b"")))

    await app(scope, receive, send)
    return status[0], b"".join(body)


async def cpu_per_call(work: Callable[[], Awaitable[object]], calls: int, rounds: int) -> float:
    """Microseconds of this process's CPU per call, the best of ``rounds``."""
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(calls):
            await work()
        best = min(best, (time.process_time() - started) / calls * 1e6)
    return best


def hottest(database_url: str, auth_token: str | None) -> dict[str, Callable[[], Hottest]]:
    """Each service's hottest endpoint, as the throughput benchmark loads it."""
    reader = mint_test_access_token(
        database_url, tenant_id=TENANT_A.id, user_id=seed_user_id(TENANT_A, "carol"), ttl_s=3600
    )
    headers = {"Authorization": f"Bearer {reader}"}
    user_id = seed_user_id(TENANT_A, "carol")
    license_id = seed_license_id(TENANT_A)
    device_id = seed_device_id(TENANT_A, "IP-3000-0001")

    def directory() -> Hottest:
        return Hottest(
            Endpoint("GET", f"/v1/users/{user_id}", headers),
            lambda pool: Directory().read_user(pool, TENANT_A.id, user_id),
        )

    def license() -> Hottest:
        return Hottest(
            Endpoint("GET", f"/v1/licenses/{license_id}", headers),
            lambda pool: Licensing().read_license(pool, TENANT_A.id, license_id),
        )

    def device() -> Hottest:
        return Hottest(
            Endpoint("GET", f"/v1/devices/{device_id}", headers),
            lambda pool: DeviceRegistry().read_device(pool, TENANT_A.id, device_id),
        )

    def auth() -> Hottest:
        assert auth_token is not None
        session_id = jwt.decode(auth_token, options={"verify_signature": False})["sid"]
        form = {"Authorization": f"Bearer {auth_token}", "Content-Type": "application/x-www-form-urlencoded"}
        return Hottest(
            Endpoint("POST", "/v1/token/introspect", form, urlencode({"token": auth_token}).encode()),
            # The session check introspection makes (the token's signature is remembered).
            lambda pool: Auth().session_standing(pool, TENANT_A.id, session_id),
        )

    return {"directory": directory, "license": license, "device": device, "auth": auth}


async def log_in(app: Any) -> str:
    """A real password and TOTP login of the seed user alice, in process."""
    body = json.dumps(login_body()).encode()
    login = Endpoint("POST", "/v1/login", {"Content-Type": "application/json"}, body)
    status, answer = await call(app, login)
    if status != 200:
        raise SystemExit(f"auth POST /v1/login: answered {status}: {answer[:200]!r}")
    return str(json.loads(answer)["access_token"])


@contextmanager
def quiet_logs() -> Iterator[None]:
    """The apps log a JSON line per request: to /dev/null here (it is part of the floor anyway)."""
    with open(os.devnull, "w") as devnull:
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(devnull)
        yield


async def measure(service: str, app: Any, make: Callable[[], Hottest], calls: int, rounds: int) -> None:
    async with app.router.lifespan_context(app):
        with quiet_logs():
            target = make()
            floor = Endpoint("GET", "/healthz", {})
            for endpoint in (floor, target.endpoint):
                status, _ = await call(app, endpoint)
                if status != 200:
                    raise SystemExit(f"{service} {endpoint.method} {endpoint.path}: answered {status}")
            pool = app.state.runtime.pool
            floor_us = await cpu_per_call(lambda: call(app, floor), calls, rounds)
            endpoint_us = await cpu_per_call(lambda: call(app, target.endpoint), calls, rounds)
            read_us = await cpu_per_call(lambda: target.read(pool), calls, rounds)
    rest = endpoint_us - floor_us - read_us
    name = f"{target.endpoint.method} {target.endpoint.path.split('?')[0]}"
    print(
        f"{service:10s} healthz {floor_us:5.0f} us   endpoint {endpoint_us:5.0f} us   "
        f"(database read {read_us:4.0f} us, route's framework work {rest:4.0f} us)   "
        f"floor/endpoint {floor_us / endpoint_us:.2f}   [{name}]"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", default=DEFAULT_CONFIG, type=Path)
    parser.add_argument("--calls", type=int, default=2000, help="calls per round (default 2000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the best is kept (default 3)")
    args = parser.parse_args()
    config = load_config(args.config)
    os.environ["FITGATE_ADMIN_TOKEN"] = ADMIN_TOKEN
    os.environ["FITGATE_AUTH_ACCESS_TOKEN_SECONDS"] = "3600"
    with fresh_installation(config) as (url, label):
        print(f"in-process ASGI calls, one at a time, on {label}; CPU per request of the service's process")
        for name, service in config.services.items():
            os.environ[service_environment_variable(name)] = with_user(url, service.role)
        auth = load_named_object(str(config.services["auth"].app), config.code_root)

        async def auth_login() -> str:
            async with auth.router.lifespan_context(auth):
                return await log_in(auth)

        endpoints = hottest(url, asyncio.run(auth_login()))
        for name, make in endpoints.items():
            app = load_named_object(str(config.services[name].app), config.code_root)
            asyncio.run(measure(name, app, make, args.calls, args.rounds))


if __name__ == "__main__":
    main()
