"""Code-scan benchmark: fitgate's code checks against import-linter on a generated platform.

Generates a tree of about 200,000 lines in 20 service packages (FastAPI-style
handlers, SQL against each service's own schema and declared reads of others,
a shared platform package, a few planted violations), then times in one run:

- ``ast.parse`` of every file (what a naive analyser pays);
- import-linter with equivalent contracts (services independent; HTTP, gRPC and
  socket client modules forbidden), without and with its cache;
- fitgate's no-cross-service-calls (static half) and all three code checks
  (with read-contract's code part and tenant-scope), with a cold and a warm
  scan cache;
- both command lines end to end (interpreter start included).

Run: ``.venv/bin/python benchmarks/code_scan.py [--keep DIR] [--repeat N]``
(needs ``pip install -e '.[bench]'``). The goal: under 2 s, and no slower than
import-linter.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

SERVICES = (
    "auth", "directory", "license", "device", "billing", "catalog", "orders", "shipping",
    "inventory", "payments", "notifications", "reports", "search", "media", "audit",
    "scheduling", "messaging", "pricing", "reviews", "analytics",
)  # fmt: skip
ROOT_PACKAGE = "bench_platform"
FILES_PER_SERVICE = 62
FIRST_PORT = 9001
FORBIDDEN_CLIENTS = (
    "requests",
    "httpx",
    "aiohttp",
    "urllib3",
    "grpc",
    "websockets",
    "socket",
    "http",
    "urllib",
)


def published(service: str) -> list[str]:
    return [f"{service}_records", f"{service}_summaries"]


def reads_of(index: int) -> dict[str, list[str]]:
    """Each service reads one published table of the next two services."""
    return {SERVICES[(index + step) % len(SERVICES)]: [published(SERVICES[(index + step) % len(SERVICES)])[0]]
            for step in (1, 2)}  # fmt: skip


def module_source(service: str, index: int, number: int) -> str:
    """One realistic module of about 160 lines."""
    entity = f"{service.title()}Item{number}"
    table = f"{service}_items_{number % 7}"
    reads = reads_of(index)
    other = sorted(reads)[number % 2]
    cross_read = number % 4 == 0
    uses_external = number % 9 == 0 and index % 3 == 0
    lines = [
        f'"""{service.title()} {number}: handlers, queries and models for {table}."""',
        "",
        "from __future__ import annotations",
        "",
        "import logging",
        "import uuid",
        "from dataclasses import dataclass, field",
        "from datetime import UTC, datetime",
        "",
        "from fastapi import APIRouter, HTTPException",
        "from pydantic import BaseModel",
        "",
        f"from {ROOT_PACKAGE}.platform.db import tenant_transaction",
        f"from {ROOT_PACKAGE}.platform.events import write_event",
        f"from . import models_{(number + 1) % FILES_PER_SERVICE}",
        f"from .models_{(number + 2) % FILES_PER_SERVICE} import helper_{(number + 2) % FILES_PER_SERVICE}",
    ]
    if uses_external:
        lines.append("import httpx")
    lines += [
        "",
        "log = logging.getLogger(__name__)",
        f'router = APIRouter(prefix="/v1/{table}")',
        "",
        f'SELECT_{number} = """',
        "    SELECT t.id, t.tenant_id, t.name, t.state, t.created_at",
        f"      FROM {service}.{table} AS t",
        "     WHERE t.tenant_id = %s AND t.id = %s",
        '"""',
        f"INSERT_{number} = (",
        f'    "INSERT INTO {service}.{table} (tenant_id, id, name, state, created_at) "',
        '    "VALUES (%s, %s, %s, %s, now()) RETURNING id"',
        ")",
        f'UPDATE_{number} = "UPDATE {service}.{table} SET state = %s WHERE tenant_id = %s AND id = %s"',
    ]
    if cross_read:
        lines += [
            f'READ_{number} = """',
            f"    WITH recent AS (SELECT r.id, r.tenant_id FROM {other}.{reads[other][0]} AS r)",
            "    SELECT recent.id FROM recent WHERE recent.tenant_id = %s",
            '"""',
        ]
    if uses_external:
        lines.append('PARTNER = "https://api.partner.example"')
    lines += [
        "",
        "",
        "@dataclass(frozen=True)",
        f"class {entity}:",
        f'    """One row of {service}.{table}."""',
        "",
        "    id: uuid.UUID",
        "    tenant_id: uuid.UUID",
        "    name: str",
        '    state: str = "new"',
        "    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))",
        "",
        "    def renamed(self, name: str) -> " + entity + ":",
        f"        return {entity}(self.id, self.tenant_id, name, self.state, self.created_at)",
        "",
        "",
        f"class {entity}In(BaseModel):",
        "    name: str",
        '    state: str = "new"',
        "",
        "",
        f"def _row(row: tuple) -> {entity}:",
        f"    return {entity}(row[0], row[1], row[2], row[3], row[4])",
        "",
    ]
    for handler in range(4):
        lines += [
            "",
            f'@router.get("/{{item_id}}/view{handler}")',
            f"def view_{handler}(pool, tenant_id: uuid.UUID, item_id: uuid.UUID) -> dict:",
            f'    """Read one {table} row (view {handler})."""',
            "    with tenant_transaction(pool, tenant_id) as conn:",
            f"        row = conn.execute(SELECT_{number}, (tenant_id, item_id)).fetchone()",
            "    if row is None:",
            '        raise HTTPException(status_code=404, detail="not found")',
            "    item = _row(row)",
            f'    log.info("viewed %s in {service}", item.id)',
            "    result = {",
            '        "id": str(item.id),',
            '        "name": item.name,',
            '        "state": item.state,',
            f'        "view": {handler},',
            "    }",
            "    for key in sorted(result):",
            "        if not result[key] and key != 'view':",
            '            log.debug("empty field %s", key)',
            "    return result",
            "",
            "",
            f'@router.post("/{{item_id}}/state{handler}")',
            f"def set_state_{handler}(pool, tenant_id: uuid.UUID, item_id: uuid.UUID, body: {entity}In) -> dict:",
            "    with tenant_transaction(pool, tenant_id) as conn:",
            f"        conn.execute(UPDATE_{number}, (body.state, tenant_id, item_id))",
            f'        write_event(conn, "{entity}", item_id, "{entity}StateChanged", {{"state": body.state}})',
            '    return {"id": str(item_id), "state": body.state}',
            "",
        ]
    if cross_read:
        lines += [
            "",
            f"def related_{number}(pool, tenant_id: uuid.UUID) -> list[uuid.UUID]:",
            "    with tenant_transaction(pool, tenant_id) as conn:",
            f"        return [row[0] for row in conn.execute(READ_{number}, (tenant_id,)).fetchall()]",
        ]
    if uses_external:
        lines += [
            "",
            "def notify_partner(item_id: uuid.UUID) -> int:",
            "    with httpx.Client(base_url=PARTNER, timeout=5) as client:",
            '        return client.post("/v1/items", json={"id": str(item_id)}).status_code',
        ]
    lines += [
        "",
        "",
        f"def helper_{number}(values: list[int]) -> int:",
        "    total = 0",
        "    for value in values:",
        "        if value % 2:",
        "            total += value * 3",
        "        else:",
        "            total -= value",
        "    return total",
    ]
    return "\n".join(lines) + "\n"


