from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

ADR = """\
---
id: ADR-0001
title: Record decisions
status: accepted
date: 2026-01-01
attributes: [evolvability]
enforced_by: [adr-traceability]
---
# Record decisions
"""

CONFIG = """\
version: 1
system: demo
quality_attributes:
  evolvability: decisions are recorded
services:
  directory: {schema: directory, role: directory_service}
fitness:
  adr-traceability: {adr: ADR-0001, attribute: evolvability}
  latency-budgets: {enabled: false}
"""


@pytest.fixture
def project(tmp_path: Path) -> Callable[..., Path]:
    """Write a small project (contract file, ADRs, extra files); returns the config path."""

    def make(
        config: str = CONFIG, adrs: dict[str, str] | None = None, files: dict[str, str] | None = None
    ) -> Path:
        (tmp_path / "adr").mkdir(exist_ok=True)
        for name, text in (adrs if adrs is not None else {"0001-record.md": ADR}).items():
            (tmp_path / "adr" / name).write_text(text)
        for name, text in (files or {}).items():
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_text(textwrap.dedent(text))
        path = tmp_path / "quality-attributes.yaml"
        path.write_text(config)
        return path

    return make
