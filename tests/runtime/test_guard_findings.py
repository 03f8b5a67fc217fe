"""Reading the guard log back: violations named by the service's line, problems made plain."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fitness.config import load_config
from fitness.engine import CheckContext, Status
from fitness.engine.runner import run_one
from tests.runtime.processes import write_config


def record(kind: str, service: str, site: str | None, **details: object) -> str:
    return json.dumps({"kind": kind, "service": service, "site": site, "pid": 1, **details})


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FITGATE_CACHE_DIR", "off")
    return write_config(tmp_path, {"alpha": 18001, "beta": 18002})


def test_connections_become_violations_once_per_line(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "guard.jsonl"
    connection = {"target": "beta", "address": "127.0.0.1:18002", "declared": "127.0.0.1:18002"}
    log.write_text(
        "\n".join(
            [
                record("guard-installed", "alpha", None),
                record("cross-service-connection", "alpha", "guarded/alpha/app.py:46", **connection),
                record("cross-service-connection", "alpha", "guarded/alpha/app.py:46", **connection),
                record("cross-service-connection", "alpha", None, request="GET /orders", **connection),
                '{"kind": "cross-service-conn',  # a process killed mid-write
            ]
        )
        + "\n"
    )
    monkeypatch.setenv("FITGATE_GUARD_LOG", str(log))
    result = run_one(CheckContext(load_config(config)), "no-cross-service-calls")
    runtime = [v for v in result.violations if v.message.startswith("at run time")]
    assert [(v.subject, v.location) for v in runtime] == [
        ("GET /orders", None),
        ("guarded/alpha/app.py:46", "guarded/alpha/app.py:46"),
    ]
    assert runtime[1].message == (
        "at run time, service alpha connected to service beta at 127.0.0.1:18002: "
        "services never call each other"
    )
    assert "runtime: guarded/alpha/app.py:46: 2 connection(s) from alpha to beta" in result.notes
    assert "runtime: never ran under the guard: beta" in result.notes
    assert any("1 unreadable line(s)" in n and "line 5" in n for n in result.notes)


def test_a_named_log_that_does_not_exist_is_an_error(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FITGATE_GUARD_LOG", str(tmp_path / "missing.jsonl"))
    result = run_one(CheckContext(load_config(config)), "tenant-scope")
    assert result.status is Status.ERROR
    assert "missing.jsonl: no such file" in (result.reason or "")


def test_without_a_log_the_runtime_half_says_it_did_not_run(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FITGATE_GUARD_LOG", raising=False)
    result = run_one(CheckContext(load_config(config)), "tenant-scope")
    assert any(n.startswith("runtime: not checked") for n in result.notes)


def test_no_guard_is_installed_unless_asked(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fitness.runtime import install_guards

    monkeypatch.delenv("FITGATE_GUARD", raising=False)
    assert install_guards(load_config(config), "alpha") is None
    monkeypatch.setenv("FITGATE_GUARD", "0")
    assert install_guards(load_config(config), "alpha") is None
