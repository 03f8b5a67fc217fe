"""The cryptography of a tenant's certificate authority: keys, certificates, requests, revocation lists.

No database here. An authority is an ECDSA P-256 key pair with a self-signed CA
certificate (:func:`new_authority`); it issues end-entity certificates for device
keys (:meth:`Authority.issue`), from a certificate signing request whose signature
was verified (:func:`read_csr`) or for a key generated on request
(:func:`generate_device_key`), and signs the list of revoked serial numbers
(:meth:`Authority.revocation_list`).

What a certificate may do is the authority's decision, not the requester's: the
extensions of a CSR are ignored, and every certificate says ``CA:FALSE``, key
usage for its key type and ``clientAuth`` (devices authenticate to the platform).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from reference.platform.errors import InvalidInput

AUTHORITY_KEY_ALGORITHM = "ecdsa-p256"
AUTHORITY_VALIDITY = timedelta(days=10 * 365)
# A CRL is re-signed on every request; relying parties fetch it again within a day.
REVOCATION_LIST_VALIDITY = timedelta(days=1)
MAX_SUBJECT_LENGTH = 1000
MIN_RSA_BITS = 2048
MAX_RSA_BITS = 8192
GeneratedKeyAlgorithm = Literal["ecdsa-p256", "ed25519"]
IssuablePublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey
_CURVES = {"secp256r1": "ecdsa-p256", "secp384r1": "ecdsa-p384"}


@dataclass(frozen=True)
class CertificateFacts:
    """What the database records of a certificate (the PEM and what is read from it)."""

    serial_number: str
    subject: str
    common_name: str
    key_algorithm: str
    fingerprint_sha256: str
    certificate_pem: str
    not_before: datetime
    not_after: datetime

    @classmethod
    def of(cls, certificate: x509.Certificate, key_algorithm: str) -> CertificateFacts:
        return cls(
            serial_number=serial_hex(certificate.serial_number),
            subject=certificate.subject.rfc4514_string(),
            common_name=common_name(certificate.subject) or "",
            key_algorithm=key_algorithm,
            fingerprint_sha256=certificate.fingerprint(hashes.SHA256()).hex(),
            certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
            not_before=certificate.not_valid_before_utc,
            not_after=certificate.not_valid_after_utc,
        )


@dataclass(frozen=True)
class NewAuthority:
    """A freshly made authority: its certificate's facts and its private key (PKCS#8 PEM)."""

    certificate: CertificateFacts
    private_key_pem: str


@dataclass(frozen=True)
class SigningRequest:
    """A certificate signing request whose signature verified."""

    public_key: IssuablePublicKey
    subject: x509.Name
    key_algorithm: str


@dataclass(frozen=True)
class GeneratedKey:
    """A device key made on request: the caller gets the private half once; nothing keeps it."""

    public_key: IssuablePublicKey
    private_key_pem: str
    key_algorithm: str


@dataclass(frozen=True)
class RevokedSerial:
    """One entry of a revocation list."""

    serial_number: str
    revoked_at: datetime
    reason: str


class Authority:
    """A loaded authority (its CA certificate and private key) that signs certificates and CRLs."""

    def __init__(self, certificate_pem: str, private_key_pem: str) -> None:
        self.certificate = x509.load_pem_x509_certificate(certificate_pem.encode("ascii"))
        key = serialization.load_pem_private_key(private_key_pem.encode("ascii"), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("a certificate authority key must be an ECDSA key")
        self._key = key

    def issue(
        self,
        public_key: IssuablePublicKey,
        subject: x509.Name,
        key_algorithm: str,
        *,
        days: int,
        now: datetime,
    ) -> CertificateFacts:
        """A certificate for ``public_key`` named ``subject``, valid ``days`` from ``now`` (whole seconds)."""
        not_before = now.replace(microsecond=0)
        not_after = not_before + timedelta(days=days)
        if not_after > self.certificate.not_valid_after_utc:
            raise InvalidInput(
                "validity_days",
                f"the certificate would outlive its authority (valid until "
                f"{self.certificate.not_valid_after_utc.isoformat()})",
            )
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.certificate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(public_key), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(self._authority_key_identifier(), critical=False)
        )
        certificate = builder.sign(self._key, hashes.SHA256())
        return CertificateFacts.of(certificate, key_algorithm)

    def revocation_list(self, revoked: Iterable[RevokedSerial], *, now: datetime) -> str:
        """The signed CRL (PEM) of ``revoked``; its number is their count, which only grows."""
        entries = list(revoked)
        this_update = now.replace(microsecond=0)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.certificate.subject)
            .last_update(this_update)
            .next_update(this_update + REVOCATION_LIST_VALIDITY)
            .add_extension(x509.CRLNumber(len(entries)), critical=False)
            .add_extension(self._authority_key_identifier(), critical=False)
        )
        for entry in entries:
            revoked_certificate = x509.RevokedCertificateBuilder(
                serial_number=int(entry.serial_number, 16),
                revocation_date=entry.revoked_at.replace(microsecond=0),
            )
            # RFC 5280 5.3.1: the reason code 'unspecified' should be left out.
            if entry.reason != "unspecified":
                revoked_certificate = revoked_certificate.add_extension(
                    x509.CRLReason(x509.ReasonFlags[entry.reason]), critical=False
                )
            builder = builder.add_revoked_certificate(revoked_certificate.build())
        crl = builder.sign(self._key, hashes.SHA256())
        return crl.public_bytes(serialization.Encoding.PEM).decode("ascii")

    def _authority_key_identifier(self) -> x509.AuthorityKeyIdentifier:
        identifier = self.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(identifier)


