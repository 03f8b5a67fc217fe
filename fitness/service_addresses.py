"""Where services listen, and whether an address someone connects to is one of them.

The contract declares each service's ``url``; code and running processes name
the same endpoint in many spellings (``localhost:8002``, ``127.0.0.1:8002``,
``[::1]:8002``). Both the static rules and the runtime guard compare through
:func:`same_endpoint`, so they agree on what "another service" means.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from fitness.config import Config

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "grpc": 80, "grpcs": 443}

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
# How code spells this machine: what a file naming a local service's address contains.
LOOPBACK_SPELLINGS = ("127.", "localhost", "::1", "0.0.0.0", "ip6-lo")
_HOST_PORT = re.compile(r"^(?P<host>\[[0-9A-Fa-f:.]+\]|[^:\[\]/\s]+):(?P<port>\d{1,5})$")


@dataclass(frozen=True)
class Endpoint:
    """A host (lower case, IPv6 without brackets) and a port, if one is known."""

    host: str
    port: int | None

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"


@dataclass(frozen=True)
class ServiceAddress:
    service: str
    endpoint: Endpoint


def normalise_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def parse_endpoint(text: str) -> Endpoint | None:
    """An endpoint from a URL (``scheme://host[:port]/...``), ``host:port`` or a bare host."""
    text = text.strip()
    if "://" in text:
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError:
            return None
        if not parts.hostname:
            return None
        if port is None:
            port = DEFAULT_PORTS.get(parts.scheme.lower())
        return Endpoint(normalise_host(parts.hostname), port)
    match = _HOST_PORT.match(text)
    if match:
        port = int(match["port"])
        return Endpoint(normalise_host(match["host"]), port) if port <= 65535 else None
    if text and not any(c in text for c in "/ \t:?#@"):
        return Endpoint(normalise_host(text), None)
    return None


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine (a connection to it reaches local listeners)."""
    host = normalise_host(host)
    if host in _LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def same_host(a: str, b: str) -> bool:
    a, b = normalise_host(a), normalise_host(b)
    return a == b or (is_loopback(a) and is_loopback(b))


def same_endpoint(a: Endpoint, b: Endpoint) -> bool:
    """Whether ``a`` and ``b`` reach the same listener (a missing port matches nothing)."""
    return a.port is not None and a.port == b.port and same_host(a.host, b.host)


def service_addresses(config: Config) -> list[ServiceAddress]:
    """The endpoint of every service that declares a ``url``."""
    addresses = []
    for service in config.services.values():
        if service.url is None:
            continue
        endpoint = parse_endpoint(service.url)
        if endpoint is not None:
            addresses.append(ServiceAddress(service.name, endpoint))
    return addresses


def service_at(endpoint: Endpoint, addresses: list[ServiceAddress]) -> ServiceAddress | None:
    """The service listening at ``endpoint``, if any."""
    return next((a for a in addresses if same_endpoint(endpoint, a.endpoint)), None)


def host_allowed(endpoint: Endpoint, allowed: tuple[str, ...]) -> bool:
    """Whether ``endpoint`` is covered by ``external_hosts`` entries.

    An entry is a host (any port), ``host:port``, or ``*.domain`` (any host
    below ``domain``).
    """
    for entry in allowed:
        if entry.startswith("*."):
            if endpoint.host.endswith(normalise_host(entry[1:])):
                return True
            continue
        declared = parse_endpoint(entry)
        if (
            declared is not None
            and same_host(declared.host, endpoint.host)
            and declared.port in (None, endpoint.port)
        ):
            return True
    return False
