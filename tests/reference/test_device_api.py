"""Every device endpoint over HTTP, against the service running as its own process.

Certificates are checked with ``cryptography`` as a relying party would: each
verifies against its tenant's CA certificate, and the CRL is signed by that CA.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import psycopg
import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from fitness.serving import RunningService
from reference.platform.seeding import TENANT_A, TENANT_B
from tests.reference.conftest import TenantCaller, Tokens, bearer, log_of
from tests.reference.test_directory_api import assert_error

PEM_CHAIN = "application/pem-certificate-chain"


def register_device(
    client: httpx.Client, tenant: TenantCaller, serial_number: str, kind: str = "infusion-pump"
) -> dict[str, Any]:
    response = client.post(
        "/v1/devices",
        json={"name": f"Device {serial_number}", "serial_number": serial_number, "model": "M1", "kind": kind},
        headers=tenant.admin,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def issue_certificate(client: httpx.Client, tenant: TenantCaller, common_name: str) -> dict[str, Any]:
    response = client.post(
        "/v1/certificates",
        json={"generate_key": "ecdsa-p256", "common_name": common_name, "validity_days": 30},
        headers=tenant.admin,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def bind(
    client: httpx.Client, tenant: TenantCaller, certificate_id: str, device_id: str, **headers: str
) -> httpx.Response:
    return client.put(
        f"/v1/certificates/{certificate_id}/device",
        json={"device_id": device_id},
        headers={**tenant.admin, **headers},
    )


def signing_request(
    common_name: str | None = "monitor-7",
    key: Any = None,
    extra_extension: x509.ExtensionType | None = None,
) -> tuple[str, Any]:
    """A PEM CSR and its private key (ECDSA P-256 unless ``key`` is given)."""
    private_key = key if key is not None else ec.generate_private_key(ec.SECP256R1())
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Clinic North")]
    if common_name is not None:
        attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(attributes))
    if extra_extension is not None:
        builder = builder.add_extension(extra_extension, critical=True)
    algorithm = None if isinstance(private_key, ed448.Ed448PrivateKey) else hashes.SHA256()
    request = builder.sign(private_key, algorithm)
    return request.public_bytes(serialization.Encoding.PEM).decode("ascii"), private_key


def authority_of(client: httpx.Client, tenant: TenantCaller) -> x509.Certificate:
    response = client.get("/v1/ca", headers=tenant.reader)
    assert response.status_code == 200, response.text
    return x509.load_pem_x509_certificate(response.json()["certificate_pem"].encode())


def assert_issued_by(certificate_pem: str, authority: x509.Certificate) -> x509.Certificate:
    """The certificate's signature verifies with the authority's key, and its issuer is the authority."""
    certificate = x509.load_pem_x509_certificate(certificate_pem.encode())
    certificate.verify_directly_issued_by(authority)
    return certificate


def test_probes_and_openapi(device: httpx.Client) -> None:
    assert device.get("/healthz").json() == {"status": "alive"}
    assert device.get("/readyz").json() == {"status": "ready", "role": "device_service"}
    paths = device.get("/openapi.json").json()["paths"]
    assert {
        "/v1/devices",
        "/v1/devices/{device_id}",
        "/v1/devices/{device_id}/decommission",
        "/v1/devices/{device_id}/history",
        "/v1/devices/{device_id}/certificates",
        "/v1/ca",
        "/v1/ca/crl",
        "/v1/certificates",
        "/v1/certificates/{certificate_id}",
        "/v1/certificates/{certificate_id}/history",
        "/v1/certificates/{certificate_id}/device",
        "/v1/certificates/{certificate_id}/revoke",
    } <= set(paths)


def test_every_endpoint_has_a_declared_latency_budget(device: httpx.Client, fitgate_config: Any) -> None:
    spec = device.get("/openapi.json").json()["paths"]
    endpoints = {
        f"{method.upper()} {path}"
        for path, methods in spec.items()
        for method in methods
        if path.startswith("/v1/")
    }
    assert set(fitgate_config.services["device"].budgets) == endpoints


def test_register_get_and_list_devices(device: httpx.Client, new_tenant: Callable[[], TenantCaller]) -> None:
    tenant = new_tenant()
    created = device.post(
        "/v1/devices",
        json={"name": "Pump 1", "serial_number": "SN-0003", "model": "Volumat", "kind": "infusion-pump"},
        headers=tenant.admin,
    )
    assert created.status_code == 201
    pump = created.json()
    assert created.headers["location"] == f"/v1/devices/{pump['id']}" and created.headers["etag"] == '"1"'
    assert (pump["status"], pump["version"], pump["decommissioned_at"]) == ("active", 1, None)
    register_device(device, tenant, "SN-0001", kind="patient-monitor")
    register_device(device, tenant, "SN-0002")
    fetched = device.get(f"/v1/devices/{pump['id']}", headers=tenant.reader)
    assert fetched.json() == pump and fetched.headers["etag"] == '"1"'
    first = device.get("/v1/devices", params={"limit": 2}, headers=tenant.reader).json()
    assert [d["serial_number"] for d in first["items"]] == ["SN-0001", "SN-0002"]
    assert first["next_after"] == "SN-0002"
    rest = device.get("/v1/devices", params={"limit": 2, "after": "SN-0002"}, headers=tenant.reader).json()
    assert [d["serial_number"] for d in rest["items"]] == ["SN-0003"] and rest["next_after"] is None
    monitors = device.get("/v1/devices", params={"kind": "patient-monitor"}, headers=tenant.reader).json()
    assert [d["serial_number"] for d in monitors["items"]] == ["SN-0001"]
    duplicate = device.post(
        "/v1/devices",
        json={"name": "Again", "serial_number": "SN-0003", "model": "X", "kind": "infusion-pump"},
        headers=tenant.admin,
    )
    assert_error(duplicate, 409, "conflict")
    assert "serial_number" in duplicate.json()["message"]
    assert_error(device.get(f"/v1/devices/{uuid4()}", headers=tenant.reader), 404, "not_found")


def test_the_same_serial_number_in_two_tenants(
    device: httpx.Client, new_tenant: Callable[[], TenantCaller]
) -> None:
    """Serial numbers are unique per tenant: another tenant's are neither taken nor revealed."""
    register_device(device, new_tenant(), "SHARED-1")
    register_device(device, new_tenant(), "SHARED-1")


