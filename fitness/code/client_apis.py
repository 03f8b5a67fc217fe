"""The network client calls fitgate recognises, and where each names its target.

Three shapes cover the libraries services use to reach another process:
calls that connect at once (``requests.get(url)``, ``socket.create_connection``),
clients whose methods connect (``httpx.Client(base_url=...).get(path)``,
``socket.socket().connect(address)``), and request objects handed to an opener
(``urlopen(Request(url))``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class TargetForm(StrEnum):
    URL = "url"  # scheme://host[:port]/...
    ADDRESS = "address"  # (host, port) tuple or "host:port"
    HOST_AND_PORT = "host_and_port"  # host and port as two arguments


@dataclass(frozen=True)
class TargetArgument:
    """Where a call names what it connects to."""

    form: TargetForm
    position: int | None  # positional index (-1: the last positional argument)
    keyword: str | None
    port_position: int | None = None  # HOST_AND_PORT only
    port_keyword: str | None = None


@dataclass(frozen=True)
class ClientKind:
    """A client class or factory: its optional base target and the methods that connect."""

    base: TargetArgument | None
    methods: dict[str, TargetArgument] = field(default_factory=dict)


def _url(position: int | None, keyword: str | None = "url") -> TargetArgument:
    return TargetArgument(TargetForm.URL, position, keyword)


def _address(position: int | None, keyword: str | None) -> TargetArgument:
    return TargetArgument(TargetForm.ADDRESS, position, keyword)


def _host_and_port() -> TargetArgument:
    return TargetArgument(TargetForm.HOST_AND_PORT, 0, "host", 1, "port")


HTTP_VERBS = ("get", "post", "put", "patch", "delete", "head", "options")
_VERB_METHODS = {verb: _url(0) for verb in HTTP_VERBS}
_REQUEST_METHODS = {"request": _url(1), "stream": _url(1)}

CONNECTING_CALLS: dict[str, TargetArgument] = {
    **{f"requests.{verb}": _url(0) for verb in HTTP_VERBS},
    "requests.request": _url(1),
    **{f"httpx.{verb}": _url(0) for verb in HTTP_VERBS},
    "httpx.request": _url(1),
    "httpx.stream": _url(1),
    "aiohttp.request": _url(1),
    "urllib.request.urlopen": _url(0),
    "urllib3.request": _url(1),
    "urllib3.connection_from_url": _url(0),
    "urllib3.HTTPConnectionPool": _host_and_port(),
    "urllib3.HTTPSConnectionPool": _host_and_port(),
    "urllib3.connectionpool.HTTPConnectionPool": _host_and_port(),
    "urllib3.connectionpool.HTTPSConnectionPool": _host_and_port(),
    "http.client.HTTPConnection": _host_and_port(),
    "http.client.HTTPSConnection": _host_and_port(),
    "grpc.insecure_channel": _address(0, "target"),
    "grpc.secure_channel": _address(0, "target"),
    "grpc.aio.insecure_channel": _address(0, "target"),
    "grpc.aio.secure_channel": _address(0, "target"),
    "websockets.connect": _url(0, "uri"),
    "websockets.client.connect": _url(0, "uri"),
    "websockets.sync.client.connect": _url(0, "uri"),
    "websockets.asyncio.client.connect": _url(0, "uri"),
    "socket.create_connection": _address(0, "address"),
    "asyncio.open_connection": _host_and_port(),
}

CLIENT_KINDS: dict[str, ClientKind] = {
    "requests.Session": ClientKind(None, {**_VERB_METHODS, "request": _url(1)}),
    "requests.session": ClientKind(None, {**_VERB_METHODS, "request": _url(1)}),
    "httpx.Client": ClientKind(_url(None, "base_url"), {**_VERB_METHODS, **_REQUEST_METHODS}),
    "httpx.AsyncClient": ClientKind(_url(None, "base_url"), {**_VERB_METHODS, **_REQUEST_METHODS}),
    "aiohttp.ClientSession": ClientKind(
        _url(0, "base_url"), {**_VERB_METHODS, "request": _url(1), "ws_connect": _url(0)}
    ),
    "urllib3.PoolManager": ClientKind(None, {"request": _url(1), "urlopen": _url(1)}),
    "urllib3.ProxyManager": ClientKind(None, {"request": _url(1), "urlopen": _url(1)}),
    "urllib.request.build_opener": ClientKind(None, {"open": _url(0, "fullurl")}),
    "socket.socket": ClientKind(
        None,
        {
            "connect": _address(0, None),
            "connect_ex": _address(0, None),
            "sendto": _address(-1, None),
        },
    ),
}

# Objects that carry a target to a connecting call (``urlopen(Request(url))``).
REQUEST_OBJECTS: dict[str, TargetArgument] = {"urllib.request.Request": _url(0)}