def new_authority(tenant_id: UUID, *, now: datetime) -> NewAuthority:
    """A new ECDSA P-256 key and its self-signed CA certificate, named after ``tenant_id``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "fitgate"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"Device CA {tenant_id}"),
        ]
    )
    not_before = now.replace(microsecond=0)
    public_key = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + AUTHORITY_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .sign(key, hashes.SHA256())
    )
    private_key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    return NewAuthority(CertificateFacts.of(certificate, AUTHORITY_KEY_ALGORITHM), private_key_pem)


def read_csr(pem: str) -> SigningRequest:
    """The verified key and subject of a PEM CSR; :class:`InvalidInput` naming ``csr`` otherwise."""
    try:
        request = x509.load_pem_x509_csr(pem.encode("utf-8"))
    except ValueError:
        raise InvalidInput("csr", "is not a PEM certificate signing request") from None
    try:
        signature_valid = request.is_signature_valid
        public_key = request.public_key()
        subject = request.subject
    except (ValueError, x509.UnsupportedGeneralNameType) as exc:
        raise InvalidInput("csr", f"cannot be read: {exc}") from None
    if not signature_valid:
        raise InvalidInput(
            "csr", "its signature does not verify: the request was altered or signed by another key"
        )
    if not isinstance(public_key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey):
        raise InvalidInput("csr", f"{_accepted_keys()}; this request has a {type(public_key).__name__}")
    key_algorithm = describe_key(public_key)
    if key_algorithm is None:
        raise InvalidInput("csr", f"{_accepted_keys()}; this request's key is not one of them")
    check_subject(subject, "csr")
    return SigningRequest(public_key, subject, key_algorithm)


def generate_device_key(algorithm: GeneratedKeyAlgorithm) -> GeneratedKey:
    """A new device key pair of ``algorithm``; the private key as unencrypted PKCS#8 PEM."""
    private_key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey = (
        ec.generate_private_key(ec.SECP256R1())
        if algorithm == "ecdsa-p256"
        else ed25519.Ed25519PrivateKey.generate()
    )
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    return GeneratedKey(private_key.public_key(), pem, algorithm)


def subject_for(common_name_value: str) -> x509.Name:
    """The subject of a certificate for a generated key: just its common name."""
    try:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name_value)])
    except ValueError as exc:
        raise InvalidInput("common_name", str(exc)) from None


def check_subject(subject: x509.Name, field: str) -> None:
    """Raise :class:`InvalidInput` naming ``field`` unless ``subject`` has a common name and fits."""
    name = common_name(subject)
    if not name:
        raise InvalidInput(field, "the subject names no common name (CN)")
    if len(name) > 64:
        raise InvalidInput(field, "the subject's common name is longer than 64 characters")
    if len(subject.rfc4514_string()) > MAX_SUBJECT_LENGTH:
        raise InvalidInput(field, f"the subject is longer than {MAX_SUBJECT_LENGTH} characters")


def describe_key(public_key: IssuablePublicKey) -> str | None:
    """``ecdsa-p256``, ``ecdsa-p384``, ``ed25519`` or ``rsa-<bits>``; None for a key we do not certify."""
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return "ed25519"
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return _CURVES.get(public_key.curve.name)
    if MIN_RSA_BITS <= public_key.key_size <= MAX_RSA_BITS:
        return f"rsa-{public_key.key_size}"
    return None


def common_name(name: x509.Name) -> str | None:
    """The (first) common name in ``name``, if any."""
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not values:
        return None
    value = values[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def serial_hex(serial: int) -> str:
    """A serial number as 40 lower-case hex digits (random serials have at most 159 bits)."""
    return f"{serial:040x}"


def _key_usage(public_key: IssuablePublicKey) -> x509.KeyUsage:
    is_ec = isinstance(public_key, ec.EllipticCurvePublicKey)
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=isinstance(public_key, rsa.RSAPublicKey),
        data_encipherment=False,
        key_agreement=is_ec,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _accepted_keys() -> str:
    return f"the key must be ECDSA P-256 or P-384, Ed25519, or RSA of {MIN_RSA_BITS} to {MAX_RSA_BITS} bits"