def test_device_input_is_validated_naming_the_field(
    device: httpx.Client, new_tenant: Callable[[], TenantCaller]
) -> None:
    tenant = new_tenant()
    good = {"name": "Pump", "serial_number": "SN-1", "model": "M", "kind": "infusion-pump"}
    for field, value in (
        ("serial_number", "has spaces"),
        ("serial_number", ""),
        ("kind", "Infusion Pump"),
        ("name", ""),
        ("model", "x" * 201),
    ):
        response = device.post("/v1/devices", json={**good, field: value}, headers=tenant.admin)
        assert_error(response, 422, "invalid_input", field)
    missing = device.post(
        "/v1/devices", json={"name": "Pump", "model": "M", "kind": "k1"}, headers=tenant.admin
    )
    assert_error(missing, 422, "invalid_input", "serial_number")
    extra = device.post("/v1/devices", json={**good, "status": "decommissioned"}, headers=tenant.admin)
    assert_error(extra, 422, "invalid_input", "status")
    assert_error(device.get("/v1/devices/nope", headers=tenant.reader), 422, "invalid_input", "device_id")
    assert_error(
        device.get("/v1/devices", params={"status": "broken"}, headers=tenant.reader),
        422,
        "invalid_input",
        "status",
    )


def test_decommission(device: httpx.Client, new_tenant: Callable[[], TenantCaller]) -> None:
    tenant = new_tenant()
    pump = register_device(device, tenant, "DEC-1")
    spare = register_device(device, tenant, "DEC-2")
    certificate = issue_certificate(device, tenant, "dec-1")
    assert bind(device, tenant, certificate["id"], pump["id"]).status_code == 200
    path = f"/v1/devices/{pump['id']}/decommission"
    refused = device.post(path, json={"reason": "end of life"}, headers=tenant.admin)
    assert_error(refused, 409, "conflict")
    assert "revoke" in refused.json()["message"]
    assert bind(device, tenant, certificate["id"], spare["id"]).status_code == 200
    stale = device.post(path, headers={**tenant.admin, "If-Match": '"2"'})
    assert_error(stale, 409, "version_conflict")
    done = device.post(path, json={"reason": "end of life"}, headers={**tenant.admin, "If-Match": '"1"'})
    assert done.status_code == 200
    assert (done.json()["status"], done.json()["version"], done.headers["etag"]) == (
        "decommissioned",
        2,
        '"2"',
    )
    assert done.json()["decommissioned_at"]
    assert_error(device.post(path, headers=tenant.admin), 409, "conflict")
    assert_error(bind(device, tenant, certificate["id"], pump["id"]), 409, "conflict")
    history = device.get(f"/v1/devices/{pump['id']}/history", headers=tenant.reader).json()
    assert [(e["event_name"], e["version"]) for e in history] == [
        ("DeviceRegistered", 1),
        ("DeviceDecommissioned", 2),
    ]
    assert history[1]["payload"]["reason"] == "end of life"
    assert all(e["payload"]["performed_by"] == tenant.admin_user for e in history)
    before = device.get(f"/v1/devices/{pump['id']}", params={"at": pump["created_at"]}, headers=tenant.reader)
    assert before.json()["status"] == "active"
    decommissioned = device.get("/v1/devices", params={"status": "decommissioned"}, headers=tenant.reader)
    assert [d["serial_number"] for d in decommissioned.json()["items"]] == ["DEC-1"]
    assert_error(device.post(f"/v1/devices/{uuid4()}/decommission", headers=tenant.admin), 404, "not_found")


