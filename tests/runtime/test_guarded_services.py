"""Real service processes under the guard: normal traffic records nothing; a call from one
service to another and a tenant left on a pooled connection are caught, reported by the
fitness functions at the service's own line, and refused when asked."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fitness.config import load_config
from fitness.engine import CheckContext, Status
from fitness.engine.runner import run_one
from fitness.pytest_plugin import DatabaseFactory
from tests.runtime.processes import ExternalServer, Service, free_port, read_log, write_config

pytestmark = pytest.mark.slow

APP = "guarded/alpha/app.py"
CALL_LINE = 46  # answer = await client.get(...) in orders_from_beta
LEAK_LINE = 61  # with pool().connection() as conn: in leak
ASYNC_LEAK_LINE = 68  # async with (await async_pool()).connection() as conn: in leak_async


@dataclass
class GuardedShop:
    config: Path
    log: Path
    env: dict[str, str]
    alpha: Service
    beta: Service
    folder: Path

    def records_after(self, count: int) -> list[dict[str, object]]:
        return read_log(self.log)[count:]


@pytest.fixture(scope="module")
def shop(
    tmp_path_factory: pytest.TempPathFactory, fitgate_databases: DatabaseFactory
) -> Iterator[GuardedShop]:
    folder = tmp_path_factory.mktemp("guarded")
    ports = {"alpha": free_port(), "beta": free_port()}
    config = write_config(folder, ports)
    log = folder / "guard.jsonl"
    external = ExternalServer()
    env = {
        "FITGATE_GUARD": "1",
        "FITGATE_GUARD_LOG": str(log),
        "FIXTURE_DATABASE_URL": fitgate_databases.empty(),
        "FIXTURE_BETA_URL": f"http://127.0.0.1:{ports['beta']}",
        "FIXTURE_EXTERNAL_ADDRESS": external.address,
    }
    started: list[Service] = []
    try:
        started.append(Service(config, "beta", ports["beta"], env, folder))
        started.append(Service(config, "alpha", ports["alpha"], env, folder))
        yield GuardedShop(config, log, env, started[1], started[0], folder)
    finally:
        for service in started:
            service.stop()
        external.close()


def runtime_violations(
    fitness_id: str, log: Path, monkeypatch: pytest.MonkeyPatch, config: Path
) -> list[tuple[str, str]]:
    monkeypatch.setenv("FITGATE_GUARD_LOG", str(log))
    monkeypatch.setenv("FITGATE_CACHE_DIR", "off")
    result = run_one(CheckContext(load_config(config)), fitness_id)
    assert result.status in (Status.PASS, Status.FAIL), result.reason
    return [(v.subject, v.message) for v in result.violations if v.message.startswith("at run time")]


def test_both_services_run_guarded(shop: GuardedShop) -> None:
    installed = [r for r in read_log(shop.log) if r["kind"] == "guard-installed"]
    assert sorted(str(r["service"]) for r in installed) == ["alpha", "beta"]
    alpha = next(r for r in installed if r["service"] == "alpha")
    assert list(alpha["watched"]) == ["beta"]  # type: ignore[call-overload]


def test_normal_traffic_records_nothing(shop: GuardedShop, monkeypatch: pytest.MonkeyPatch) -> None:
    before = len(read_log(shop.log))
    assert shop.alpha.get("/readyz") == {"ok": True}
    assert shop.beta.get("/readyz") == {"ok": True}
    assert shop.alpha.get("/external") == {"external": "hello"}
    assert shop.alpha.get("/tenant/clean/tenant-a") == {"tenant": "tenant-a"}
    assert shop.alpha.get("/tenant/current") == {"tenant": ""}
    assert shop.records_after(before) == []


def test_a_call_to_another_service_is_caught(shop: GuardedShop, monkeypatch: pytest.MonkeyPatch) -> None:
    before = len(read_log(shop.log))
    assert shop.alpha.get("/orders-from-beta") == {"status": 200}
    records = shop.records_after(before)
    assert [(r["kind"], r["service"], r["target"], r["site"]) for r in records] == [
        ("cross-service-connection", "alpha", "beta", f"{APP}:{CALL_LINE}")
    ]
    assert records[0]["refused"] is False
    assert runtime_violations("no-cross-service-calls", shop.log, monkeypatch, shop.config) == [
        (
            f"{APP}:{CALL_LINE}",
            f"at run time, service alpha connected to service beta at {shop.beta.url[len('http://') :]}: "
            "services never call each other",
        )
    ]


def test_a_tenant_left_on_a_pooled_connection_is_caught(
    shop: GuardedShop, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = len(read_log(shop.log))
    shop.alpha.get("/tenant/leak/tenant-b")
    leaked = shop.records_after(before)
    assert [(r["kind"], r["site"], r["value"]) for r in leaked] == [
        ("tenant-leak", f"{APP}:{LEAK_LINE}", "tenant-b")
    ]
    assert shop.alpha.get("/tenant/current") == {"tenant": "tenant-b"}  # the next request inherits it
    shop.alpha.get("/tenant/reset")
    shop.alpha.get("/tenant/leak-async/tenant-c")
    subjects = {s for s, _ in runtime_violations("tenant-scope", shop.log, monkeypatch, shop.config)}
    assert {f"{APP}:{LEAK_LINE}", f"{APP}:{ASYNC_LEAK_LINE}"} <= subjects


def test_refuse_mode_stops_the_call_and_discards_the_connection(shop: GuardedShop) -> None:
    log = shop.folder / "refuse.jsonl"
    port = free_port()
    refusing = Service(
        shop.config,
        "alpha",
        port,
        {**shop.env, "FITGATE_GUARD": "refuse", "FITGATE_GUARD_LOG": str(log)},
        shop.folder,
    )
    try:
        hits = shop.beta.get("/hits")
        assert "refused" in refusing.get("/orders-from-beta")  # httpx reports a failed connection
        assert shop.beta.get("/hits") == hits  # nothing reached beta
        refusing.get("/tenant/leak/tenant-d")
        assert refusing.get("/tenant/current") == {"tenant": None}  # a fresh connection
    finally:
        refusing.stop()
    records = [r for r in read_log(log) if r["kind"] != "guard-installed"]
    assert [(r["kind"], r.get("refused", r.get("discarded"))) for r in records] == [
        ("cross-service-connection", True),
        ("tenant-leak", True),
    ]
