"""The device service's aggregates and every change to them, each with its one domain event.

Aggregates: ``Device`` (registered, decommissioned), ``Certificate`` (issued,
bound or rebound to a device, revoked) and ``CertificateAuthority`` (one per
tenant, created on first need). Methods take a
:class:`~reference.platform.tenancy.TenantTransaction`, so row-level security
already limits them to the caller's tenant: another tenant's device or
certificate is simply not found.

Binding and decommissioning can race: a bind locks its device ``FOR SHARE`` and
a decommission locks it ``FOR UPDATE`` before looking at the device's
certificates, so a device never ends up decommissioned with a live certificate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from reference.device.x509_authority import (
    Authority,
    CertificateFacts,
    GeneratedKeyAlgorithm,
    RevokedSerial,
    generate_device_key,
    new_authority,
    read_csr,
    subject_for,
)
from reference.platform.aggregates import DATABASE_NOW, AggregateTable, Change
from reference.platform.errors import Conflict, InvalidInput, NotFound
from reference.platform.event_store import Actor, EventStore, RecordedEvent
from reference.platform.json_rows import one_json, read_all_json, read_one_json
from reference.platform.pool import Pool
from reference.platform.tenancy import TenantTransaction, tenant_read

SCHEMA = "device"
ROLE = "device_service"

# directory.tenants is published to device: the admin token can name any tenant id.
TENANT_STATUS = "SELECT status FROM directory.tenants WHERE tenant_id = %s AND id = %s"
READ_AUTHORITY_WITH_KEY = (
    "SELECT to_jsonb(a.*), k.private_key_pem FROM device.certificate_authorities AS a "
    "JOIN device.certificate_authority_keys AS k ON k.tenant_id = a.tenant_id AND k.id = a.id "
    "WHERE a.tenant_id = %s"
)
# Held until the transaction ends, by whoever is about to create a tenant's authority.
LOCK_AUTHORITY_CREATION = (
    "SELECT pg_advisory_xact_lock(hashtext('device.certificate_authorities'), hashtext(%s))"
)
STORE_AUTHORITY_KEY = (
    "INSERT INTO device.certificate_authority_keys (tenant_id, id, private_key_pem) VALUES (%s, %s, %s)"
)
READ_DEVICE = "SELECT to_jsonb(d.*) FROM device.devices AS d WHERE d.tenant_id = %s AND d.id = %s"
READ_CERTIFICATE = "SELECT to_jsonb(c.*) FROM device.certificates AS c WHERE c.tenant_id = %s AND c.id = %s"
# Parameters: tenant, status twice, kind twice, after twice, limit.
LIST_DEVICES = (
    "SELECT to_jsonb(d.*) FROM device.devices AS d WHERE d.tenant_id = %s "
    "AND (%s::text IS NULL OR d.status = %s) "
    "AND (%s::text IS NULL OR d.kind = %s) "
    "AND (%s::text IS NULL OR d.serial_number > %s) "
    "ORDER BY d.serial_number LIMIT %s"
)
# Decommissioning takes the row lock first, then counts the device's live certificates.
LOCK_DEVICE = "SELECT to_jsonb(d.*) FROM device.devices AS d WHERE d.tenant_id = %s AND d.id = %s FOR UPDATE"
# Binding holds a share lock on its device until commit: a decommission waits, then sees the binding.
SHARE_DEVICE = "SELECT to_jsonb(d.*) FROM device.devices AS d WHERE d.tenant_id = %s AND d.id = %s FOR SHARE"
LIVE_CERTIFICATES_OF_DEVICE = (
    "SELECT count(*) FROM device.certificates "
    "WHERE tenant_id = %s AND device_id = %s AND status = 'active' AND not_after > now()"
)
# Parameters: tenant, status twice, device twice, after twice, limit.
LIST_CERTIFICATES = (
    "SELECT to_jsonb(c.*) FROM device.certificates AS c WHERE c.tenant_id = %s "
    "AND (%s::text IS NULL OR c.status = %s) "
    "AND (%s::uuid IS NULL OR c.device_id = %s) "
    "AND (%s::text IS NULL OR c.serial_number > %s) "
    "ORDER BY c.serial_number LIMIT %s"
)
# No row: no such device; one row of NULLs: a device without certificates.
CERTIFICATES_OF_EXISTING_DEVICE = (
    "SELECT to_jsonb(c.*) FROM device.devices AS d "
    "LEFT JOIN device.certificates AS c ON c.tenant_id = d.tenant_id AND c.device_id = d.id "
    "WHERE d.tenant_id = %s AND d.id = %s ORDER BY c.serial_number"
)
REVOKED_CERTIFICATES = (
    "SELECT serial_number, revoked_at, revocation_reason FROM device.certificates "
    "WHERE tenant_id = %s AND status = 'revoked' ORDER BY serial_number"
)


@dataclass(frozen=True)
class CertificateSource:
    """Where an issued certificate's key comes from: a CSR (PEM), or a key generated on request."""

    csr: str | None = None
    generate_key: GeneratedKeyAlgorithm | None = None
    common_name: str | None = None