def test_a_revoked_or_expired_certificate_does_not_block_decommissioning(
    device: httpx.Client, new_tenant: Callable[[], TenantCaller]
) -> None:
    tenant = new_tenant()
    pump = register_device(device, tenant, "DEC-3")
    certificate = issue_certificate(device, tenant, "dec-3")
    bind(device, tenant, certificate["id"], pump["id"])
    device.post(
        f"/v1/certificates/{certificate['id']}/revoke", json={"reason": "superseded"}, headers=tenant.admin
    )
    assert device.post(f"/v1/devices/{pump['id']}/decommission", headers=tenant.admin).status_code == 200


def test_the_certificate_authority(
    device: httpx.Client,
    superuser: psycopg.Connection[tuple[object, ...]],
    new_tenant: Callable[[], TenantCaller],
) -> None:
    tenant = new_tenant()
    response = device.get("/v1/ca", headers=tenant.reader)
    assert response.status_code == 200
    body = response.json()
    assert "private" not in response.text.lower()
    authority = x509.load_pem_x509_certificate(body["certificate_pem"].encode())
    authority.verify_directly_issued_by(authority)  # self-signed
    constraints = authority.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca
    assert authority.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    assert isinstance(authority.public_key(), ec.EllipticCurvePublicKey)
    assert str(tenant.id) in body["subject"] and body["key_algorithm"] == "ecdsa-p256"
    assert body["fingerprint_sha256"] == authority.fingerprint(hashes.SHA256()).hex()
    assert body["serial_number"] == f"{authority.serial_number:040x}"
    assert device.get("/v1/ca", headers=tenant.reader).json() == body, "created once, then served"
    pem = device.get("/v1/ca", headers={**tenant.reader, "Accept": PEM_CHAIN})
    assert pem.headers["content-type"].startswith(PEM_CHAIN) and pem.text == body["certificate_pem"]
    # The private key is stored apart, and is the key of the certificate served.
    row = superuser.execute(
        "SELECT private_key_pem FROM device.certificate_authority_keys WHERE tenant_id = %s AND id = %s",
        (tenant.id, body["id"]),
    ).fetchone()
    assert row is not None
    key = serialization.load_pem_private_key(str(row[0]).encode(), password=None)
    assert key.public_key() == authority.public_key()


def test_each_tenant_has_its_own_authority(
    device: httpx.Client, new_tenant: Callable[[], TenantCaller]
) -> None:
    a, b = new_tenant(), new_tenant()
    authority_a, authority_b = authority_of(device, a), authority_of(device, b)
    assert authority_a.public_key() != authority_b.public_key()
    certificate = issue_certificate(device, a, "only-a")
    assert_issued_by(certificate["certificate_pem"], authority_a)
    foreign = x509.load_pem_x509_certificate(certificate["certificate_pem"].encode())
    with pytest.raises((ValueError, InvalidSignature)):
        foreign.verify_directly_issued_by(authority_b)


