"""One module per service, each with the user class that loads it.

A new service's scenario is a new module here defining a subclass of
:class:`loadtests.platform_user.PlatformUser` with ``service = "<name>"``;
the locustfile finds it without any other change.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from locust import User

from loadtests.platform_user import PlatformUser


def discover_user_classes() -> dict[str, type[User]]:
    """Every runnable user class in this package's modules, by class name."""
    found: dict[str, type[User]] = {}
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, PlatformUser)
                and not value.abstract
                and value.__module__ == module.__name__
            ):
                found[name] = value
    return found
