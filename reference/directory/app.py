"""The directory service's ASGI app: ``reference.directory.app:app``."""

from __future__ import annotations

from reference.directory.model import ROLE, Directory
from reference.directory.routes import directory_routers
from reference.platform.service_app import create_service_app

app = create_service_app(
    service="directory",
    role=ROLE,
    title="fitgate directory",
    description="Tenants, users, roles and role assignments; every change recorded as a domain event.",
    version="1.0.0",
    routers=directory_routers(Directory()),
)
