"""Device's load: biomedical engineers registering devices and managing their certificates.

Each simulated person is a tenant's biomedical engineer (admin role, their own
account: :mod:`loadtests.people`). Through the day they register devices,
issue a certificate for one (half from a certificate signing request made on
the device, whose key never leaves it; half for a key the service generates
and returns once) and bind it; move a certificate to another device (a
replaced unit); look at devices, their certificates, certificates and their
histories; fetch the tenant's authority and its revocation list (what a
device checks peers against); and retire a device: its certificates revoked,
then the device decommissioned. Each person changes only the devices and
certificates they made, with the version they last saw (If-Match), so no
conflict is expected; reads range over the whole tenant.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from locust import task

from loadtests.people import onboard
from loadtests.platform_user import PlatformUser, ShuffledTasks, think_time
from loadtests.sign_in import Session
from loadtests.tenants import ADMIN_ROLE, next_tenant

# Request names: the endpoint templates, exactly the budget keys in quality-attributes.yaml.
DEVICES = "/v1/devices"
DEVICE = "/v1/devices/{device_id}"
DECOMMISSION = "/v1/devices/{device_id}/decommission"
DEVICE_HISTORY = "/v1/devices/{device_id}/history"
DEVICE_CERTIFICATES = "/v1/devices/{device_id}/certificates"
AUTHORITY = "/v1/ca"
REVOCATION_LIST = "/v1/ca/crl"
CERTIFICATES = "/v1/certificates"
CERTIFICATE = "/v1/certificates/{certificate_id}"
CERTIFICATE_HISTORY = "/v1/certificates/{certificate_id}/history"
BINDING = "/v1/certificates/{certificate_id}/device"
REVOKE = "/v1/certificates/{certificate_id}/revoke"

KINDS = {
    "infusion-pump": "Volumat Agilia",
    "patient-monitor": "IntelliVue MX450",
    "ventilator": "Hamilton C6",
    "glucose-meter": "Accu-Chek Inform II",
}
PAGE_SIZE = 20
VALIDITY_DAYS = 365


@dataclass
class Certificate:
    id: str
    version: int
    device_id: str | None = None


@dataclass
class Device:
    id: str
    version: int
    certificates: set[str] = field(default_factory=set)


def _if_match(version: int) -> dict[str, str]:
    return {"If-Match": f'"{version}"'}


def signing_request(common_name: str) -> str:
    """A PEM CSR as a device makes it: a P-256 key of its own, the request signed with it."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    request = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return request.public_bytes(serialization.Encoding.PEM).decode("ascii")


