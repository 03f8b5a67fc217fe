"""Legacy adoption: ``fitgate events backfill`` (snapshot) and ``--diff`` (successive snapshots)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest

from fitness.cli import main
from fitness.config import Config
from fitness.engine import Status
from fitness.errors import FitgateError, UsageError
from fitness.events.backfill import backfill
from tests.events import pki
from tests.events.conftest import check, config_variant

WITH_REMOVALS = pki.CONFIG.replace("[DeviceDecommissioned]", "[DeviceDecommissioned, DeviceRemoved]")


def run(url: str, *statements: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def fetch(url: str, query: str, params: Any = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(query, params).fetchall()


@pytest.fixture
def legacy_database(pki_database: str) -> str:
    """The pki service as a legacy system: the same rows, no events at all."""
    run(pki_database, "DELETE FROM pki.domain_event", "UPDATE pki.devices SET version = 5")
    return pki_database


def test_a_legacy_system_fails_event_completeness(legacy_database: str, pki_config: Config) -> None:
    result = check(legacy_database, pki_config)
    assert sorted(v.subject for v in result.violations) == sorted(
        [f"pki.devices id={d}" for d in (pki.DEVICE_1, pki.DEVICE_2, pki.DEVICE_4)]
        + [f"pki.certificates id={c}" for c in (pki.CERT_1, pki.CERT_2, pki.CERT_3)]
    )


def test_backfill_adopts_every_row_and_then_event_completeness_holds(
    legacy_database: str, pki_config: Config
) -> None:
    report = backfill(legacy_database, pki_config, "pki")
    assert [(w.table, w.event_name, w.events) for w in report.written] == [
        ("pki.devices", "DeviceMigrated", 3),
        ("pki.certificates", "CertificateMigrated", 3),
    ]
    assert report.registered == ["DeviceMigrated v1", "CertificateMigrated v1"]
    result = check(legacy_database, pki_config)
    assert result.status is Status.PASS, result.violations
    events = fetch(
        legacy_database,
        "SELECT DISTINCT version, event_version, payload ->> 'performed_by', payload ->> 'snapshot',"
        " event_at FROM pki.domain_event",
    )
    assert events == [(1, 1, "system-migration", report.snapshot, report.snapshot_at)]
    assert fetch(legacy_database, "SELECT DISTINCT version FROM pki.devices") == [(1,)]


def test_the_migrated_state_is_the_mapped_row(legacy_database: str, pki_config: Config) -> None:
    backfill(legacy_database, pki_config, "pki")
    (state,) = fetch(
        legacy_database, "SELECT state FROM pki.domain_event WHERE aggregate_id = %s", (pki.CERT_2,)
    )[0]
    assert state == {
        "id": str(pki.CERT_2),
        "tenant_id": str(pki.TENANT_A),
        "serial_number": "1002",
        "device_id": str(pki.DEVICE_4),
        "status": "revoked",
        "version": 1,
    }
    # A legacy version column (the devices' 5) restarts at 1 with the stream, state and row alike.
    devices = fetch(
        legacy_database,
        "SELECT (e.state ->> 'version')::int, e.version, d.version FROM pki.domain_event AS e"
        " JOIN pki.devices AS d ON d.id = e.aggregate_id",
    )
    assert set(devices) == {(1, 1, 1)}


def test_a_second_run_adds_nothing(legacy_database: str, pki_config: Config) -> None:
    backfill(legacy_database, pki_config, "pki")
    before = fetch(legacy_database, "SELECT id FROM pki.domain_event ORDER BY id")
    again = backfill(legacy_database, pki_config, "pki")
    assert (again.events, again.written, again.registered) == (0, [], [])
    assert fetch(legacy_database, "SELECT id FROM pki.domain_event ORDER BY id") == before


def test_only_rows_without_events_are_adopted(pki_database: str, pki_config: Config) -> None:
    legacy = uuid.uuid4()
    run(pki_database, f"INSERT INTO pki.devices VALUES ('{pki.TENANT_B}', '{legacy}', 'legacy', now(), 9)")
    history = fetch(pki_database, "SELECT id FROM pki.domain_event ORDER BY id")
    report = backfill(pki_database, pki_config, "pki")
    assert [(w.event_name, w.events) for w in report.written] == [("DeviceMigrated", 1)]
    assert fetch(
        pki_database, "SELECT aggregate_id FROM pki.domain_event WHERE event_name = 'DeviceMigrated'"
    ) == [(legacy,)]
    assert set(history) < set(fetch(pki_database, "SELECT id FROM pki.domain_event"))
    assert check(pki_database, pki_config).status is Status.PASS


def test_a_dry_run_writes_nothing(legacy_database: str, pki_config: Config) -> None:
    report = backfill(legacy_database, pki_config, "pki", dry_run=True)
    assert report.dry_run and report.events == 6
    assert fetch(legacy_database, "SELECT count(*) FROM pki.domain_event") == [(0,)]
    assert fetch(
        legacy_database, "SELECT count(*) FROM pki.event_types WHERE event_name LIKE '%Migrated'"
    ) == [(0,)]


def test_triggers_do_not_rewrite_rows_during_a_backfill(legacy_database: str, pki_config: Config) -> None:
    run(
        legacy_database,
        "CREATE FUNCTION pki.touch() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN NEW.name := NEW.name || ' (touched)'; RETURN NEW; END $$",
        "CREATE TRIGGER touch BEFORE UPDATE ON pki.devices FOR EACH ROW EXECUTE FUNCTION pki.touch()",
    )
    backfill(legacy_database, pki_config, "pki")
    assert fetch(legacy_database, "SELECT count(*) FROM pki.devices WHERE name LIKE '%touched%'") == [(0,)]


def test_diff_records_what_legacy_writers_did_since_the_last_snapshot(
    legacy_database: str, tmp_path: Path
) -> None:
    config = config_variant(tmp_path, WITH_REMOVALS)
    first = backfill(legacy_database, config, "pki")
    newcomer = uuid.uuid4()
    run(  # a legacy writer, still unaware of events
        legacy_database,
        f"UPDATE pki.devices SET name = 'renamed by legacy code' WHERE id = '{pki.DEVICE_1}'",
        f"UPDATE pki.devices SET name = name WHERE id = '{pki.DEVICE_2}'",
        f"INSERT INTO pki.devices VALUES ('{pki.TENANT_A}', '{newcomer}', 'new', now(), 1)",
        f"DELETE FROM pki.devices WHERE id = '{pki.DEVICE_4}'",
    )
    assert check(legacy_database, config).status is Status.FAIL
    second = backfill(legacy_database, config, "pki", diff=True)
    assert second.previous_snapshot == first.snapshot
    assert sorted((w.event_name, w.events) for w in second.written) == [
        ("DeviceChanged", 2),
        ("DeviceMigrated", 1),
        ("DeviceRemoved", 1),
    ]
    result = check(legacy_database, config)
    assert result.status is Status.PASS, result.violations
    rows = fetch(
        legacy_database,
        "SELECT aggregate_id, version, event_name, state ->> 'name', (state ->> 'version')::int,"
        " payload ->> 'previous_snapshot'"
        " FROM pki.domain_event WHERE version = 2 ORDER BY event_name, aggregate_id",
    )
    # A change's state is the row now, its new version included; a removal keeps the last
    # state recorded (the row as it was last seen, at version 1).
    assert rows == [
        (pki.DEVICE_1, 2, "DeviceChanged", "renamed by legacy code", 2, first.snapshot),
        (pki.DEVICE_2, 2, "DeviceChanged", "till", 2, first.snapshot),
        (pki.DEVICE_4, 2, "DeviceRemoved", "kiosk", 1, first.snapshot),
    ]
    assert backfill(legacy_database, config, "pki", diff=True).events == 0


def test_diff_refuses_vanished_rows_without_a_declared_deletion(
    legacy_database: str, pki_config: Config
) -> None:
    backfill(legacy_database, pki_config, "pki")
    run(
        legacy_database,
        f"UPDATE pki.devices SET name = 'x' WHERE id = '{pki.DEVICE_1}'",
        f"DELETE FROM pki.devices WHERE id = '{pki.DEVICE_4}'",
    )
    events = fetch(legacy_database, "SELECT count(*) FROM pki.domain_event")
    with pytest.raises(FitgateError) as raised:
        backfill(legacy_database, pki_config, "pki", diff=True)
    assert str(raised.value) == (
        "backfill --diff: 1 aggregate(s) of pki.devices vanished without a deletion event; declare "
        f"DeviceRemoved in events.deletions of {pki_config.path} so they can be recorded as removed"
    )
    assert fetch(legacy_database, "SELECT count(*) FROM pki.domain_event") == events


def test_diff_needs_an_earlier_backfill(pki_database: str, pki_config: Config) -> None:
    with pytest.raises(UsageError, match=r"no earlier backfill recorded a snapshot in pki\.domain_event"):
        backfill(pki_database, pki_config, "pki", diff=True)


def test_a_broken_event_table_stops_the_backfill(legacy_database: str, pki_config: Config) -> None:
    run(legacy_database, "ALTER TABLE pki.domain_event DROP COLUMN tx_id")
    with pytest.raises(FitgateError) as raised:
        backfill(legacy_database, pki_config, "pki")
    assert str(raised.value) == "cannot backfill pki: pki.domain_event: column tx_id is missing."


def test_backfill_from_the_command_line(
    capsys: pytest.CaptureFixture[str], legacy_database: str, pki_config: Config
) -> None:
    args = ["events", "backfill", "--config", str(pki_config.path), "--database-url", legacy_database]
    assert main([*args, "--service", "pki", "--dry-run"]) == 0
    dry = capsys.readouterr().out.splitlines()
    assert dry[0].startswith("backfill of pki (pki), snapshot of rows without events: would write 6 event(s)")
    assert dry[-1] == "  dry run: nothing was written"
    assert main([*args, "--service", "pki"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1:] == [
        "  pki.devices: 3 DeviceMigrated",
        "  pki.certificates: 3 CertificateMigrated",
        "  registered DeviceMigrated v1 in pki.event_types",
        "  registered CertificateMigrated v1 in pki.event_types",
    ]


def test_an_unknown_service_is_exit_2(
    capsys: pytest.CaptureFixture[str], pki_database: str, pki_config: Config
) -> None:
    code = main(
        [
            "events",
            "backfill",
            "--config",
            str(pki_config.path),
            "--database-url",
            pki_database,
            "--service",
            "billing",
        ]
    )
    assert code == 2
    assert capsys.readouterr().err == (
        f"fitgate: error: --service billing: no such service in {pki_config.path} (known: pki)\n"
    )
