"""Device's seed step: for both seed tenants, a certificate authority, devices and certificates.

Written through :class:`~reference.device.model.DeviceRegistry`, so every seeded
row has its event (performed by ``installer``). Each certificate is issued, bound,
and in some cases rebound or revoked, one transaction per step, so its history
shows distinct times for each binding. Idempotent: a certificate's version says
how many of its steps are done, and only the rest run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from uuid import NAMESPACE_URL, UUID, uuid5

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from psycopg import AsyncConnection
from psycopg.rows import TupleRow

from reference.device.model import CertificateSource, DeviceRegistry
from reference.platform.seeding import SEED_ACTOR, TENANT_A, TENANT_B, SeedTenant
from reference.platform.tenancy import tenant_scope

SEED_VALIDITY_DAYS = 365


@dataclass(frozen=True)
class SeedDevice:
    serial_number: str
    name: str
    model: str
    kind: str
    decommission_reason: str | None = None  # decommissioned after the certificates' steps


@dataclass(frozen=True)
class SeedCertificate:
    label: str
    key: Literal["csr", "ecdsa-p256", "ed25519"]  # a CSR made by the "device", or a key made by the CA
    bound_to: tuple[str, ...]  # serial numbers: the first binding, then each rebinding
    revocation_reason: str | None = None


SEED_DEVICES = {
    TENANT_A: (
        SeedDevice("IP-3000-0001", "Infusion pump, ward 3, bed 1", "Volumat Agilia", "infusion-pump"),
        SeedDevice("IP-3000-0002", "Infusion pump, ward 3, bed 2", "Volumat Agilia", "infusion-pump"),
        SeedDevice("PM-1200-0012", "Patient monitor, bed 12", "IntelliVue MX450", "patient-monitor"),
    ),
    TENANT_B: (
        SeedDevice("DR-0001", "Dispensing robot", "Rowa Vmax", "dispensing-robot"),
        SeedDevice("LP-0000", "Label printer (old)", "Zebra GK420", "label-printer", "replaced by LP-0001"),
        SeedDevice("LP-0001", "Label printer, counter 1", "Zebra ZD421", "label-printer"),
    ),
}
SEED_CERTIFICATES = {
    TENANT_A: (
        SeedCertificate("pump-ward3", "ecdsa-p256", ("IP-3000-0001", "IP-3000-0002")),
        SeedCertificate("monitor-bed12", "csr", ("PM-1200-0012",)),
        SeedCertificate("pump-bed1-retired", "ed25519", ("IP-3000-0001",), revocation_reason="superseded"),
    ),
    TENANT_B: (
        SeedCertificate("robot", "csr", ("DR-0001",)),
        SeedCertificate("label-printer", "ecdsa-p256", ("LP-0000", "LP-0001")),
    ),
}


def seed_device_id(tenant: SeedTenant, serial_number: str) -> UUID:
    """The fixed id of a seed device (the same in every installation)."""
    return uuid5(NAMESPACE_URL, f"fitgate:seed:{tenant.id}:device:{serial_number}")


def seed_certificate_id(tenant: SeedTenant, label: str) -> UUID:
    """The fixed id of a seed certificate (its serial number and key differ in every installation)."""
    return uuid5(NAMESPACE_URL, f"fitgate:seed:{tenant.id}:certificate:{label}")


async def seed(connection: AsyncConnection[TupleRow]) -> None:
    registry = DeviceRegistry()
    for tenant in (TENANT_A, TENANT_B):
        async with tenant_scope(connection, tenant.id) as tx:
            await registry.authority(tx, SEED_ACTOR)
            for device in SEED_DEVICES[tenant]:
                if await registry.devices.find(tx, seed_device_id(tenant, device.serial_number)) is None:
                    await registry.register_device(
                        tx,
                        name=device.name,
                        serial_number=device.serial_number,
                        model=device.model,
                        kind=device.kind,
                        actor=SEED_ACTOR,
                        device_id=seed_device_id(tenant, device.serial_number),
                    )
        for certificate in SEED_CERTIFICATES[tenant]:
            await _seed_certificate(registry, connection, tenant, certificate)
        for device in SEED_DEVICES[tenant]:
            if device.decommission_reason is None:
                continue
            async with tenant_scope(connection, tenant.id) as tx:
                device_id = seed_device_id(tenant, device.serial_number)
                if (await registry.get_device(tx, device_id))["status"] == "active":
                    await registry.decommission_device(
                        tx,
                        device_id,
                        reason=device.decommission_reason,
                        expected_version=None,
                        actor=SEED_ACTOR,
                    )


async def _seed_certificate(
    registry: DeviceRegistry,
    connection: AsyncConnection[TupleRow],
    tenant: SeedTenant,
    seeded: SeedCertificate,
) -> None:
    """Issue, then bind to each device in turn, then revoke: whichever of these steps is not done yet."""
    certificate_id = seed_certificate_id(tenant, seeded.label)
    async with tenant_scope(connection, tenant.id) as tx:
        existing = await registry.certificates.find(tx, certificate_id)
        if existing is None:
            await registry.issue_certificate(
                tx,
                _source(tenant, seeded),
                validity_days=SEED_VALIDITY_DAYS,
                actor=SEED_ACTOR,
                certificate_id=certificate_id,
            )
        done = 0 if existing is None else int(existing["version"]) - 1
    steps = len(seeded.bound_to) + (seeded.revocation_reason is not None)
    for step in range(done, steps):
        async with tenant_scope(connection, tenant.id) as tx:
            if step < len(seeded.bound_to):
                device_id = seed_device_id(tenant, seeded.bound_to[step])
                await registry.bind_certificate(
                    tx, certificate_id, device_id, expected_version=step + 1, actor=SEED_ACTOR
                )
            else:
                assert seeded.revocation_reason is not None  # the one step after the bindings
                await registry.revoke_certificate(
                    tx,
                    certificate_id,
                    reason=seeded.revocation_reason,
                    comment=None,
                    expected_version=step + 1,
                    actor=SEED_ACTOR,
                )


def _source(tenant: SeedTenant, seeded: SeedCertificate) -> CertificateSource:
    common_name = f"{seeded.label}.{tenant.name}"
    if seeded.key != "csr":
        return CertificateSource(generate_key=seeded.key, common_name=common_name)
    # The device makes its own key and sends only the request; the key never reaches the platform.
    device_key = ec.generate_private_key(ec.SECP256R1())
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, tenant.name),
                    x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                ]
            )
        )
        .sign(device_key, hashes.SHA256())
    )
    return CertificateSource(csr=request.public_bytes(serialization.Encoding.PEM).decode("ascii"))
