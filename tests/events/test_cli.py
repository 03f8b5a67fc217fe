"""``fitgate events history | state-at``: output forms, exit codes, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from fitness.cli import main
from fitness.config import Config
from tests.events import pki


def fitgate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def common(config: Config, url: str) -> list[str]:
    return ["--config", str(config.path), "--database-url", url]


def test_history_as_a_table(
    capsys: pytest.CaptureFixture[str], pki_database: str, pki_config: Config
) -> None:
    code, out, err = fitgate(
        capsys,
        "events",
        "history",
        *common(pki_config, pki_database),
        "--kind",
        "Certificate",
        "--id",
        str(pki.CERT_3),
    )
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == f"Certificate {pki.CERT_3}: 2 event(s)"
    assert lines[1].split() == ["version", "event_at", "event", "by", "changes"]
    assert "CertificateIssued v2 (stored v1)" in lines[2]
    assert '"status"' not in lines[2] and 'status="active"' in lines[2]
    assert f'device_id: "{pki.DEVICE_1}" -> "{pki.DEVICE_4}"' in lines[3]
    assert lines[3].startswith("2 ") and "2026-04-01T00:00:00+00:00" in lines[3]


def test_history_as_json(capsys: pytest.CaptureFixture[str], pki_database: str, pki_config: Config) -> None:
    code, out, _ = fitgate(
        capsys,
        "events",
        "history",
        *common(pki_config, pki_database),
        "--kind",
        "Certificate",
        "--id",
        str(pki.CERT_2),
        "--format",
        "json",
    )
    assert code == 0
    document = json.loads(out)
    assert document["kind"] == "Certificate" and document["aggregate_id"] == str(pki.CERT_2)
    events = document["events"]
    assert [(e["version"], e["event_name"], e["performed_by"]) for e in events] == [
        (1, "CertificateIssued", "alice"),
        (2, "CertificateBound", "dave"),
        (3, "CertificateRevoked", "erin"),
    ]
    assert events[2]["state"]["status"] == "revoked"
    assert events[0]["event_at"] == "2026-03-05T00:00:00+00:00"
    assert set(events[0]) == {
        "version",
        "event_name",
        "event_version",
        "stored_event_version",
        "event_at",
        "performed_by",
        "tenant_id",
        "id",
        "tx_id",
        "payload",
        "state",
    }


def test_state_at_as_a_table(
    capsys: pytest.CaptureFixture[str], pki_database: str, pki_config: Config
) -> None:
    code, out, _ = fitgate(
        capsys,
        "events",
        "state-at",
        *common(pki_config, pki_database),
        "--kind",
        "Certificate",
        "--id",
        str(pki.CERT_2),
        "--at",
        "2026-06-01T00:00:00Z",
    )
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == (
        f"Certificate {pki.CERT_2} at 2026-06-01T00:00:00+00:00: existed (version 2, CertificateBound v2"
        " at 2026-05-01T00:00:00+00:00 by dave)"
    )
    assert [line.split()[0] for line in lines[1:]] == [
        "device_id",
        "id",
        "serial_number",
        "status",
        "tenant_id",
        "version",
    ]
    assert lines[1].split()[1] == f'"{pki.DEVICE_4}"'


def test_state_at_as_json_with_an_offset(
    capsys: pytest.CaptureFixture[str], pki_database: str, pki_config: Config
) -> None:
    code, out, _ = fitgate(
        capsys,
        "events",
        "state-at",
        *common(pki_config, pki_database),
        "--kind",
        "Certificate",
        "--id",
        str(pki.CERT_1),
        "--at",
        "2026-08-01T02:00:00+02:00",
        "--format",
        "json",
    )
    assert code == 0
    document = json.loads(out)
    assert document["at"] == "2026-08-01T00:00:00+00:00"
    assert (document["existed"], document["deleted"]) == (True, False)
    assert document["state"]["status"] == "active"  # upcast from the v1 shape
    assert document["event"]["stored_event_version"] == 1


def test_state_at_before_the_first_event_is_exit_1(
    capsys: pytest.CaptureFixture[str], pki_database: str, pki_config: Config
) -> None:
    code, out, _ = fitgate(
        capsys,
        "events",
        "state-at",
        *common(pki_config, pki_database),
        "--kind",
        "Device",
        "--id",
        str(pki.DEVICE_1),
        "--at",
        "2025-12-31T23:59:59Z",
        "--format",
        "json",
    )
    assert code == 1
    assert json.loads(out)["existed"] is False


def test_state_at_after_a_deletion(
    capsys: pytest.CaptureFixture[str], pki_database: str, pki_config: Config
) -> None:
    code, out, _ = fitgate(
        capsys,
        "events",
        "state-at",
        *common(pki_config, pki_database),
        "--kind",
        "Device",
        "--id",
        str(pki.DEVICE_3),
        "--at",
        "2026-03-01T00:00:00Z",
    )
    assert code == 0
    assert "ended by its deletion event (version 2, DeviceDecommissioned v1" in out.splitlines()[0]


def test_history_of_an_unknown_aggregate_is_exit_1(
    capsys: pytest.CaptureFixture[str], pki_database: str, pki_config: Config
) -> None:
    code, out, err = fitgate(
        capsys,
        "events",
        "history",
        *common(pki_config, pki_database),
        "--kind",
        "Device",
        "--id",
        "00000000-0000-4000-8000-00000000dead",
    )
    assert (code, out) == (1, "")
    assert err == "no events for Device 00000000-0000-4000-8000-00000000dead\n"


def test_a_tenant_scoped_read_sees_only_that_tenant(
    capsys: pytest.CaptureFixture[str], pki_database: str, pki_config: Config
) -> None:
    role = f"support_{pki_database.rsplit('_', 1)[-1].split('?')[0]}"
    with psycopg.connect(pki_database, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f"GRANT USAGE ON SCHEMA pki TO {role}")
        conn.execute(f"GRANT SELECT ON pki.domain_event, pki.event_types TO {role}")
        conn.execute(f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA pki TO {role}")
    try:
        url = pki_database.replace("postgres@", f"{role}@", 1)
        args = ["events", "history", *common(pki_config, url), "--kind", "Device", "--id", str(pki.DEVICE_2)]
        assert fitgate(capsys, *args)[0] == 1  # no tenant set: row-level security shows nothing
        assert fitgate(capsys, *args, "--tenant", str(pki.TENANT_A))[0] == 1
        code, out, _ = fitgate(capsys, *args, "--tenant", str(pki.TENANT_B))
        assert code == 0 and out.startswith(f"Device {pki.DEVICE_2}: 1 event(s)")
    finally:
        with psycopg.connect(pki_database, autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--kind", "Gadget", "--id", str(pki.CERT_1)],
            "--kind Gadget: no aggregate of this kind in {config} (known: Certificate, Device)",
        ),
        (
            ["--kind", "Device", "--id", "not-a-uuid"],
            "fitgate events history: argument --id: 'not-a-uuid' is not a uuid",
        ),
    ],
)
def test_bad_history_arguments_are_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str],
    pki_database: str,
    pki_config: Config,
    arguments: list[str],
    message: str,
) -> None:
    code, out, err = fitgate(capsys, "events", "history", *common(pki_config, pki_database), *arguments)
    assert (code, out) == (2, "")
    assert err == f"fitgate: error: {message.format(config=pki_config.path)}\n"


@pytest.mark.parametrize(
    ("at", "problem"),
    [
        ("2026-08-01T00:00:00", "'2026-08-01T00:00:00' has no time zone (add Z or an offset such as +02:00)"),
        ("yesterday", "'yesterday' is not an ISO 8601 time (e.g. 2026-08-01T00:00:00Z)"),
    ],
)
def test_a_bad_moment_is_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], pki_config: Config, at: str, problem: str
) -> None:
    code, out, err = fitgate(
        capsys,
        "events",
        "state-at",
        "--config",
        str(pki_config.path),
        "--kind",
        "Device",
        "--id",
        str(pki.DEVICE_1),
        "--at",
        at,
    )
    assert (code, out) == (2, "")
    assert err == f"fitgate: error: fitgate events state-at: argument --at: {problem}\n"


def test_no_database_is_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], pki_config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FITGATE_DATABASE_URL", raising=False)
    code, _, err = fitgate(
        capsys,
        "events",
        "history",
        "--config",
        str(pki_config.path),
        "--kind",
        "Device",
        "--id",
        str(pki.DEVICE_1),
    )
    assert code == 2
    assert err == (
        "fitgate: error: events history: no database: give --database-url or set FITGATE_DATABASE_URL\n"
    )


def test_an_unreachable_database_is_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], pki_config: Config, tmp_path: Path
) -> None:
    url = f"postgresql://postgres@/nowhere?host={tmp_path}"
    code, _, err = fitgate(
        capsys, "events", "history", *common(pki_config, url), "--kind", "Device", "--id", str(pki.DEVICE_1)
    )
    assert code == 2
    assert err.startswith(f"fitgate: error: cannot connect to the database at socket {tmp_path}/nowhere: ")
    assert err.count("\n") == 1


def test_the_installed_command_runs_end_to_end(pki_database: str, pki_config: Config) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "fitness",
            "events",
            "state-at",
            *common(pki_config, pki_database),
            "--kind",
            "Certificate",
            "--id",
            str(pki.CERT_3),
            "--at",
            "2026-05-01T00:00:00Z",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["state"]["device_id"] == str(pki.DEVICE_4)


def test_a_refused_statement_is_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], pki_database: str, pki_config: Config
) -> None:
    role = f"nobody_{pki_database.rsplit('_', 1)[-1].split('?')[0]}"
    with psycopg.connect(pki_database, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
    try:
        url = pki_database.replace("postgres@", f"{role}@", 1)
        code, out, err = fitgate(
            capsys,
            "events",
            "history",
            *common(pki_config, url),
            "--kind",
            "Device",
            "--id",
            str(pki.DEVICE_1),
        )
        assert (code, out) == (2, "")
        assert err == "fitgate: error: events history: permission denied for schema pki\n"
    finally:
        with psycopg.connect(pki_database, autocommit=True) as conn:
            conn.execute(f"DROP ROLE {role}")
