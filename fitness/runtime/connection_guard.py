"""Seeing a service process connect to another service, through the ``socket.connect`` audit event.

Every TCP connection a Python process opens goes through ``socket.connect``
or ``connect_ex`` (requests, httpx, aiohttp, urllib, asyncio's event loop
included), and both raise the audit event. libuv-based loops (uvloop) connect
in C without it: guarded services run on asyncio's own loop. Audit hooks
cannot be removed, so the guard stays for the life of the process.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fitness.service_addresses import Endpoint, ServiceAddress, normalise_host, same_endpoint

CONNECT_EVENT = "socket.connect"


class CrossServiceConnectionRefused(ConnectionRefusedError):
    """Raised in a guarded process (``FITGATE_GUARD=refuse``) that connects to another service."""


@dataclass(frozen=True)
class Destination:
    """Another service, with every address its declared host resolved to at start."""

    service: str
    declared: Endpoint
    endpoints: tuple[Endpoint, ...]


def destinations(addresses: list[ServiceAddress], own_service: str) -> list[Destination]:
    """The other services' endpoints, their host names resolved now (before the hook exists)."""
    found = []
    for address in addresses:
        if address.service == own_service or address.endpoint.port is None:
            continue
        endpoints = {address.endpoint}
        try:
            infos = socket.getaddrinfo(address.endpoint.host, address.endpoint.port, type=socket.SOCK_STREAM)
        except OSError:
            infos = []  # a name that does not resolve here: compare by name only
        endpoints.update(Endpoint(normalise_host(str(info[4][0])), address.endpoint.port) for info in infos)
        found.append(Destination(address.service, address.endpoint, tuple(sorted(endpoints, key=str))))
    return found


OnConnect = Callable[[Destination, Endpoint], None]


def install_connection_guard(targets: list[Destination], on_connect: OnConnect) -> None:
    """Call ``on_connect`` (which may raise to refuse) before any connection to ``targets``."""

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event != CONNECT_EVENT or not targets:
            return
        address = args[1]
        if not isinstance(address, tuple) or len(address) < 2 or not isinstance(address[1], int):
            return  # Unix sockets and other families
        endpoint = Endpoint(normalise_host(str(address[0])), address[1])
        for target in targets:
            if any(same_endpoint(endpoint, known) for known in target.endpoints):
                on_connect(target, endpoint)
                return

    sys.addaudithook(hook)
