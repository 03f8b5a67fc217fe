"""Legacy adoption on the reference platform: its rows without their events, then backfilled.

What the legacy system looks like: every service's rows as the installed reference
has them, and no events at all. The event stores are in place (``domain_event``,
``event_types`` with the services' own types, the point-in-time functions): adopting
events starts by adding them, then ``fitgate events backfill`` records what the rows
are. Row versions are left as the legacy system had them (here the lengths of the
deleted histories, 1 to 4): a legacy counter means nothing to an event stream, and
the backfill restarts every stream at 1, the row's version with it.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from fitness.cli import main
from fitness.config import Config, load_config
from fitness.engine import CheckContext, Result, Status
from fitness.engine.context import DatabaseTarget
from fitness.engine.runner import run_one
from fitness.events.contract import aggregate_tables
from reference.device.seed import seed_certificate_id, seed_device_id
from reference.directory.seed import seed_user_id
from reference.license.seed import seed_license_id
from reference.platform.seeding import TENANT_A, TENANT_B

SERVICES = ("directory", "auth", "license", "device")
_WROTE = re.compile(r"wrote (\d+) event\(s\)")


def check(url: str, config: Config) -> Result:
    return run_one(CheckContext(config, DatabaseTarget(url, "test", False)), "event-completeness")


def backfill(config: Config, url: str, service: str, *options: str) -> tuple[int, str]:
    """``fitgate events backfill --service NAME``: the number of events it wrote, and its output."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(
            [
                "events",
                "backfill",
                "--config",
                str(config.path),
                "--database-url",
                url,
                "--service",
                service,
                *options,
            ]
        )
    assert code == 0, out.getvalue()
    found = _WROTE.search(out.getvalue())
    assert found is not None, out.getvalue()
    return int(found.group(1)), out.getvalue()


def count(conn: psycopg.Connection[Any], query: str) -> int:
    row = conn.execute(query).fetchone()
    assert row is not None
    return int(row[0])


def rows_of(conn: psycopg.Connection[Any], config: Config, schema: str) -> int:
    """How many aggregate rows the service's declared tables hold."""
    tables = [a.qualified for a in aggregate_tables(config) if a.schema == schema]
    return sum(count(conn, f"SELECT count(*) FROM {table}") for table in tables)


@pytest.fixture
def legacy(fitgate_installed_database: str) -> Iterator[psycopg.Connection[Any]]:
    """A copy of the installed reference with every event deleted (a superuser connection)."""
    with psycopg.connect(fitgate_installed_database, autocommit=True) as conn:
        for service in SERVICES:
            conn.execute(f"DELETE FROM {service}.domain_event")
        yield conn


@pytest.fixture
def with_removals(fitgate_config: Config, tmp_path: Path) -> Config:
    """The repository's contract, declaring RoleAssignmentRemoved an end of its aggregate."""
    data = yaml.safe_load(fitgate_config.path.read_text(encoding="utf-8"))
    data["code_root"] = str(fitgate_config.code_root)
    data["adr_dir"] = str(fitgate_config.adr_dir)
    data["load"]["locustfile"] = str(fitgate_config.code_root / data["load"]["locustfile"])
    data["events"]["deletions"] = ["RoleAssignmentRemoved"]
    path = tmp_path / "quality-attributes.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return load_config(path)


def test_the_legacy_platform_fails_event_completeness_on_every_row(
    legacy: psycopg.Connection[Any], fitgate_config: Config, fitgate_installed_database: str
) -> None:
    result = check(fitgate_installed_database, fitgate_config)
    assert result.status is Status.FAIL
    assert {v.message.split(":")[0] for v in result.violations} == {"the row has no events"}
    assert len(result.violations) == sum(rows_of(legacy, fitgate_config, s) for s in SERVICES)