def test_issue_for_a_generated_key(device: httpx.Client, new_tenant: Callable[[], TenantCaller]) -> None:
    tenant = new_tenant()
    for algorithm in ("ecdsa-p256", "ed25519"):
        response = device.post(
            "/v1/certificates",
            json={"generate_key": algorithm, "common_name": f"pump-{algorithm}", "validity_days": 90},
            headers=tenant.admin,
        )
        assert response.status_code == 201, response.text
        assert response.headers["cache-control"] == "no-store"
        body = response.json()
        assert response.headers["location"] == f"/v1/certificates/{body['id']}"
        certificate = assert_issued_by(body["certificate_pem"], authority_of(device, tenant))
        private_key = serialization.load_pem_private_key(body["private_key_pem"].encode(), password=None)
        assert private_key.public_key() == certificate.public_key()
        assert body["key_algorithm"] == algorithm and body["key_source"] == "generated"
        assert body["subject"] == f"CN=pump-{algorithm}" and body["common_name"] == f"pump-{algorithm}"
        assert body["serial_number"] == f"{certificate.serial_number:040x}"
        assert datetime.fromisoformat(body["not_after"]) - datetime.fromisoformat(
            body["not_before"]
        ) == timedelta(days=90)
        assert certificate.not_valid_after_utc == datetime.fromisoformat(body["not_after"])
        assert (body["status"], body["device_id"], body["version"]) == ("active", None, 1)
        extensions = certificate.extensions
        assert not extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        assert extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage(
            [ExtendedKeyUsageOID.CLIENT_AUTH]
        )
        fetched = device.get(f"/v1/certificates/{body['id']}", headers=tenant.reader).json()
        assert "private_key_pem" not in fetched
        assert fetched == {k: v for k, v in body.items() if k != "private_key_pem"}


def test_issue_from_a_csr(device: httpx.Client, new_tenant: Callable[[], TenantCaller]) -> None:
    tenant = new_tenant()
    authority = authority_of(device, tenant)
    keys = {
        "ecdsa-p256": ec.generate_private_key(ec.SECP256R1()),
        "ecdsa-p384": ec.generate_private_key(ec.SECP384R1()),
        "rsa-2048": rsa.generate_private_key(65537, 2048),
    }
    for algorithm, key in keys.items():
        # A CSR asking to be a CA gets an end-entity certificate: the authority decides extensions.
        csr, _ = signing_request(
            f"monitor-{algorithm}", key, x509.BasicConstraints(ca=True, path_length=None)
        )
        response = device.post("/v1/certificates", json={"csr": csr}, headers=tenant.admin)
        assert response.status_code == 201, response.text
        body = response.json()
        certificate = assert_issued_by(body["certificate_pem"], authority)
        assert certificate.public_key() == key.public_key()
        assert body["private_key_pem"] is None
        assert (body["key_algorithm"], body["key_source"]) == (algorithm, "csr")
        assert body["subject"] == f"CN=monitor-{algorithm},O=Clinic North"
        assert certificate.subject.rfc4514_string() == body["subject"]
        assert certificate.issuer == authority.subject
        assert not certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        assert datetime.fromisoformat(body["not_after"]) - datetime.fromisoformat(
            body["not_before"]
        ) == timedelta(days=365)


