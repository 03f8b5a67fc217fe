"""The errors a service raises, each with the HTTP status and error code it becomes.

Handlers turn every :class:`PlatformError` into ``{"error": code, "message": ...}``
(plus ``field`` for invalid input). Another tenant's resource is
:class:`NotFound`, never a 403: existence must not leak across tenants.
"""

from __future__ import annotations


class PlatformError(Exception):
    """Base of every error a request can end with; ``status`` and ``code`` say how."""

    status = 500
    code = "internal"

    def __init__(self, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = dict(headers or {})  # sent with the error response, e.g. Retry-After


class NotFound(PlatformError):
    """The resource does not exist for this tenant (or belongs to another one)."""

    status = 404
    code = "not_found"


class VersionConflict(PlatformError):
    """The aggregate changed since the caller read it (optimistic concurrency)."""

    status = 409
    code = "version_conflict"

    def __init__(self, message: str, current_version: int | None = None) -> None:
        super().__init__(message)
        self.current_version = current_version

    @classmethod
    def stale(cls, kind: str, aggregate_id: object, current: int, expected: int) -> VersionConflict:
        return cls(
            f"{kind} {aggregate_id} is at version {current}, not {expected}: "
            "it was changed meanwhile; read it again and retry",
            current_version=current,
        )


def require_version(kind: str, aggregate_id: object, current: int, expected: int | None) -> None:
    """An If-Match precondition, checked first: a stale version is 409 whatever else is wrong."""
    if expected is not None and expected != current:
        raise VersionConflict.stale(kind, aggregate_id, current, expected)


class Conflict(PlatformError):
    """The change contradicts the current state (a taken name, an already revoked role)."""

    status = 409
    code = "conflict"


class InvalidInput(PlatformError):
    """A field of the request is wrong; ``field`` names it."""

    status = 422
    code = "invalid_input"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class Unauthenticated(PlatformError):
    """No credentials, or credentials that do not verify."""

    status = 401
    code = "unauthenticated"


class Forbidden(PlatformError):
    """The caller is known but lacks the role for this action (never used for other tenants' data)."""

    status = 403
    code = "forbidden"


class Unavailable(PlatformError):
    """The database (or a key it holds) cannot be reached right now."""

    status = 503
    code = "unavailable"


class UnregisteredEvent(PlatformError):
    """A write tried to record an event its schema's ``event_types`` does not register."""


class EventSchemaViolation(PlatformError):
    """An event's payload or state does not match the JSON Schema its catalogue entry declares."""


class SettingsError(Exception):
    """A setting that cannot be used: names the environment variable."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


class MigrationError(Exception):
    """A migration folder or history that cannot be applied safely."""