PLANTED = {
    # service, file number, the line to add, what should be found
    ("orders", 12): (f"from {ROOT_PACKAGE}.billing import models_3\n", "no-cross-service-calls"),
    ("shipping", 5): (
        f'import httpx\nSTOCK = httpx.get("http://127.0.0.1:{FIRST_PORT + SERVICES.index("inventory")}/v1/stock")\n',
        "no-cross-service-calls",
    ),
    ("media", 7): (
        'import requests\nCDN = requests.get("https://cdn.unknown.example/logo.png")\n',
        "no-cross-service-calls",
    ),
    ("reports", 9): (
        "def as_tenant(conn, tenant):\n"
        "    conn.execute(\"SELECT set_config('app.tenant_id', %s, false)\", (tenant,))\n",
        "tenant-scope",
    ),
    ("search", 4): ('HIDDEN = "SELECT price FROM catalog.internal_prices WHERE id = %s"\n', "read-contract"),
}


def generate(root: Path) -> tuple[Path, int, int]:
    """Write the tree and its contract; returns the contract's path, files and lines."""
    package = root / ROOT_PACKAGE
    (package / "platform").mkdir(parents=True)
    (package / "__init__.py").write_text('"""A generated platform for benchmarks."""\n')
    (package / "platform" / "__init__.py").write_text('"""Shared kernel."""\n')
    (package / "platform" / "db.py").write_text(
        textwrap.dedent('''\
        """Connections: the tenant is set per transaction."""
        from contextlib import contextmanager

        @contextmanager
        def tenant_transaction(pool, tenant_id):
            with pool.connection() as conn, conn.transaction():
                conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant_id),))
                yield conn
        ''')
    )
    (package / "platform" / "events.py").write_text(
        textwrap.dedent('''\
        """Domain events."""

        def write_event(conn, kind, aggregate_id, name, payload):
            conn.execute("SELECT 1", ())
        ''')
    )
    files = lines = 0
    for index, service in enumerate(SERVICES):
        folder = package / service
        folder.mkdir()
        (folder / "__init__.py").write_text(f'"""Service {service}."""\n')
        for number in range(FILES_PER_SERVICE):
            name = f"models_{number}.py"
            text = module_source(service, index, number)
            planted = PLANTED.get((service, number))
            if planted is not None:
                text += planted[0]
            (folder / name).write_text(text)
            files += 1
            lines += text.count("\n")
    config = root / "quality-attributes.yaml"
    services = []
    for index, service in enumerate(SERVICES):
        reads = ", ".join(
            f"{other}: [{', '.join(tables)}]" for other, tables in sorted(reads_of(index).items())
        )
        services.append(
            f"  {service}:\n"
            f"    schema: {service}\n    role: {service}_service\n    package: {ROOT_PACKAGE}.{service}\n"
            f"    url: http://127.0.0.1:{FIRST_PORT + index}\n"
            f"    publishes: [{', '.join(published(service))}]\n"
            f"    reads: {{{reads}}}\n"
            + ("    external_hosts: [api.partner.example]\n" if index % 3 == 0 else "")
        )
    config.write_text("version: 1\nsystem: bench-platform\nservices:\n" + "".join(services))
    contracts = [
        "[importlinter]",
        f"root_package = {ROOT_PACKAGE}",
        "include_external_packages = True",
        "",
        "[importlinter:contract:independent]",
        "name = Services are independent",
        "type = independence",
        "modules =",
        *(f"    {ROOT_PACKAGE}.{s}" for s in SERVICES),
        "",
        "[importlinter:contract:no-clients]",
        "name = Services use no network clients",
        "type = forbidden",
        "source_modules =",
        *(f"    {ROOT_PACKAGE}.{s}" for s in SERVICES),
        "forbidden_modules =",
        *(f"    {m}" for m in FORBIDDEN_CLIENTS),
    ]
    (root / ".importlinter").write_text("\n".join(contracts) + "\n")
    return config, files, lines


