"""What a load run measured, per endpoint: the figures budgets are held against.

The locust process builds these from locust's statistics and sends them as
JSON; fitgate reads them back without ever importing locust.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def endpoint_key(method: str, name: str) -> str:
    """The budget key of a request: its name if it is already ``METHOD /path``, else ``METHOD name``."""
    first, _, rest = name.partition(" ")
    if first in HTTP_METHODS and rest.startswith("/"):
        return name
    return f"{method.upper()} {name}"


@dataclass(frozen=True)
class EndpointMeasurement:
    """One endpoint under load. Latencies in milliseconds, as locust buckets them."""

    endpoint: str  # "METHOD /path", the request name the load scenario gave
    requests: int
    failures: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    average_ms: float
    max_ms: float
    requests_per_s: float
    errors: tuple[str, ...] = ()  # the commonest failure messages, "N x message"

    @property
    def failure_rate(self) -> float:
        return self.failures / self.requests if self.requests else 0.0


@dataclass(frozen=True)
class Measurement:
    """A whole run: how long it lasted, with how many users, and every endpoint it reached."""

    seconds: float
    users: int
    workers: int
    endpoints: tuple[EndpointMeasurement, ...]
    # service -> the locustfile's user classes that loaded it
    user_classes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # user class -> why it was not run (no service declared, service not under load)
    classes_left_out: Mapping[str, str] = field(default_factory=dict)
    # exceptions raised by the scenarios' own code, "N x message": the load was not what was meant
    exceptions: tuple[str, ...] = ()

    def endpoint(self, key: str) -> EndpointMeasurement | None:
        return next((e for e in self.endpoints if e.endpoint == key), None)

    @property
    def requests(self) -> int:
        return sum(e.requests for e in self.endpoints)

    @property
    def failures(self) -> int:
        return sum(e.failures for e in self.endpoints)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["user_classes"] = {k: list(v) for k, v in self.user_classes.items()}
        data["classes_left_out"] = dict(self.classes_left_out)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Measurement:
        return cls(
            seconds=float(data["seconds"]),
            users=int(data["users"]),
            workers=int(data["workers"]),
            endpoints=tuple(
                EndpointMeasurement(**{**entry, "errors": tuple(entry.get("errors", ()))})
                for entry in data["endpoints"]
            ),
            user_classes={k: tuple(v) for k, v in data.get("user_classes", {}).items()},
            classes_left_out=dict(data.get("classes_left_out", {})),
            exceptions=tuple(data.get("exceptions", ())),
        )
