"""The device service's ASGI app: ``reference.device.app:app``."""

from __future__ import annotations

from reference.device.model import ROLE, DeviceRegistry
from reference.device.routes import device_routers
from reference.platform.service_app import create_service_app

app = create_service_app(
    service="device",
    role=ROLE,
    title="fitgate device",
    description=(
        "Devices per tenant and the X.509 certificates a per-tenant certificate authority issues "
        "for them; every change recorded as a domain event, so any past binding is one query away."
    ),
    version="1.0.0",
    routers=device_routers(DeviceRegistry()),
)