def test_invalid_certificate_requests_name_the_field(
    device: httpx.Client, new_tenant: Callable[[], TenantCaller]
) -> None:
    tenant = new_tenant()
    csr, _ = signing_request("monitor-7")
    der = x509.load_pem_x509_csr(csr.encode()).public_bytes(serialization.Encoding.DER)
    # The same request with its subject changed after signing: well formed, but the signature fails.
    altered = der.replace(b"monitor-7", b"monitor-8")
    tampered = x509.load_der_x509_csr(altered).public_bytes(serialization.Encoding.PEM).decode()
    no_common_name, _ = signing_request(common_name=None)
    ed448_csr, _ = signing_request(key=ed448.Ed448PrivateKey.generate())
    small_rsa, _ = signing_request(key=rsa.generate_private_key(65537, 1024))
    cases: list[tuple[dict[str, Any], str]] = [
        ({"csr": "not a csr"}, "csr"),
        ({"csr": tampered}, "csr"),
        ({"csr": no_common_name}, "csr"),
        ({"csr": ed448_csr}, "csr"),
        ({"csr": small_rsa}, "csr"),
        ({}, "csr"),
        ({"csr": csr, "generate_key": "ed25519"}, "csr"),
        ({"csr": csr, "common_name": "other"}, "common_name"),
        ({"generate_key": "ed25519"}, "common_name"),
        ({"generate_key": "rsa-1024", "common_name": "x"}, "generate_key"),
        ({"generate_key": "ed25519", "common_name": "x" * 65}, "common_name"),
        ({"generate_key": "ed25519", "common_name": "x", "validity_days": 0}, "validity_days"),
        ({"generate_key": "ed25519", "common_name": "x", "validity_days": 826}, "validity_days"),
        ({"generate_key": "ed25519", "common_name": "x", "subject": "CN=y"}, "subject"),
    ]
    for body, field in cases:
        response = device.post("/v1/certificates", json=body, headers=tenant.admin)
        assert_error(response, 422, "invalid_input", field)
    signature = device.post("/v1/certificates", json={"csr": tampered}, headers=tenant.admin).json()
    assert "signature does not verify" in signature["message"]
    listed = device.get("/v1/certificates", headers=tenant.reader).json()
    assert listed == {"items": [], "next_after": None}


def test_bind_rebind_and_revoke(device: httpx.Client, new_tenant: Callable[[], TenantCaller]) -> None:
    tenant = new_tenant()
    first, second = register_device(device, tenant, "BR-1"), register_device(device, tenant, "BR-2")
    certificate = issue_certificate(device, tenant, "br")
    path = f"/v1/certificates/{certificate['id']}"
    bound = bind(device, tenant, certificate["id"], first["id"], **{"If-Match": '"1"'})
    assert bound.status_code == 200
    assert (bound.json()["device_id"], bound.json()["version"], bound.headers["etag"]) == (
        first["id"],
        2,
        '"2"',
    )
    assert bound.json()["bound_at"]
    again = bind(device, tenant, certificate["id"], first["id"])
    assert again.status_code == 200 and again.json()["version"] == 2, "the same device again changes nothing"
    assert_error(
        bind(device, tenant, certificate["id"], second["id"], **{"If-Match": '"1"'}), 409, "version_conflict"
    )
    rebound = bind(device, tenant, certificate["id"], second["id"], **{"If-Match": '"2"'})
    assert (rebound.json()["device_id"], rebound.json()["version"]) == (second["id"], 3)
    assert_error(bind(device, tenant, certificate["id"], str(uuid4())), 404, "not_found")
    assert_error(
        device.put(f"{path}/device", json={"device_id": "x"}, headers=tenant.admin),
        422,
        "invalid_input",
        "device_id",
    )
    on_second = device.get(f"/v1/devices/{second['id']}/certificates", headers=tenant.reader).json()
    assert [c["id"] for c in on_second] == [certificate["id"]]
    assert device.get(f"/v1/devices/{first['id']}/certificates", headers=tenant.reader).json() == []
    listed = device.get("/v1/certificates", params={"device_id": second["id"]}, headers=tenant.reader).json()
    assert [c["id"] for c in listed["items"]] == [certificate["id"]]

    assert_error(
        device.post(f"{path}/revoke", json={"reason": "lost"}, headers=tenant.admin),
        422,
        "invalid_input",
        "reason",
    )
    assert_error(device.post(f"{path}/revoke", headers=tenant.admin), 422, "invalid_input", "body")
    revoked = device.post(
        f"{path}/revoke", json={"reason": "key_compromise", "comment": "pump stolen"}, headers=tenant.admin
    )
    assert revoked.status_code == 200
    state = revoked.json()
    assert (state["status"], state["revocation_reason"], state["version"]) == ("revoked", "key_compromise", 4)
    assert state["revoked_at"] and state["device_id"] == second["id"], "it stays bound, for the record"
    assert_error(
        device.post(f"{path}/revoke", json={"reason": "superseded"}, headers=tenant.admin), 409, "conflict"
    )
    assert_error(bind(device, tenant, certificate["id"], first["id"]), 409, "conflict")
    history = device.get(f"{path}/history", headers=tenant.reader).json()
    assert [e["event_name"] for e in history] == [
        "CertificateIssued",
        "CertificateBound",
        "CertificateBound",
        "CertificateRevoked",
    ]
    assert (
        history[1]["payload"]["previous_device_id"] is None
        and history[1]["payload"]["device_id"] == first["id"]
    )
    assert history[2]["payload"]["previous_device_id"] == first["id"]
    assert history[2]["payload"]["device_id"] == second["id"]
    assert history[3]["payload"]["comment"] == "pump stolen"
    assert history[3]["payload"]["device_id"] == second["id"]
    revoked_only = device.get("/v1/certificates", params={"status": "revoked"}, headers=tenant.reader).json()
    assert [c["id"] for c in revoked_only["items"]] == [certificate["id"]]


