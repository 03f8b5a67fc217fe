"""Objects the contract names as ``package.module:attribute`` (installers, ASGI apps)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

from fitness.errors import FitgateError


def load_named_object(reference: str, code_root: Path) -> Any:
    """Import ``module:attr.path`` with ``code_root`` importable; one-line error if it fails."""
    module_name, _, attribute_path = reference.partition(":")
    root = str(code_root)
    if root not in sys.path:
        sys.path.insert(0, root)
    try:
        target: Any = importlib.import_module(module_name)
    except Exception as exc:  # any import-time failure of the named code
        raise FitgateError(
            f"cannot import {module_name} (named {reference}): {exc.__class__.__name__}: {exc}"
        ) from None
    for part in attribute_path.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise FitgateError(f"{module_name} has no attribute {attribute_path}") from None
    return target
