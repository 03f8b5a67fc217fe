"""Request and response bodies of the device API (and so its OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from reference.platform.api_models import Strict

SerialNumber = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$",
        description="the manufacturer's serial number: 1 to 64 letters, digits, '.', '_', ':', '/' or '-'",
        examples=["IP-3000-0001"],
    ),
]
DeviceKind = Annotated[
    str,
    Field(
        pattern=r"^[a-z][a-z0-9_-]{1,62}$",
        description="2 to 63 lower-case letters, digits, '_' or '-', starting with a letter",
        examples=["infusion-pump"],
    ),
]
RevocationReason = Literal[
    "unspecified",
    "key_compromise",
    "affiliation_changed",
    "superseded",
    "cessation_of_operation",
    "privilege_withdrawn",
]


class NewDevice(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200, examples=["Infusion pump, ward 3"])]
    serial_number: SerialNumber
    model: Annotated[str, Field(min_length=1, max_length=200, examples=["Volumat Agilia"])]
    kind: DeviceKind


class Decommissioning(Strict):
    reason: Annotated[str | None, Field(max_length=500)] = None


class CertificateRequest(Strict):
    """Either ``csr`` (the device keeps its key) or ``generate_key`` with ``common_name``."""

    csr: Annotated[
        str | None,
        Field(
            max_length=16384,
            description="a PEM certificate signing request; its subject becomes the certificate's",
        ),
    ] = None
    generate_key: Annotated[
        Literal["ecdsa-p256", "ed25519"] | None,
        Field(description="generate the key pair here; the private key is returned once, never stored"),
    ] = None
    common_name: Annotated[
        str | None,
        Field(min_length=1, max_length=64, description="the subject's CN, with generate_key only"),
    ] = None
    validity_days: Annotated[int, Field(ge=1, le=825, description="how long the certificate is valid")] = 365


class Binding(Strict):
    device_id: UUID


class Revocation(Strict):
    reason: RevocationReason
    comment: Annotated[str | None, Field(max_length=500)] = None


class Device(BaseModel):
    tenant_id: UUID
    id: UUID
    name: str
    serial_number: str
    model: str
    kind: str
    status: Literal["active", "decommissioned"]
    version: int
    created_at: datetime
    updated_at: datetime
    decommissioned_at: datetime | None


class DevicePage(BaseModel):
    items: list[Device]
    next_after: str | None = Field(description="pass as `after` for the next page; null on the last one")


class CertificateAuthority(BaseModel):
    tenant_id: UUID
    id: UUID
    subject: str
    serial_number: str
    key_algorithm: str
    fingerprint_sha256: str
    certificate_pem: str
    not_before: datetime
    not_after: datetime
    version: int
    created_at: datetime
    updated_at: datetime


class Certificate(BaseModel):
    tenant_id: UUID
    id: UUID
    authority_id: UUID
    serial_number: str = Field(description="40 lower-case hex digits")
    subject: str = Field(description="RFC 4514")
    common_name: str
    key_algorithm: str
    key_source: Literal["csr", "generated"]
    fingerprint_sha256: str
    certificate_pem: str
    not_before: datetime
    not_after: datetime
    device_id: UUID | None
    bound_at: datetime | None
    status: Literal["active", "revoked"]
    revoked_at: datetime | None
    revocation_reason: RevocationReason | None
    version: int
    created_at: datetime
    updated_at: datetime


class IssuedCertificate(Certificate):
    private_key_pem: str | None = Field(
        description="PKCS#8 PEM of a generated key: shown in this response only, never stored; "
        "null for a certificate issued from a CSR"
    )


class CertificatePage(BaseModel):
    items: list[Certificate]
    next_after: str | None = Field(description="pass as `after` for the next page; null on the last one")
