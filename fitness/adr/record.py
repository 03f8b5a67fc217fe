"""One architecture decision record."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

STATUSES = ("proposed", "accepted", "superseded", "deprecated", "rejected")


@dataclass(frozen=True)
class Adr:
    id: str
    title: str
    status: str
    date: datetime.date
    attributes: tuple[str, ...]
    enforced_by: tuple[str, ...]
    path: Path
    body: str
    superseded_by: str | None = None
    key_lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)

    def line_of(self, key: str) -> int:
        """The line of a front-matter key, for violation locations."""
        return self.key_lines.get(key, 1)

    @property
    def accepted(self) -> bool:
        return self.status == "accepted"