def test_which_device_was_the_certificate_bound_to_at_each_past_time(
    device: httpx.Client, new_tenant: Callable[[], TenantCaller]
) -> None:
    """The support question of ADR 3, answered from the certificate's events alone."""
    tenant = new_tenant()
    pump, monitor, robot = (register_device(device, tenant, serial) for serial in ("AT-1", "AT-2", "AT-3"))
    certificate = issue_certificate(device, tenant, "traveller")
    changes: list[tuple[datetime, str | None, str]] = [
        (datetime.fromisoformat(certificate["created_at"]), None, "active")
    ]
    for target in (pump, monitor, robot, pump):
        time.sleep(0.005)
        state = bind(device, tenant, certificate["id"], target["id"]).json()
        changes.append((datetime.fromisoformat(state["bound_at"]), target["id"], "active"))
    time.sleep(0.005)
    revoked = device.post(
        f"/v1/certificates/{certificate['id']}/revoke", json={"reason": "superseded"}, headers=tenant.admin
    ).json()
    changes.append((datetime.fromisoformat(revoked["revoked_at"]), pump["id"], "revoked"))
    path = f"/v1/certificates/{certificate['id']}"

    def at(moment: datetime) -> httpx.Response:
        return device.get(path, params={"at": moment.isoformat()}, headers=tenant.reader)

    for index, (moment, device_id, status) in enumerate(changes):
        then = at(moment).json()
        assert (then["device_id"], then["status"], then["version"]) == (device_id, status, index + 1)
        just_before = at(moment - timedelta(microseconds=1)).json() if index else None
        if just_before is not None:
            assert just_before["device_id"] == changes[index - 1][1]
            assert just_before["version"] == index
    assert_error(at(changes[0][0] - timedelta(seconds=1)), 404, "not_found")
    assert at(datetime.now(UTC) + timedelta(days=1)).json() == device.get(path, headers=tenant.reader).json()
    naive = device.get(path, params={"at": "2025-01-01T00:00:00"}, headers=tenant.reader)
    assert_error(naive, 422, "invalid_input", "at")


def test_the_revocation_list(device: httpx.Client, new_tenant: Callable[[], TenantCaller]) -> None:
    tenant = new_tenant()
    authority = authority_of(device, tenant)
    empty = device.get("/v1/ca/crl", headers=tenant.reader)
    assert empty.status_code == 200 and empty.headers["content-type"].startswith("application/x-pem-file")
    crl = x509.load_pem_x509_crl(empty.text.encode())
    assert crl.is_signature_valid(authority.public_key()) and len(crl) == 0
    kept, compromised, retired = (issue_certificate(device, tenant, name) for name in ("kept", "lost", "old"))
    for certificate, reason in ((compromised, "key_compromise"), (retired, "unspecified")):
        response = device.post(
            f"/v1/certificates/{certificate['id']}/revoke", json={"reason": reason}, headers=tenant.admin
        )
        assert response.status_code == 200
    crl = x509.load_pem_x509_crl(device.get("/v1/ca/crl", headers=tenant.reader).text.encode())
    assert crl.is_signature_valid(authority.public_key()) and crl.issuer == authority.subject
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 2
    entry = crl.get_revoked_certificate_by_serial_number(int(compromised["serial_number"], 16))
    assert entry is not None
    assert (
        entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
        == x509.ReasonFlags.key_compromise
    )
    assert crl.get_revoked_certificate_by_serial_number(int(retired["serial_number"], 16)) is not None
    assert crl.get_revoked_certificate_by_serial_number(int(kept["serial_number"], 16)) is None
    assert crl.next_update_utc is not None and crl.next_update_utc > datetime.now(UTC)


