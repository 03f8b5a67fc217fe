"""Addresses and session-wide settings written inside text: string literals, settings lines.

An address is a URL (``http://host:port/...``) or ``host:port``. A session-wide
setting is ``-c name=value`` in connection options (libpq ``options``,
``PGOPTIONS``), which holds for every transaction of the connection.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import unquote

from fitness.service_addresses import Endpoint, parse_endpoint

_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://(?:\[[0-9A-Fa-f:.]+\]|[^\s/:'\"?#@\[\]<>{}]+)(?::\d{1,5})?")
_HOST_PORT = re.compile(
    r"(?<![\w.:/@-])(?:localhost|\d{1,3}(?:\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\]"
    r"|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+):\d{1,5}(?![\w.])"
)
_STARTUP_SETTING = re.compile(r"-c\s*([A-Za-z_]\w*\.[A-Za-z_]\w*)\s*=")
_COMMENT_PREFIXES = ("#", ";", "//")


@dataclass(frozen=True)
class AddressLiteral:
    line: int
    endpoint: Endpoint
    text: str


@dataclass(frozen=True)
class StartupOption:
    """``-c name=value`` in connection options: a setting for the whole session."""

    line: int
    setting: str


def addresses_in(text: str) -> Iterator[tuple[int, str, Endpoint]]:
    """``(offset, literal, endpoint)`` for every URL and ``host:port`` in ``text``."""
    for pattern in (_URL, _HOST_PORT):
        for match in pattern.finditer(text):
            endpoint = parse_endpoint(match.group())
            if endpoint is not None:
                yield match.start(), match.group(), endpoint


def session_settings_in(text: str) -> Iterator[str]:
    """Settings given with ``-c name=`` in ``text`` (URL-encoded or not), lower case."""
    decoded = unquote(text) if "%" in text else text
    for match in _STARTUP_SETTING.finditer(decoded):
        yield match[1].lower()


def settings_file_literals(text: str) -> tuple[list[AddressLiteral], list[StartupOption]]:
    """Addresses and startup options on the non-comment lines of a settings file."""
    addresses: list[AddressLiteral] = []
    options: list[StartupOption] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith(_COMMENT_PREFIXES):
            continue
        addresses.extend(AddressLiteral(number, e, t) for _, t, e in addresses_in(line))
        options.extend(StartupOption(number, s) for s in session_settings_in(line))
    return addresses, options