def test_backfilling_every_service_adopts_the_platform_and_a_second_run_adds_nothing(
    legacy: psycopg.Connection[Any], fitgate_config: Config, fitgate_installed_database: str
) -> None:
    url = fitgate_installed_database
    assert count(legacy, "SELECT count(*) FROM device.certificates WHERE version > 1") > 0  # kept as found
    for service in SERVICES:
        written, output = backfill(fitgate_config, url, service)
        assert written == rows_of(legacy, fitgate_config, service), output
    result = check(url, fitgate_config)
    assert result.status is Status.PASS, [(v.subject, v.message) for v in result.violations]
    for service in SERVICES:
        assert count(legacy, f"SELECT count(*) FROM {service}.domain_event WHERE version <> 1") == 0
        assert (
            count(
                legacy,
                f"SELECT count(*) FROM {service}.domain_event"
                " WHERE payload ->> 'performed_by' <> 'system-migration' OR event_name NOT LIKE '%Migrated'",
            )
            == 0
        )
    # History starts at the adoption: the rebound certificate's past bindings are not known.
    pump = seed_certificate_id(TENANT_A, "pump-ward3")
    assert legacy.execute(
        "SELECT event_name, state ->> 'device_id' FROM device.aggregate_history('Certificate', %s)", (pump,)
    ).fetchall() == [("CertificateMigrated", str(seed_device_id(TENANT_A, "IP-3000-0002")))]
    events = sum(count(legacy, f"SELECT count(*) FROM {s}.domain_event") for s in SERVICES)
    for service in SERVICES:
        assert backfill(fitgate_config, url, service)[0] == 0
    assert sum(count(legacy, f"SELECT count(*) FROM {s}.domain_event") for s in SERVICES) == events
    assert check(url, fitgate_config).status is Status.PASS


def test_diff_records_what_a_legacy_writer_changed_since(
    legacy: psycopg.Connection[Any],
    fitgate_config: Config,
    with_removals: Config,
    fitgate_installed_database: str,
) -> None:
    url = fitgate_installed_database
    for service in SERVICES:
        backfill(with_removals, url, service)
    bob = seed_user_id(TENANT_A, "bob")
    erin = seed_user_id(TENANT_B, "erin")
    (certificate,) = legacy.execute(
        "SELECT id FROM device.certificates WHERE tenant_id = %s ORDER BY id LIMIT 1", (TENANT_A.id,)
    ).fetchone() or (None,)
    # A legacy writer, unaware of events: a change, a rewrite with the same values, a new row,
    # a row deleted.
    legacy.execute("UPDATE directory.users SET display_name = 'Robert Keller' WHERE id = %s", (bob,))
    legacy.execute(
        "UPDATE license.licenses SET seats = seats + 5 WHERE id = %s", (seed_license_id(TENANT_A),)
    )
    legacy.execute("UPDATE device.certificates SET status = status WHERE id = %s", (certificate,))
    legacy.execute(
        "INSERT INTO device.devices SELECT (jsonb_populate_record(NULL::device.devices, to_jsonb(d)"
        " || jsonb_build_object('id', gen_random_uuid(), 'serial_number', 'LEGACY-0001'))).*"
        " FROM device.devices AS d WHERE d.tenant_id = %s ORDER BY d.id LIMIT 1",
        (TENANT_B.id,),
    )
    legacy.execute("DELETE FROM directory.role_assignments WHERE user_id = %s", (erin,))
    assert check(url, with_removals).status is Status.FAIL

    written = {service: backfill(with_removals, url, service, "--diff")[1] for service in SERVICES}
    assert "directory.users: 1 UserChanged" in written["directory"]
    assert "directory.role_assignments: 1 RoleAssignmentRemoved" in written["directory"]
    assert "license.licenses: 1 LicenseChanged" in written["license"]
    assert "device.devices: 1 DeviceMigrated" in written["device"]
    assert "device.certificates: 1 CertificateChanged" in written["device"]
    assert "wrote 0 event(s)" in written["auth"]
    assert [_WROTE.search(text).group(1) for text in written.values()] == ["2", "0", "1", "2"]  # type: ignore[union-attr]

    result = check(url, with_removals)
    assert result.status is Status.PASS, [(v.subject, v.message) for v in result.violations]
    changed = legacy.execute(
        "SELECT version, state ->> 'display_name', (state ->> 'version')::int FROM directory.domain_event"
        " WHERE aggregate_id = %s ORDER BY version",
        (bob,),
    ).fetchall()
    assert changed == [(1, "Bob Keller", 1), (2, "Robert Keller", 2)]
    for service in SERVICES:
        assert backfill(with_removals, url, service, "--diff")[0] == 0