def test_list_certificates_in_pages(device: httpx.Client, new_tenant: Callable[[], TenantCaller]) -> None:
    tenant = new_tenant()
    issued = sorted(issue_certificate(device, tenant, f"page-{i}")["serial_number"] for i in range(3))
    first = device.get("/v1/certificates", params={"limit": 2}, headers=tenant.reader).json()
    assert [c["serial_number"] for c in first["items"]] == issued[:2] and first["next_after"] == issued[1]
    rest = device.get(
        "/v1/certificates", params={"limit": 2, "after": issued[1]}, headers=tenant.reader
    ).json()
    assert [c["serial_number"] for c in rest["items"]] == issued[2:] and rest["next_after"] is None


def test_writes_need_the_admin_role(device: httpx.Client, new_tenant: Callable[[], TenantCaller]) -> None:
    tenant = new_tenant()
    pump = register_device(device, tenant, "RO-1")
    certificate = issue_certificate(device, tenant, "ro")
    attempts = [
        device.post(
            "/v1/devices",
            json={"name": "x", "serial_number": "RO-2", "model": "m", "kind": "k1"},
            headers=tenant.reader,
        ),
        device.post(f"/v1/devices/{pump['id']}/decommission", headers=tenant.reader),
        device.post(
            "/v1/certificates", json={"generate_key": "ed25519", "common_name": "x"}, headers=tenant.reader
        ),
        device.put(
            f"/v1/certificates/{certificate['id']}/device",
            json={"device_id": pump["id"]},
            headers=tenant.reader,
        ),
        device.post(
            f"/v1/certificates/{certificate['id']}/revoke",
            json={"reason": "superseded"},
            headers=tenant.reader,
        ),
    ]
    for response in attempts:
        assert_error(response, 403, "forbidden")


def test_a_tenant_directory_does_not_know_gets_nothing(device: httpx.Client, tokens: Tokens) -> None:
    """The admin token can name any tenant id: device checks directory.tenants before creating anything."""
    ghost = bearer(tokens.admin(), **{"X-Tenant-ID": str(uuid4())})
    assert_error(device.get("/v1/ca", headers=ghost), 404, "not_found")
    assert_error(
        device.post(
            "/v1/devices",
            json={"name": "x", "serial_number": "G-1", "model": "m", "kind": "k1"},
            headers=ghost,
        ),
        404,
        "not_found",
    )
    assert_error(
        device.post("/v1/certificates", json={"generate_key": "ed25519", "common_name": "g"}, headers=ghost),
        404,
        "not_found",
    )
    assert device.get("/v1/devices", headers=ghost).json() == {"items": [], "next_after": None}


def test_the_admin_token_acts_inside_the_named_tenant(
    device: httpx.Client, tokens: Tokens, new_tenant: Callable[[], TenantCaller]
) -> None:
    tenant = new_tenant()
    admin = bearer(tokens.admin(), **{"X-Tenant-ID": str(tenant.id)})
    created = device.post(
        "/v1/devices", json={"name": "x", "serial_number": "ADM-1", "model": "m", "kind": "k1"}, headers=admin
    )
    assert created.status_code == 201
    history = device.get(f"/v1/devices/{created.json()['id']}/history", headers=tenant.reader).json()
    assert history[0]["payload"]["performed_by"] == "platform-admin"


def test_unknown_routes_and_missing_credentials_answer_json(device: httpx.Client) -> None:
    assert_error(device.get("/v1/nothing-here"), 404, "not_found")
    assert_error(device.patch("/v1/devices"), 405, "method_not_allowed")
    assert_error(device.get("/v1/ca"), 401, "unauthenticated")