@dataclass(frozen=True)
class Issued:
    """An issued certificate; ``private_key_pem`` only when the key was generated (shown once)."""

    change: Change
    private_key_pem: str | None


@dataclass
class DeviceRegistry:
    """The device schema's aggregates; one instance per process (it caches the event catalogue)."""

    store: EventStore = field(default_factory=lambda: EventStore(SCHEMA))

    def __post_init__(self) -> None:
        self.devices = AggregateTable(
            self.store, "devices", "Device", unique_fields={"devices_serial_number_unique": "serial_number"}
        )
        self.certificates = AggregateTable(
            self.store,
            "certificates",
            "Certificate",
            unique_fields={"certificates_serial_number_unique": "serial_number"},
            references={
                "certificates_device_fk": "device",
                "certificates_authority_fk": "certificate authority",
            },
        )
        self.authorities = AggregateTable(
            self.store,
            "certificate_authorities",
            "CertificateAuthority",
            unique_fields={"certificate_authorities_one_per_tenant": "certificate authority"},
        )

    # The tenant

    async def require_active_tenant(self, tx: TenantTransaction) -> None:
        """:class:`NotFound` unless directory knows the tenant; :class:`Conflict` if it is suspended."""
        cursor = await tx.connection.execute(TENANT_STATUS, (tx.tenant_id, tx.tenant_id))
        row = await cursor.fetchone()
        if row is None:
            raise NotFound(f"tenant {tx.tenant_id} not found")
        if row[0] != "active":
            raise Conflict(f"tenant {tx.tenant_id} is {row[0]}: no new devices or certificates")

    # Devices

    async def register_device(
        self,
        tx: TenantTransaction,
        *,
        name: str,
        serial_number: str,
        model: str,
        kind: str,
        actor: Actor,
        device_id: UUID | None = None,
    ) -> Change:
        """DeviceRegistered: a new active device; 409 if its serial number is taken in this tenant."""
        await self.require_active_tenant(tx)
        details = {"name": name, "serial_number": serial_number, "model": model, "kind": kind}
        return await self.devices.create(
            tx,
            {**details, "status": "active"},
            event_name="DeviceRegistered",
            actor=actor,
            details=details,
            aggregate_id=device_id,
        )

    async def get_device(self, tx: TenantTransaction, device_id: UUID) -> dict[str, Any]:
        return await self.devices.get(tx, device_id)

    async def read_device(self, pool: Pool, tenant_id: UUID, device_id: UUID) -> dict[str, Any]:
        return _found(
            await read_one_json(pool, tenant_id, READ_DEVICE, (tenant_id, device_id)), "Device", device_id
        )

    async def list_devices(
        self,
        pool: Pool,
        tenant_id: UUID,
        *,
        status: str | None,
        kind: str | None,
        after: str | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        """Devices ordered by serial number, from just after ``after``."""
        parameters = (tenant_id, status, status, kind, kind, after, after, limit)
        return await read_all_json(pool, tenant_id, LIST_DEVICES, parameters)

    async def decommission_device(
        self,
        tx: TenantTransaction,
        device_id: UUID,
        *,
        reason: str | None,
        expected_version: int | None,
        actor: Actor,
    ) -> Change:
        """DeviceDecommissioned; 409 if already decommissioned or a live certificate is still bound to it."""
        device = await one_json(tx, LOCK_DEVICE, (tx.tenant_id, device_id))
        if device is None:
            raise NotFound(f"Device {device_id} not found")
        if device["status"] == "decommissioned":
            raise Conflict(f"device {device_id} is already decommissioned")
        cursor = await tx.connection.execute(LIVE_CERTIFICATES_OF_DEVICE, (tx.tenant_id, device_id))
        row = await cursor.fetchone()
        live = int(row[0]) if row else 0
        if live:
            raise Conflict(
                f"device {device_id} still has {live} unexpired certificate(s) bound: "
                "revoke them or bind them to another device first"
            )
        return await self.devices.update(
            tx,
            device_id,
            {"status": "decommissioned", "decommissioned_at": DATABASE_NOW},
            expected_version=expected_version if expected_version is not None else device["version"],
            event_name="DeviceDecommissioned",
            actor=actor,
            details={} if reason is None else {"reason": reason},
        )

    async def device_history(self, tx: TenantTransaction, device_id: UUID) -> list[RecordedEvent]:
        await self.devices.get(tx, device_id)
        return await self.store.history(tx, "Device", device_id)

    async def device_at(self, tx: TenantTransaction, device_id: UUID, at: datetime) -> dict[str, Any]:
        """The device as it was at ``at``, from its events; 404 if it was not registered yet."""
        return await self._state_at(tx, "Device", device_id, at)

    async def certificates_of_device(
        self, pool: Pool, tenant_id: UUID, device_id: UUID
    ) -> list[dict[str, Any]]:
        """The certificates bound to the device now (revoked ones too: they stay bound, for the record)."""
        rows = await tenant_read(pool, tenant_id, CERTIFICATES_OF_EXISTING_DEVICE, (tenant_id, device_id))
        if not rows:
            raise NotFound(f"Device {device_id} not found")
        return [dict(state) for (state,) in rows if state is not None]

    # The certificate authority

    async def authority(self, tx: TenantTransaction, actor: Actor) -> dict[str, Any]:
        """The tenant's authority (its public half), created if the tenant has none yet."""
        state, _ = await self._authority(tx, actor)
        return state

    async def revocation_list(self, tx: TenantTransaction, actor: Actor) -> str:
        """The authority's signed CRL (PEM) of every revoked certificate of the tenant."""
        _, authority = await self._authority(tx, actor)
        cursor = await tx.connection.execute(REVOKED_CERTIFICATES, (tx.tenant_id,))
        revoked = [RevokedSerial(serial, at, reason) for serial, at, reason in await cursor.fetchall()]
        return authority.revocation_list(revoked, now=datetime.now(UTC))

    async def _authority(self, tx: TenantTransaction, actor: Actor) -> tuple[dict[str, Any], Authority]:
        found = await self._read_authority(tx)
        if found is not None:
            return found
        await self.require_active_tenant(tx)
        # Concurrent first needs queue here; each one after the first then finds the authority.
        # (Not a savepoint: rows written in one would carry a subtransaction's xmin, not the
        # transaction id that the events record.)
        await tx.connection.execute(LOCK_AUTHORITY_CREATION, (str(tx.tenant_id),))
        found = await self._read_authority(tx)
        if found is not None:
            return found
        made = new_authority(tx.tenant_id, now=datetime.now(UTC))
        change = await self.authorities.create(
            tx,
            _certificate_columns(made.certificate),
            event_name="CertificateAuthorityCreated",
            actor=actor,
            details={
                "subject": made.certificate.subject,
                "serial_number": made.certificate.serial_number,
                "key_algorithm": made.certificate.key_algorithm,
                "fingerprint_sha256": made.certificate.fingerprint_sha256,
                "not_after": made.certificate.not_after.isoformat(),
            },
        )
        await tx.connection.execute(
            STORE_AUTHORITY_KEY, (tx.tenant_id, change.state["id"], made.private_key_pem)
        )
        return change.state, Authority(made.certificate.certificate_pem, made.private_key_pem)

    async def _read_authority(self, tx: TenantTransaction) -> tuple[dict[str, Any], Authority] | None:
        cursor = await tx.connection.execute(READ_AUTHORITY_WITH_KEY, (tx.tenant_id,))
        row = await cursor.fetchone()
        if row is None:
            return None
        state, private_key_pem = dict(row[0]), str(row[1])
        return state, Authority(state["certificate_pem"], private_key_pem)

    # Certificates

    async def issue_certificate(
        self,
        tx: TenantTransaction,
        source: CertificateSource,
        *,
        validity_days: int,
        actor: Actor,
        certificate_id: UUID | None = None,
    ) -> Issued:
        """CertificateIssued: a certificate signed by the tenant's authority, not bound to a device yet.

        The first certificate of a tenant also creates its authority (CertificateAuthorityCreated).
        """
        if (source.csr is None) == (source.generate_key is None):
            raise InvalidInput("csr", "give either a csr (PEM) or generate_key, not both and not neither")
        await self.require_active_tenant(tx)
        if source.csr is not None:
            if source.common_name is not None:
                raise InvalidInput("common_name", "comes from the CSR's subject; leave it out with a csr")
            request = read_csr(source.csr)
            public_key, subject, key_algorithm = request.public_key, request.subject, request.key_algorithm
            private_key_pem = None
            key_source = "csr"
        else:
            assert source.generate_key is not None  # one of the two, checked above
            if source.common_name is None:
                raise InvalidInput("common_name", "is required with generate_key")
            subject = subject_for(source.common_name)
            generated = generate_device_key(source.generate_key)
            public_key, key_algorithm = generated.public_key, generated.key_algorithm
            private_key_pem = generated.private_key_pem
            key_source = "generated"
        authority_state, authority = await self._authority(tx, actor)
        facts = authority.issue(public_key, subject, key_algorithm, days=validity_days, now=datetime.now(UTC))
        change = await self.certificates.create(
            tx,
            {
                **_certificate_columns(facts),
                "authority_id": authority_state["id"],
                "common_name": facts.common_name,
                "key_source": key_source,
                "status": "active",
            },
            event_name="CertificateIssued",
            actor=actor,
            details={
                "serial_number": facts.serial_number,
                "subject": facts.subject,
                "key_algorithm": facts.key_algorithm,
                "key_source": key_source,
                "fingerprint_sha256": facts.fingerprint_sha256,
                "not_before": facts.not_before.isoformat(),
                "not_after": facts.not_after.isoformat(),
            },
            aggregate_id=certificate_id,
        )
        return Issued(change, private_key_pem)

    async def get_certificate(self, tx: TenantTransaction, certificate_id: UUID) -> dict[str, Any]:
        return await self.certificates.get(tx, certificate_id)

    async def read_certificate(self, pool: Pool, tenant_id: UUID, certificate_id: UUID) -> dict[str, Any]:
        state = await read_one_json(pool, tenant_id, READ_CERTIFICATE, (tenant_id, certificate_id))
        return _found(state, "Certificate", certificate_id)

    async def list_certificates(
        self,
        pool: Pool,
        tenant_id: UUID,
        *,
        status: str | None,
        device_id: UUID | None,
        after: str | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        """Certificates ordered by serial number, from just after ``after``."""
        parameters = (tenant_id, status, status, device_id, device_id, after, after, limit)
        return await read_all_json(pool, tenant_id, LIST_CERTIFICATES, parameters)

    async def bind_certificate(
        self,
        tx: TenantTransaction,
        certificate_id: UUID,
        device_id: UUID,
        *,
        expected_version: int | None,
        actor: Actor,
    ) -> Change | None:
        """CertificateBound (first binding or rebinding); None if already bound to that device.

        409 if the certificate is revoked or expired, or the device is decommissioned.
        """
        certificate = await self.certificates.get(tx, certificate_id)
        if certificate["status"] == "revoked":
            raise Conflict(f"certificate {certificate_id} is revoked: it cannot be bound")
        if datetime.fromisoformat(certificate["not_after"]) <= datetime.now(UTC):
            raise Conflict(f"certificate {certificate_id} has expired: it cannot be bound")
        device = await one_json(tx, SHARE_DEVICE, (tx.tenant_id, device_id))
        if device is None:
            raise NotFound(f"Device {device_id} not found")
        if device["status"] != "active":
            raise Conflict(f"device {device_id} is decommissioned: no certificate can be bound to it")
        if certificate["device_id"] == str(device_id):
            return None
        await self.require_active_tenant(tx)
        return await self.certificates.update(
            tx,
            certificate_id,
            {"device_id": device_id, "bound_at": DATABASE_NOW},
            expected_version=expected_version if expected_version is not None else certificate["version"],
            event_name="CertificateBound",
            actor=actor,
            details={"previous_device_id": certificate["device_id"], "device_id": device_id},
        )

    async def revoke_certificate(
        self,
        tx: TenantTransaction,
        certificate_id: UUID,
        *,
        reason: str,
        comment: str | None,
        expected_version: int | None,
        actor: Actor,
    ) -> Change:
        """CertificateRevoked; 409 if it is revoked already. It stays bound, for the record."""
        certificate = await self.certificates.get(tx, certificate_id)
        if certificate["status"] == "revoked":
            raise Conflict(f"certificate {certificate_id} is already revoked")
        details: dict[str, Any] = {"reason": reason, "device_id": certificate["device_id"]}
        if comment is not None:
            details["comment"] = comment
        return await self.certificates.update(
            tx,
            certificate_id,
            {"status": "revoked", "revoked_at": DATABASE_NOW, "revocation_reason": reason},
            expected_version=expected_version if expected_version is not None else certificate["version"],
            event_name="CertificateRevoked",
            actor=actor,
            details=details,
        )

    async def certificate_history(self, tx: TenantTransaction, certificate_id: UUID) -> list[RecordedEvent]:
        await self.certificates.get(tx, certificate_id)
        return await self.store.history(tx, "Certificate", certificate_id)

    async def certificate_at(
        self, tx: TenantTransaction, certificate_id: UUID, at: datetime
    ) -> dict[str, Any]:
        """The certificate as it was at ``at`` (its device then, its status then), from its events."""
        return await self._state_at(tx, "Certificate", certificate_id, at)

    async def _state_at(
        self, tx: TenantTransaction, kind: str, aggregate_id: UUID, at: datetime
    ) -> dict[str, Any]:
        event = await self.store.state_at(tx, kind, aggregate_id, at)
        if event is None:
            raise NotFound(f"{kind} {aggregate_id} not found at {at.isoformat()}")
        return event.state


def _found(state: dict[str, Any] | None, kind: str, aggregate_id: UUID) -> dict[str, Any]:
    if state is None:
        raise NotFound(f"{kind} {aggregate_id} not found")
    return state


def _certificate_columns(facts: CertificateFacts) -> dict[str, Any]:
    return {
        "serial_number": facts.serial_number,
        "subject": facts.subject,
        "key_algorithm": facts.key_algorithm,
        "fingerprint_sha256": facts.fingerprint_sha256,
        "certificate_pem": facts.certificate_pem,
        "not_before": facts.not_before,
        "not_after": facts.not_after,
    }
