"""The guard's record: one JSON object per line, appended by every guarded process.

Records have a ``kind``: ``guard-installed`` (a process started guarded),
``cross-service-connection`` (a service connected to another service's
address) or ``tenant-leak`` (a pooled connection went back to its pool with
the tenant still set). Several processes append to one file: each record is
one ``write`` on a file opened with O_APPEND, so lines never interleave.
"""

from __future__ import annotations

import datetime
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fitness.errors import FitgateError

GUARD_LOG_ENV = "FITGATE_GUARD_LOG"

INSTALLED = "guard-installed"
CROSS_SERVICE_CONNECTION = "cross-service-connection"
TENANT_LEAK = "tenant-leak"


@dataclass(frozen=True)
class GuardRecord:
    kind: str
    service: str
    site: str | None  # path/file.py:LINE of the service code involved, when found
    details: dict[str, Any] = field(default_factory=dict)


class GuardLogWriter:
    """Appends records to a file (or to standard error when no file is named)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        if path is None:
            self._fd = 2
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def write(self, kind: str, service: str, site: str | None, **details: Any) -> None:
        record = {
            "kind": kind,
            "service": service,
            "site": site,
            "pid": os.getpid(),
            "at": datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds"),
            **details,
        }
        line = (json.dumps(record, default=str, separators=(",", ":")) + "\n").encode()
        with self._lock:
            os.write(self._fd, line)


def guard_log_path() -> Path | None:
    """The guard log named by ``FITGATE_GUARD_LOG``, if any."""
    value = os.environ.get(GUARD_LOG_ENV, "").strip()
    return Path(value) if value else None


def read_guard_log(path: Path) -> tuple[list[GuardRecord], list[int]]:
    """The records of a guard log, and the numbers of lines that are not records."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FitgateError(
            f"{GUARD_LOG_ENV}={path}: no such file (did the services run with FITGATE_GUARD=1?)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FitgateError(f"{GUARD_LOG_ENV}={path}: cannot read: {exc.__class__.__name__}") from None
    records: list[GuardRecord] = []
    broken: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            records.append(
                GuardRecord(
                    str(data.pop("kind")),
                    str(data.pop("service")),
                    data.pop("site", None),
                    data,
                )
            )
        except (ValueError, KeyError, AttributeError, TypeError):
            broken.append(number)  # a process killed in the middle of a write
    return records, broken