def best_of(repeat: int, prepare: Callable[[], None], run: Callable[[], object]) -> tuple[float, object]:
    times = []
    result: object = None
    for _ in range(repeat):
        prepare()
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return min(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="generate the tree here and keep it")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (best is shown)")
    args = parser.parse_args()

    from importlinter import cli as import_linter

    from fitness.code import scan_cache
    from fitness.code.cross_service_calls import CrossServiceCallRule
    from fitness.code.package_scan import scan_services, scan_system
    from fitness.code.schema_references import check_schema_references
    from fitness.code.tenant_settings import TenantSettingRule
    from fitness.config import load_config
    from fitness.engine.fitness_function import Findings

    root = args.keep or Path(tempfile.mkdtemp(prefix="fitgate-bench-"))
    if args.keep and root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    config_path, files, lines = generate(root)
    config = load_config(config_path)
    cache_dir = root / ".fitgate-cache"
    os.environ[scan_cache.CACHE_ENV] = str(cache_dir)
    sys.path.insert(0, str(root))
    python_files = sorted((root / ROOT_PACKAGE).rglob("*.py"))
    print(f"tree: {len(SERVICES)} service packages, {files} files, {lines:,} lines in {root}")
    one, five, fifteen = os.getloadavg()
    print(f"load average at start: {one:.1f} {five:.1f} {fifteen:.1f} ({os.cpu_count()} cores)")

    def parse_everything() -> int:
        for path in python_files:
            ast.parse(path.read_bytes())
        return len(python_files)

    def cold() -> None:
        shutil.rmtree(cache_dir, ignore_errors=True)
        scan_cache._OPEN.clear()

    def warm() -> None:
        scan_cache._OPEN.clear()  # what a new process sees: only the disk cache

    def calls_only() -> Findings:
        findings = Findings()
        scan_services(config, lambda service: CrossServiceCallRule(config, service), findings)
        return findings

    def all_checks() -> list[Findings]:
        tenant = Findings()
        scan_system(config, TenantSettingRule(config), tenant)
        return [calls_only(), check_schema_references(config), tenant]

    linter_cache = root / ".import_linter_cache"

    def import_linter_run(no_cache: bool) -> int:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            return import_linter.lint_imports(
                config_filename=str(root / ".importlinter"), no_cache=no_cache, cache_dir=str(linter_cache)
            )

    def nothing() -> None:
        return None

    repeat = args.repeat
    parse_seconds, _ = best_of(repeat, nothing, parse_everything)
    linter_cold, linter_code = best_of(repeat, nothing, lambda: import_linter_run(True))
    import_linter_run(False)
    linter_warm, _ = best_of(repeat, nothing, lambda: import_linter_run(False))
    calls_cold, calls = best_of(repeat, cold, calls_only)
    calls_warm, _ = best_of(repeat, warm, calls_only)
    checks_cold, checks = best_of(repeat, cold, all_checks)
    checks_warm, _ = best_of(repeat, warm, all_checks)

    assert isinstance(calls, Findings) and isinstance(checks, list)
    found = {
        "no-cross-service-calls": sorted(v.subject for v in checks[0].violations),
        "read-contract": sorted(v.subject for v in checks[1].violations),
        "tenant-scope": sorted(v.subject for v in checks[2].violations),
    }
    closely = next(n for n in calls.notes if n.startswith("code: "))
    read, _, closely_read = closely.rpartition(" scanned, ")
    closely = f"{read.split(' files of ')[0].removeprefix('code: ')} files scanned, {closely_read}"

    print(
        f"import-linter: {'contracts broken' if linter_code else 'contracts kept'} (it sees the planted import "
        "and client imports)"
    )
    for fitness_id, subjects in found.items():
        print(f"fitgate {fitness_id}: {len(subjects)} violation(s): {', '.join(subjects)}")
    print(f"fitgate no-cross-service-calls: {closely}")
    print()
    print(f"{'measurement (best of ' + str(repeat) + ')':58} {'seconds':>8} {'vs import-linter':>17}")
    rows = [
        ("ast.parse of every file", parse_seconds),
        ("import-linter, no cache", linter_cold),
        ("import-linter, its cache warm", linter_warm),
        ("fitgate no-cross-service-calls (static), cold cache", calls_cold),
        ("fitgate no-cross-service-calls (static), warm cache", calls_warm),
        ("fitgate all code checks (3 fitness functions), cold cache", checks_cold),
        ("fitgate all code checks (3 fitness functions), warm cache", checks_warm),
    ]
    for label, seconds in rows:
        print(f"{label:58} {seconds:8.3f} {seconds / linter_cold:16.2f}x")

    print()
    print("end to end (a new process each, interpreter start included):")
    env = {**os.environ, "PYTHONPATH": str(root)}
    bin_dir = Path(sys.executable).parent
    commands = {
        "lint-imports (its cache warm)": [str(bin_dir / "lint-imports"), "--config", str(root / ".importlinter")],
        "fitgate check --only no-cross-service-calls,tenant-scope (warm)": [
            str(bin_dir / "fitgate"), "check", "--config", str(config_path),
            "--only", "no-cross-service-calls,tenant-scope", "--format", "json", "--output", str(root / "report.json"),
        ],
    }  # fmt: skip
    for label, command in commands.items():
        seconds, _ = best_of(
            repeat, nothing, lambda c=command: subprocess.run(c, env=env, capture_output=True, check=False)
        )
        print(f"{label:66} {seconds:6.2f} s")
    one, five, fifteen = os.getloadavg()
    print(f"load average at end: {one:.1f} {five:.1f} {fifteen:.1f}")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
