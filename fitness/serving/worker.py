"""``python -m fitness.serving.worker``: one service process.

Loads the contract, installs the runtime guards when ``FITGATE_GUARD`` asks
(before the app is imported, so every pool and client it makes is watched),
loads the service's ASGI app (``services.<name>.app``, with ``code_root``
importable) and serves it with uvicorn on the listening socket inherited as
``--fd``, so the parent chose and bound the port before the child started (no
race for it). uvicorn stops gracefully on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import uvicorn

from fitness.config import load_config
from fitness.errors import FitgateError
from fitness.named_objects import load_named_object
from fitness.runtime.guards import install_guards
from fitness.runtime.request_context import GuardedApp


def load_service_app(config_path: Path, service_name: str) -> tuple[Any, bool]:
    """The service's ASGI app, guarded if the environment asks; and whether it is."""
    config = load_config(config_path)
    service = config.services.get(service_name)
    if service is None:
        raise FitgateError(f"{config_path}: no service named {service_name}")
    if service.app is None:
        raise config.error_at(("services", service_name), "no app: nothing to serve")
    guarded = install_guards(config, service_name) is not None
    app = load_named_object(service.app, config.code_root)
    return (GuardedApp(app) if guarded else app), guarded


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fitness.serving.worker")
    parser.add_argument("--config", required=True, type=Path, help="the contract file")
    parser.add_argument("--service", required=True, help="the service to serve")
    parser.add_argument("--fd", required=True, type=int, help="an inherited listening socket")
    args = parser.parse_args(argv)
    try:
        app, guarded = load_service_app(args.config, args.service)
    except FitgateError as exc:
        print(f"fitgate worker: {exc}", file=sys.stderr)
        return 2
    listener = socket.socket(fileno=args.fd)
    config = uvicorn.Config(
        app,
        log_config=None,  # the app configures logging itself (the reference logs JSON lines)
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
        loop="asyncio" if guarded else "auto",  # uvloop connects in C, out of the guard's sight
    )
    server = uvicorn.Server(config)
    server.run(sockets=[listener])
    return 0 if server.started else 3


if __name__ == "__main__":
    sys.exit(main())
