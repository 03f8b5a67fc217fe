"""Device service latencies: issuing a certificate against a plain write and a read of the same service.

Starts an embedded server, installs the platform, runs directory and device as
their own processes, and times sequential requests of one client (latency, not
throughput) against one fresh tenant. Prints median, p95 and p99 of each
endpoint and its ratio to registering a device (one row and its event: the
cheapest write), so the cost of signing (ECDSA P-256), of generating a key, of
verifying a CSR and of answering "where was it bound at time T" shows as a ratio.
The machine's load varies: compare the ratios, not the milliseconds, across runs.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fitness.config import load_config
from fitness.database.databases import create_database
from fitness.database.embedded import embedded_server
from fitness.installation import run_installer
from fitness.serving import running_services

REPO = Path(__file__).resolve().parents[1]


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def csr_pem(common_name: str) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    request = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    return request.public_bytes(serialization.Encoding.PEM).decode()


def timed(requests: int, call: Callable[[int], httpx.Response]) -> list[float]:
    samples = []
    for index in range(requests):
        started = time.perf_counter()
        response = call(index)
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code >= 300:
            raise SystemExit(f"{response.request.method} {response.request.url.path}: {response.text}")
    return samples


def measure(directory: str, device: str, admin_token: str, requests: int) -> dict[str, list[float]]:
    admin = {"Authorization": f"Bearer {admin_token}"}
    tenant = httpx.post(f"{directory}/v1/admin/tenants", json={"name": "bench"}, headers=admin).json()["id"]
    headers = {**admin, "X-Tenant-ID": tenant}
    client = httpx.Client(base_url=device, headers=headers, timeout=30)
    client.get("/v1/ca")  # the authority exists before anything is timed
    csrs = [csr_pem(f"bench-{i}") for i in range(requests)]  # made by the "devices", outside the timing
    devices: list[dict[str, Any]] = []
    certificates: list[dict[str, Any]] = []

    def register(i: int) -> httpx.Response:
        body = {"name": "d", "serial_number": f"B-{i}", "model": "m", "kind": "bench"}
        response = client.post("/v1/devices", json=body)
        devices.append(response.json())
        return response

    def issue_generated(i: int) -> httpx.Response:
        response = client.post(
            "/v1/certificates", json={"generate_key": "ecdsa-p256", "common_name": f"g-{i}"}
        )
        certificates.append(response.json())
        return response

    results = {
        "POST /v1/devices": timed(requests, register),
        "POST /v1/certificates (generated key)": timed(requests, issue_generated),
        "POST /v1/certificates (CSR)": timed(
            requests, lambda i: client.post("/v1/certificates", json={"csr": csrs[i]})
        ),
        "PUT /v1/certificates/{id}/device": timed(
            requests,
            lambda i: client.put(
                f"/v1/certificates/{certificates[i]['id']}/device", json={"device_id": devices[i]["id"]}
            ),
        ),
        "GET /v1/certificates/{id}": timed(
            requests, lambda i: client.get(f"/v1/certificates/{certificates[i]['id']}")
        ),
    }
    now = datetime.now(UTC).isoformat()
    results["GET /v1/certificates/{id}?at="] = timed(
        requests, lambda i: client.get(f"/v1/certificates/{certificates[i]['id']}", params={"at": now})
    )
    results["GET /v1/devices/{id}/certificates"] = timed(
        requests, lambda i: client.get(f"/v1/devices/{devices[i]['id']}/certificates")
    )
    results["GET /v1/ca/crl"] = timed(requests, lambda i: client.get("/v1/ca/crl"))
    client.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200, help="requests per endpoint")
    requests = parser.parse_args().requests
    config = load_config(REPO / "quality-attributes.yaml")
    admin_token = secrets.token_urlsafe(24)
    with embedded_server() as server:
        url = create_database(server.url(), "bench_device")
        run_installer(config, url)
        logs = Path(tempfile.mkdtemp(prefix="bench-device-logs-"))
        with running_services(
            config, ["directory", "device"], url, admin_token=admin_token, log_dir=logs
        ) as services:
            results = measure(services["directory"].url, services["device"].url, admin_token, requests)
    baseline = statistics.median(results["POST /v1/devices"])
    print(f"requests per endpoint: {requests} (one client, sequential)")
    print(f"{'endpoint':42} {'median':>8} {'p95':>8} {'p99':>8}  median / POST /v1/devices")
    for endpoint, samples in results.items():
        median = statistics.median(samples)
        print(
            f"{endpoint:42} {median:7.2f}ms {percentile(samples, 0.95):7.2f}ms "
            f"{percentile(samples, 0.99):7.2f}ms  {median / baseline:.2f}"
        )


if __name__ == "__main__":
    main()