class DeviceEngineering(ShuffledTasks):
    """One engineer's work with devices and certificates (state lives here for the whole session)."""

    user: DeviceUser

    def __init__(self, parent: Any) -> None:
        super().__init__(parent)
        self.session: Session | None = None
        self.devices: dict[str, Device] = {}
        self.certificates: dict[str, Certificate] = {}

    def arrive(self) -> Session:
        """Once: the person's account and login."""
        if self.session is None:
            self.session = Session(self.user, onboard(self.user, next_tenant(), "biomed", (ADMIN_ROLE,)))
        return self.session

    # -- the day's work ------------------------------------------------------------------------

    @task(2)
    def register_device(self) -> None:
        """A new unit arrives on the ward."""
        self._register(self.arrive())

    @task(3)
    def issue_and_bind(self) -> None:
        """A certificate for a device (from its CSR, or for a generated key), bound to it."""
        session = self.arrive()
        device = self._some_device(session)
        name = f"{device.id[:8]}-{uuid.uuid4().hex[:8]}"
        if random.random() < 0.5:
            body: dict[str, Any] = {"csr": signing_request(name)}
        else:
            body = {"generate_key": "ecdsa-p256", "common_name": name}
        body["validity_days"] = VALIDITY_DAYS
        issued = self.user.call("POST", CERTIFICATES, expect=(201,), headers=session.headers, json=body)
        certificate = Certificate(issued["id"], issued["version"])
        self.certificates[certificate.id] = certificate
        self._bind(session, certificate, device)

    @task(1)
    def move_certificate(self) -> None:
        """A unit is replaced: its certificate is bound to the replacement."""
        session = self.arrive()
        bound = [c for c in self.certificates.values() if c.device_id is not None]
        if not bound or len(self.devices) < 2:
            self.issue_and_bind()
            return
        certificate = random.choice(bound)
        replacement = random.choice([d for d in self.devices.values() if d.id != certificate.device_id])
        self._bind(session, certificate, replacement)

    @task(3)
    def inspect_device(self) -> None:
        """A device and the certificates bound to it."""
        session = self.arrive()
        device = self._some_device(session)
        self.user.call("GET", DEVICE, headers=session.headers, device_id=device.id)
        self.user.call("GET", DEVICE_CERTIFICATES, headers=session.headers, device_id=device.id)

    @task(2)
    def browse(self) -> None:
        """The tenant's devices of a kind, and its active certificates."""
        session = self.arrive()
        params = {"limit": PAGE_SIZE, "kind": random.choice(list(KINDS))}
        self.user.call("GET", DEVICES, headers=session.headers, params=params)
        self.user.call(
            "GET", CERTIFICATES, headers=session.headers, params={"limit": PAGE_SIZE, "status": "active"}
        )

    @task(2)
    def inspect_certificate(self) -> None:
        """A certificate, and its history: issued, where it was bound, revoked."""
        session = self.arrive()
        if not self.certificates:
            self.issue_and_bind()
            return
        certificate_id = random.choice(list(self.certificates))
        self.user.call("GET", CERTIFICATE, headers=session.headers, certificate_id=certificate_id)
        self.user.call("GET", CERTIFICATE_HISTORY, headers=session.headers, certificate_id=certificate_id)

    @task(1)
    def audit_device(self) -> None:
        session = self.arrive()
        device = self._some_device(session)
        self.user.call("GET", DEVICE_HISTORY, headers=session.headers, device_id=device.id)

    @task(1)
    def check_authority(self) -> None:
        """What devices check peers against: the tenant's authority and its revocation list."""
        session = self.arrive()
        self.user.call("GET", AUTHORITY, headers=session.headers)
        self.user.call("GET", REVOCATION_LIST, headers=session.headers)

    @task(1)
    def retire_device(self) -> None:
        """A unit leaves service: its certificates are revoked, then it is decommissioned."""
        session = self.arrive()
        if len(self.devices) < 2:
            self._register(session)
        device = self.devices.pop(next(iter(self.devices)))
        for certificate_id in sorted(device.certificates):
            certificate = self.certificates.pop(certificate_id)
            self.user.call(
                "POST",
                REVOKE,
                headers={**session.headers, **_if_match(certificate.version)},
                json={"reason": "cessation_of_operation", "comment": "device retired"},
                certificate_id=certificate.id,
            )
        self.user.call(
            "POST",
            DECOMMISSION,
            headers={**session.headers, **_if_match(device.version)},
            json={"reason": "end of life"},
            device_id=device.id,
        )

    # -- helpers ---------------------------------------------------------------------------------

    def _register(self, session: Session) -> Device:
        kind = random.choice(list(KINDS))
        body = {
            "name": f"{kind} {uuid.uuid4().hex[:6]}",
            "serial_number": f"SN-{uuid.uuid4().hex[:16].upper()}",
            "model": KINDS[kind],
            "kind": kind,
        }
        registered = self.user.call("POST", DEVICES, expect=(201,), headers=session.headers, json=body)
        device = Device(registered["id"], registered["version"])
        self.devices[device.id] = device
        return device

    def _some_device(self, session: Session) -> Device:
        if not self.devices:
            return self._register(session)
        return random.choice(list(self.devices.values()))

    def _bind(self, session: Session, certificate: Certificate, device: Device) -> None:
        bound = self.user.call(
            "PUT",
            BINDING,
            headers={**session.headers, **_if_match(certificate.version)},
            json={"device_id": device.id},
            certificate_id=certificate.id,
        )
        if certificate.device_id is not None and certificate.device_id in self.devices:
            self.devices[certificate.device_id].certificates.discard(certificate.id)
        certificate.version, certificate.device_id = bound["version"], device.id
        device.certificates.add(certificate.id)


class DeviceUser(PlatformUser):
    """A biomedical engineer keeping a tenant's devices and their certificates."""

    service = "device"
    wait_time = think_time(1.0, 3.0)
    tasks = [DeviceEngineering]  # noqa: RUF012  (locust's own form: it reads the class attribute)
