"""no-cross-service-calls, static half: every way of breaking it in fixtures/broken, by file:line."""

from __future__ import annotations

from pathlib import Path

from fitness.config import Config, load_config
from fitness.engine import CheckContext, Status
from fitness.engine.runner import run_one

FITNESS = "no-cross-service-calls"

IMPORTS = {
    "shop/alpha/imports_plain.py:3": "imports shop.beta.models, the code of service beta",
    "shop/alpha/imports_from.py:3": "imports shop.beta, the code of service beta",
    "shop/alpha/imports_from.py:5": "imports shop.beta.models",
    "shop/alpha/imports_aliased.py:3": "imports shop.beta.models",
    "shop/alpha/imports_relative.py:4": "imports shop.beta,",
    "shop/alpha/imports_relative.py:5": "imports shop.beta.models",
    "shop/alpha/api/routes.py:4": "imports shop.beta,",
    "shop/alpha/imports_dynamic.py:8": "imports shop.beta.models",
    "shop/alpha/imports_dynamic.py:9": "imports shop.beta,",
    "shop/alpha/imports_dynamic.py:10": "imports shop.beta,",
}
CLIENTS = {
    "shop/alpha/http_clients.py:15": "calls service beta at 127.0.0.1:8002 with requests.get",
    "shop/alpha/http_clients.py:16": "with requests.post to a target fitgate cannot read",
    "shop/alpha/http_clients.py:17": "calls service beta at 127.0.0.1:8002 with httpx.Client",
    "shop/alpha/http_clients.py:19": "calls service gamma at 127.0.0.1:8003 with urllib.request.urlopen",
    "shop/alpha/http_clients.py:20": "calls service beta at 127.0.0.1:8002 with urllib3.PoolManager.request",
    "shop/alpha/http_clients.py:21": "calls service beta at 127.0.0.1:8002 with http.client.HTTPConnection",
    "shop/alpha/http_clients.py:27": "with aiohttp.ClientSession.get to a target fitgate cannot read",
    "shop/alpha/http_clients.py:28": "the client is not kept in a name",
    "shop/alpha/other_clients.py:11": "calls service beta at 127.0.0.1:8002 with grpc.insecure_channel",
    "shop/alpha/other_clients.py:12": "calls service beta at 127.0.0.1:8002 with websockets.connect",
    "shop/alpha/other_clients.py:13": "calls service gamma at 127.0.0.1:8003 with socket.create_connection",
    "shop/alpha/other_clients.py:15": "with socket.socket.connect to a target fitgate cannot read",
    "shop/alpha/other_clients.py:16": "calls service beta at 127.0.0.1:8002 with asyncio.open_connection",
    "shop/alpha/other_clients.py:21": "calls service beta at 127.0.0.1:8002 with socket.socket.connect",
    "shop/alpha/external_calls.py:12": "calls api.unknown.example:443 with requests.get, which is not in "
    "services.alpha.external_hosts",
    "shop/alpha/external_calls.py:15": "calls api.unknown.example:443 with httpx.Client.get",
}
ADDRESSES = {
    "shop/alpha/http_clients.py:11": "holds the address of service beta (http://127.0.0.1:8002)",
    "shop/alpha/addresses.py:3": "holds the address of service beta (http://127.0.0.1:8002)",
    "shop/alpha/addresses.py:4": "holds the address of service beta (localhost:8002)",
    "shop/alpha/addresses.py:7": "holds the address of service beta (http://[::1]:8002)",
    "shop/alpha/settings.toml:3": "holds the address of service beta",
    "shop/alpha/settings.yaml:2": "holds the address of service gamma (localhost:8003)",
    "shop/alpha/.env:1": "holds the address of service beta (http://localhost:8002)",
    "shop/alpha/service.ini:3": "holds the address of service gamma (127.0.0.1:8003)",
}


def test_every_break_is_reported_at_its_line(broken_shop: Config) -> None:
    result = run_one(CheckContext(broken_shop), FITNESS)
    assert result.fitness == FITNESS
    assert result.status is Status.FAIL
    reported = {v.subject: v for v in result.violations}
    expected = {**IMPORTS, **CLIENTS, **ADDRESSES}
    assert set(reported) == set(expected)
    for subject, fragment in expected.items():
        assert fragment in reported[subject].message, subject
        assert reported[subject].location == subject
        assert reported[subject].hint


def test_the_offending_line_and_a_fix_are_given(broken_shop: Config) -> None:
    result = run_one(CheckContext(broken_shop), FITNESS)
    violation = next(v for v in result.violations if v.subject == "shop/alpha/imports_relative.py:5")
    assert violation.message.endswith("`from ..beta.models import Order`")
    assert "shared platform package" in (violation.hint or "")
    call = next(v for v in result.violations if v.subject == "shop/alpha/http_clients.py:15")
    assert "read beta's published tables (orders, invoices)" in (call.hint or "")


def test_declared_external_hosts_are_honoured_and_noted(broken_shop: Config) -> None:
    result = run_one(CheckContext(broken_shop), FITNESS)
    subjects = {v.subject for v in result.violations}
    honoured_lines = (10, 11, 13)
    for honoured in (f"shop/alpha/external_calls.py:{line}" for line in honoured_lines):
        assert honoured not in subjects
        assert any(note.startswith(f"{honoured}: calls ") for note in result.notes)
    assert "shop/alpha/external_calls.py:14" not in subjects  # a path under the declared base URL


def test_computed_import_names_are_noted_not_guessed(broken_shop: Config) -> None:
    result = run_one(CheckContext(broken_shop), FITNESS)
    assert "shop/alpha/imports_dynamic.py:11" not in {v.subject for v in result.violations}
    note = "shop/alpha/imports_dynamic.py:11: imports a module whose name is computed at run time"
    assert any(n.startswith(note) for n in result.notes)


def test_allowed_imports_and_addresses_pass(broken_shop: Config) -> None:
    subjects = {v.subject for v in run_one(CheckContext(broken_shop), FITNESS).violations}
    assert "shop/alpha/imports_relative.py:3" not in subjects  # inside alpha
    assert "shop/alpha/imports_relative.py:6" not in subjects  # the shared platform
    assert "shop/alpha/http_clients.py:18" not in subjects  # relative path, base reported once
    assert "shop/alpha/settings.toml:1" not in subjects  # a comment
    assert "shop/alpha/settings.toml:4" not in subjects  # the database is not a service


def test_the_clean_shop_passes(clean_shop: Config) -> None:
    result = run_one(CheckContext(clean_shop), FITNESS)
    assert result.status is Status.PASS, result.violations
    assert result.violations == ()


def test_a_contract_without_packages_or_guard_log_skips(tmp_path: Path) -> None:
    path = tmp_path / "quality-attributes.yaml"
    path.write_text("version: 1\nservices:\n  a: {schema: a, role: a_service}\n")
    result = run_one(CheckContext(load_config(path)), FITNESS)
    assert result.status is Status.SKIP
    assert "no service declares a package" in (result.reason or "")