def test_private_keys_never_reach_events_or_logs(
    device: httpx.Client,
    superuser: psycopg.Connection[tuple[object, ...]],
    platform_services: Callable[[str], RunningService],
    new_tenant: Callable[[], TenantCaller],
) -> None:
    tenant = new_tenant()
    issued = issue_certificate(device, tenant, "secret-holder")
    assert "PRIVATE KEY" in issued["private_key_pem"]
    leaked = superuser.execute(
        "SELECT count(*) FROM device.domain_event WHERE state::text LIKE '%%PRIVATE KEY%%' "
        "OR payload::text LIKE '%%PRIVATE KEY%%'"
    ).fetchone()
    assert leaked == (0,)
    leaked_rows = superuser.execute(
        "SELECT count(*) FROM device.certificates WHERE to_jsonb(certificates)::text LIKE '%%PRIVATE KEY%%'"
    ).fetchone()
    assert leaked_rows == (0,)
    assert "PRIVATE KEY" not in log_of(platform_services("device"))


def test_seeded_tenants_are_served(device: httpx.Client, tokens: Tokens) -> None:
    for tenant_id, expected_devices in (
        (TENANT_A.id, ["IP-3000-0001", "IP-3000-0002", "PM-1200-0012"]),
        (TENANT_B.id, ["DR-0001", "LP-0000", "LP-0001"]),
    ):
        headers = bearer(tokens.user(tenant_id))
        devices = device.get("/v1/devices", headers=headers).json()["items"]
        assert [d["serial_number"] for d in devices] == expected_devices
        authority = x509.load_pem_x509_certificate(
            device.get("/v1/ca", headers=headers).json()["certificate_pem"].encode()
        )
        certificates = device.get("/v1/certificates", headers=headers).json()["items"]
        assert certificates and all(c["device_id"] for c in certificates), "every seeded certificate is bound"
        for certificate in certificates:
            assert_issued_by(certificate["certificate_pem"], authority)
        rebound = []
        for certificate in certificates:
            history = device.get(f"/v1/certificates/{certificate['id']}/history", headers=headers).json()
            bindings = [e for e in history if e["event_name"] == "CertificateBound"]
            if len(bindings) > 1:
                rebound.append(bindings)
            assert all(e["payload"]["performed_by"] == "installer" for e in history)
        assert len(rebound) == 1, "one seeded certificate per tenant was rebound"
        first, second = rebound[0]
        assert second["payload"]["previous_device_id"] == first["payload"]["device_id"]
        assert second["event_at"] > first["event_at"], "each seeded step is its own transaction"
    retired = device.get(
        "/v1/devices", params={"status": "decommissioned"}, headers=bearer(tokens.user(TENANT_B.id))
    )
    assert [d["serial_number"] for d in retired.json()["items"]] == ["LP-0000"]
    revoked = device.get(
        "/v1/certificates", params={"status": "revoked"}, headers=bearer(tokens.user(TENANT_A.id))
    )
    assert [c["revocation_reason"] for c in revoked.json()["items"]] == ["superseded"]
    assert UUID(devices[0]["tenant_id"]) == TENANT_B.id


def test_a_suspended_tenant_gets_no_new_devices_or_certificates_but_can_revoke(
    device: httpx.Client,
    superuser: psycopg.Connection[tuple[object, ...]],
    new_tenant: Callable[[], TenantCaller],
) -> None:
    tenant = new_tenant()
    pump = register_device(device, tenant, "SUS-1")
    certificate = issue_certificate(device, tenant, "sus")
    # Directory has no endpoint for it yet: suspend the row, and restore it (its event still matches) after.
    suspend = "UPDATE directory.tenants SET status = %s WHERE tenant_id = %s"
    superuser.execute(suspend, ("suspended", tenant.id))
    try:
        refused = [
            device.post(
                "/v1/devices",
                json={"name": "x", "serial_number": "SUS-2", "model": "m", "kind": "k1"},
                headers=tenant.admin,
            ),
            device.post(
                "/v1/certificates", json={"generate_key": "ed25519", "common_name": "x"}, headers=tenant.admin
            ),
            bind(device, tenant, certificate["id"], pump["id"]),
        ]
        for response in refused:
            assert_error(response, 409, "conflict")
            assert "suspended" in response.json()["message"]
        revoked = device.post(
            f"/v1/certificates/{certificate['id']}/revoke",
            json={"reason": "privilege_withdrawn"},
            headers=tenant.admin,
        )
        assert revoked.status_code == 200
        assert device.post(f"/v1/devices/{pump['id']}/decommission", headers=tenant.admin).status_code == 200
    finally:
        superuser.execute(suspend, ("active", tenant.id))
