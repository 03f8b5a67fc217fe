"""Building a system into an empty database with the installer the contract names."""

from __future__ import annotations

from fitness.config import Config
from fitness.database.existing import first_line
from fitness.errors import FitgateError
from fitness.named_objects import load_named_object


def run_installer(config: Config, url: str) -> None:
    """Call ``database.installer`` with a superuser URL of an empty database."""
    if config.installer is None:
        raise FitgateError(f"{config.path}: database.installer is not set: nothing to install")
    try:
        installer = load_named_object(config.installer, config.code_root)
    except FitgateError as exc:
        raise config.error_at(("database", "installer"), str(exc)) from None
    if not callable(installer):
        raise config.error_at(("database", "installer"), f"{config.installer} is not callable")
    try:
        installer(url)
    except FitgateError:
        raise
    except Exception as exc:  # the team's installer failed: the run cannot be made
        raise FitgateError(
            f"installer {config.installer} failed: {exc.__class__.__name__}: {first_line(exc)}"
        ) from None
