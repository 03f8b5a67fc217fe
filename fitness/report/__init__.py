"""Rendering results: one module per output format."""

from __future__ import annotations

from collections.abc import Callable

from fitness.engine.check_run import CheckRun
from fitness.report import json_report, junit, markdown, sarif, text

Renderer = Callable[[CheckRun], str]

FORMATS: dict[str, Renderer] = {
    "text": text.render,
    "json": json_report.render,
    "junit": junit.render,
    "sarif": sarif.render,
    "markdown": markdown.render,
}

__all__ = ["FORMATS", "CheckRun", "Renderer"]
