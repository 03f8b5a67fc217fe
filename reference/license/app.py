"""The license service's ASGI app: ``reference.license.app:app``."""

from __future__ import annotations

from reference.license.model import ROLE, Licensing
from reference.license.routes import license_routers
from reference.platform.service_app import create_service_app

app = create_service_app(
    service="license",
    role=ROLE,
    title="fitgate license",
    description=(
        "Plans (a global catalogue), licenses per tenant and seat assignments to directory users; "
        "every change recorded as a domain event."
    ),
    version="1.0.0",
    routers=license_routers(Licensing()),
)
