"""event-completeness on the pki fixture service: clean, and broken one way at a time."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from fitness.config import Config
from fitness.engine import Result, Status
from tests.events import pki
from tests.events.conftest import check, config_variant

D4 = f"pki.devices id={pki.DEVICE_4}"


def run(url: str, *statements: str, params: Any = None) -> None:
    """Each statement in its own transaction."""
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement, params)


def messages(result: Result, subject: str) -> list[str]:
    return [v.message for v in result.violations if v.subject == subject]


def only(result: Result) -> tuple[str, str]:
    """The one violation of ``result`` as (subject, message)."""
    assert result.status is Status.FAIL, (result.status, result.reason)
    assert len(result.violations) == 1, [(v.subject, v.message) for v in result.violations]
    return result.violations[0].subject, result.violations[0].message


@pytest.fixture
def writer(pki_database: str, pki_config: Config) -> Iterator[pki.EventWriter]:
    with psycopg.connect(pki_database, autocommit=True) as conn:
        yield pki.EventWriter(conn, pki_config)


def test_clean_service_reports_nothing(pki_database: str, pki_config: Config) -> None:
    result = check(pki_database, pki_config)
    assert result.status is Status.PASS, (result.reason, result.violations)
    assert "2 aggregate table(s) reconciled in 1 schema(s) as of one snapshot" in result.notes


def test_a_row_updated_without_an_event_is_named(pki_database: str, pki_config: Config) -> None:
    run(pki_database, f"UPDATE pki.devices SET name = 'hijacked' WHERE id = '{pki.DEVICE_4}'")
    result = check(pki_database, pki_config)
    found = messages(result, D4)
    assert len(result.violations) == 2
    assert any(m.startswith("the row was last written by transaction") for m in found), found
    assert any(m.endswith("differs from the row in: name.") for m in found), found


def test_a_rewrite_with_the_same_values_and_no_event_is_caught(pki_database: str, pki_config: Config) -> None:
    run(pki_database, f"UPDATE pki.devices SET name = name WHERE id = '{pki.DEVICE_4}'")
    subject, message = only(check(pki_database, pki_config))
    assert subject == D4
    assert "which wrote no event for it" in message


def test_an_event_written_in_a_separate_transaction_is_caught(pki_database: str, pki_config: Config) -> None:
    run(
        pki_database,
        f"UPDATE pki.devices SET name = 'moved', version = 2 WHERE id = '{pki.DEVICE_4}'",
        "INSERT INTO pki.domain_event (tenant_id, kind, aggregate_id, version, event_name,"
        " event_version, state, payload, event_at)"
        " SELECT d.tenant_id, 'Device', d.id, 2, 'DeviceRenamed', 1, to_jsonb(d),"
        ' \'{"performed_by": "mallory", "name": "moved"}\', now()'
        f" FROM pki.devices AS d WHERE d.id = '{pki.DEVICE_4}'",
    )
    subject, message = only(check(pki_database, pki_config))
    assert subject == D4
    assert message.startswith("the row was last written by transaction")


def test_row_and_event_written_inside_one_savepoint_are_one_transaction(
    pki_database: str, pki_config: Config, writer: pki.EventWriter
) -> None:
    with writer.conn.transaction():
        writer.conn.execute("SELECT pg_current_xact_id()")  # the parent gets its xid first
        writer.change(  # its own transaction() block nests: a savepoint
            "devices",
            pki.TENANT_A,
            pki.DEVICE_4,
            {"name": "relabelled"},
            "DeviceRenamed",
            {"performed_by": "alice", "name": "relabelled"},
            pki.at("2026-06-01"),
        )
    result = check(pki_database, pki_config)
    assert result.status is Status.PASS, result.violations


def test_a_state_written_under_another_time_zone_is_the_same_state(
    pki_database: str, pki_config: Config, writer: pki.EventWriter
) -> None:
    writer.conn.execute("SET TimeZone = 'Asia/Tokyo'")
    writer.change(
        "devices",
        pki.TENANT_A,
        pki.DEVICE_4,
        {"name": "kiosk 2"},
        "DeviceRenamed",
        {"performed_by": "alice", "name": "kiosk 2"},
        pki.at("2026-06-01"),
    )
    stored = writer.conn.execute(
        "SELECT state ->> 'registered_at' FROM pki.domain_event"
        f" WHERE aggregate_id = '{pki.DEVICE_4}' AND version = 2"
    ).fetchone()
    assert stored is not None and stored[0].endswith("+09:00")
    result = check(pki_database, pki_config)
    assert result.status is Status.PASS, result.violations


def test_a_skipped_version_is_caught(pki_database: str, pki_config: Config, writer: pki.EventWriter) -> None:
    rename_device_4(writer, row_version=3, event_version=3)
    subject, message = only(check(pki_database, pki_config))
    assert subject == D4
    assert message == (
        "its events' versions are not contiguous from 1 (2 event(s), versions 1 to 3): "
        "a version was skipped or written twice."
    )


def test_a_stale_state_is_caught(pki_database: str, pki_config: Config, writer: pki.EventWriter) -> None:
    writer.change(
        "devices",
        pki.TENANT_A,
        pki.DEVICE_4,
        {"name": "kiosk 2"},
        "DeviceRenamed",
        {"performed_by": "alice", "name": "kiosk 2"},
        pki.at("2026-06-01"),
        stored_state={
            "id": str(pki.DEVICE_4),
            "tenant_id": str(pki.TENANT_A),
            "name": "kiosk",
            "registered_at": "2026-01-10T00:00:00+00:00",
            "version": 2,
        },
    )
    subject, message = only(check(pki_database, pki_config))
    assert subject == D4
    assert message == (
        "the state of its latest event (DeviceRenamed v1, version 2) differs from the row in: name."
    )


def test_a_stale_time_stamp_is_caught_whatever_its_spelling(
    pki_database: str, pki_config: Config, writer: pki.EventWriter
) -> None:
    writer.change(
        "devices",
        pki.TENANT_A,
        pki.DEVICE_4,
        {"name": "kiosk 2"},
        "DeviceRenamed",
        {"performed_by": "alice", "name": "kiosk 2"},
        pki.at("2026-06-01"),
        stored_state={
            "id": str(pki.DEVICE_4),
            "tenant_id": str(pki.TENANT_A),
            "name": "kiosk 2",
            "registered_at": "2026-01-10T09:00:00+09:00",  # midnight UTC on the 10th would be 09:00+09
            "version": 2,
        },
    )
    assert check(pki_database, pki_config).status is Status.PASS
    run(
        pki_database,
        "UPDATE pki.domain_event SET state = jsonb_set(state, '{registered_at}',"
        f" '\"2026-01-10T10:00:00+09:00\"') WHERE aggregate_id = '{pki.DEVICE_4}' AND version = 2",
    )
    subject, message = only(check(pki_database, pki_config))
    assert subject == D4
    assert message.endswith("differs from the row in: registered_at.")


def test_a_stale_state_behind_an_old_event_version_is_caught_after_upcasting(
    pki_database: str, pki_config: Config
) -> None:
    run(
        pki_database,
        f'UPDATE pki.domain_event SET state = state || \'{{"serial_number": "9"}}\''
        f" WHERE aggregate_id = '{pki.CERT_1}'",
    )
    subject, message = only(check(pki_database, pki_config))
    assert subject == f"pki.certificates id={pki.CERT_1}"
    assert message.endswith("(CertificateIssued v1, version 1) differs from the row in: serial_number.")


def test_a_row_version_ahead_of_its_latest_event_is_caught(
    pki_database: str, pki_config: Config, writer: pki.EventWriter
) -> None:
    # The state is taken from the row the writer changed (version 7 included), so the state
    # matches the row: only the event's own version column disagrees.
    rename_device_4(writer, row_version=7, event_version=2)
    subject, message = only(check(pki_database, pki_config))
    assert (subject, message) == (D4, "the row's version is 7 but its latest event's is 2.")


def test_an_event_of_another_tenant_is_caught(
    pki_database: str, pki_config: Config, writer: pki.EventWriter
) -> None:
    rename_device_4(writer, row_version=2, event_version=2, tenant=pki.TENANT_B)
    subject, message = only(check(pki_database, pki_config))
    assert subject == D4
    assert message == f"its latest event belongs to tenant_id {pki.TENANT_B}, the row to {pki.TENANT_A}."


def test_events_of_a_row_deleted_without_a_deletion_event_are_caught(
    pki_database: str, pki_config: Config
) -> None:
    run(pki_database, f"DELETE FROM pki.devices WHERE id = '{pki.DEVICE_4}'")
    subject, message = only(check(pki_database, pki_config))
    assert subject == D4
    assert message.startswith("1 event(s) refer to this aggregate but its row is missing")


def test_a_row_that_outlives_its_deletion_event_is_caught(
    pki_database: str, pki_config: Config, writer: pki.EventWriter
) -> None:
    writer.change(
        "devices",
        pki.TENANT_A,
        pki.DEVICE_4,
        {"name": "gone"},
        "DeviceDecommissioned",
        {"performed_by": "alice"},
        pki.at("2026-06-01"),
    )
    subject, message = only(check(pki_database, pki_config))
    assert subject == D4
    assert message.startswith("the row exists although its latest event, DeviceDecommissioned")


def test_a_row_without_events_is_caught(pki_database: str, pki_config: Config) -> None:
    new = uuid.uuid4()
    run(
        pki_database,
        f"INSERT INTO pki.devices VALUES ('{pki.TENANT_A}', '{new}', 'legacy', now(), 1)",
    )
    subject, message = only(check(pki_database, pki_config))
    assert subject == f"pki.devices id={new}"
    assert message.startswith("the row has no events")


def test_many_rows_without_events_are_listed_up_to_a_cap_and_counted(
    pki_database: str, pki_config: Config
) -> None:
    run(
        pki_database,
        f"INSERT INTO pki.devices SELECT '{pki.TENANT_A}', gen_random_uuid(), 'legacy ' || g, now(), 1"
        " FROM generate_series(1, 150) AS g",
    )
    result = check(pki_database, pki_config)
    listed = [v for v in result.violations if v.subject.startswith("pki.devices id=")]
    summary = [v for v in result.violations if v.subject == "pki.devices"]
    assert len(listed) == 100
    assert [v.message for v in summary] == [
        "50 more aggregate(s) have a row but no events (the first 100 aggregates with problems "
        "are listed by id)."
    ]


def test_an_unregistered_event_name_is_caught(
    pki_database: str, pki_config: Config, writer: pki.EventWriter
) -> None:
    writer.change(
        "devices",
        pki.TENANT_A,
        pki.DEVICE_4,
        {"name": "red kiosk"},
        "DeviceRepainted",
        {"performed_by": "alice", "colour": "red"},
        pki.at("2026-06-01"),
    )
    subject, message = only(check(pki_database, pki_config))
    assert subject == "pki.event_types DeviceRepainted v1"
    assert message == (
        "1 event(s) of DeviceRepainted v1 (kind Device) are stored but the type is not registered."
    )


def test_an_unregistered_newer_version_is_caught(
    pki_database: str, pki_config: Config, writer: pki.EventWriter
) -> None:
    writer.change(
        "devices",
        pki.TENANT_A,
        pki.DEVICE_4,
        {"name": "k"},
        "DeviceRenamed",
        {"performed_by": "alice", "name": "k"},
        pki.at("2026-06-01"),
        event_version=2,
    )
    subject, message = only(check(pki_database, pki_config))
    assert subject == "pki.event_types DeviceRenamed v2"
    assert message.endswith("not registered (registered versions end at v1).")


def test_an_old_version_without_upcaster_is_caught(pki_database: str, pki_config: Config) -> None:
    run(
        pki_database,
        "UPDATE pki.event_types SET upcaster = NULL"
        " WHERE event_name = 'CertificateIssued' AND event_version = 1",
    )
    result = check(pki_database, pki_config)
    subject, message = only(result)
    assert subject == "pki.event_types CertificateIssued v1"
    assert message == (
        "it is an old version (current v2) without an upcaster: its events cannot be read in the "
        "current shape."
    )
    assert any("were not compared with their rows" in note for note in result.notes)


def test_a_missing_upcaster_function_is_caught(pki_database: str, pki_config: Config) -> None:
    run(pki_database, "DROP FUNCTION pki.certificate_bound_v1_to_v2")
    subject, message = only(check(pki_database, pki_config))
    assert subject == "pki.event_types CertificateBound v1"
    assert message == "its upcaster pki.certificate_bound_v1_to_v2(jsonb, jsonb) does not exist."


def test_an_upcaster_of_the_wrong_signature_is_caught(pki_database: str, pki_config: Config) -> None:
    run(
        pki_database,
        "DROP FUNCTION pki.certificate_bound_v1_to_v2",
        "CREATE FUNCTION pki.certificate_bound_v1_to_v2(payload jsonb, state jsonb) RETURNS jsonb"
        " LANGUAGE sql AS 'SELECT $1'",
    )
    subject, message = only(check(pki_database, pki_config))
    assert subject == "pki.event_types CertificateBound v1"
    assert "does not have the signature" in message


def test_an_upcaster_whose_result_breaks_the_current_schema_is_caught(
    pki_database: str, pki_config: Config
) -> None:
    run(
        pki_database,
        "CREATE OR REPLACE FUNCTION pki.certificate_bound_v1_to_v2(INOUT payload jsonb, INOUT state jsonb)"
        ' LANGUAGE sql AS $$ SELECT $1 || \'{"reason": "x"}\', $2 || \'{"status": "bogus"}\' $$',
    )
    result = check(pki_database, pki_config)
    found = messages(result, "pki.event_types CertificateBound v1")
    assert any(
        m.startswith(
            "1 of the latest 1 event(s), upcast to v2, have a state that does not match the "
            "current version's state_schema"
        )
        for m in found
    ), found


def test_a_payload_violating_its_schema_is_caught(
    pki_database: str, pki_config: Config, writer: pki.EventWriter
) -> None:
    writer.change(
        "devices",
        pki.TENANT_A,
        pki.DEVICE_4,
        {"name": "k"},
        "DeviceRenamed",
        {"performed_by": "alice", "label": "k"},
        pki.at("2026-06-01"),
    )
    subject, message = only(check(pki_database, pki_config))
    assert subject == "pki.event_types DeviceRenamed v1"
    assert message.startswith(
        "1 of the latest 3 event(s) have a payload that does not match its payload_schema"
    )
    assert "'name' is a required property" in message


def test_an_event_without_performed_by_is_caught(
    pki_database: str, pki_config: Config, writer: pki.EventWriter
) -> None:
    writer.change(
        "devices",
        pki.TENANT_A,
        pki.DEVICE_4,
        {"name": "k"},
        "DeviceRenamed",
        {"name": "k"},
        pki.at("2026-06-01"),
    )
    found = messages(check(pki_database, pki_config), "pki.event_types DeviceRenamed v1")
    assert (
        "1 event(s) of DeviceRenamed v1 have no performed_by in their payload: nobody can tell who "
        "made the change." in found
    )


def test_an_invalid_json_schema_is_caught(pki_database: str, pki_config: Config) -> None:
    run(
        pki_database,
        "UPDATE pki.event_types SET payload_schema = '{\"type\": 5}' WHERE event_name = 'DeviceRenamed'",
    )
    subject, message = only(check(pki_database, pki_config))
    assert subject == "pki.event_types DeviceRenamed v1"
    assert message.startswith("its payload_schema is not a valid JSON Schema")


def test_a_missing_point_in_time_index_is_caught(pki_database: str, pki_config: Config) -> None:
    run(pki_database, "DROP INDEX pki.domain_event_point_in_time")
    subject, message = only(check(pki_database, pki_config))
    assert subject == "pki.domain_event"
    assert message.startswith("no index serves point-in-time lookups (kind, aggregate_id, event_at)")


def test_an_index_with_the_tenant_first_serves_point_in_time_lookups(
    pki_database: str, pki_config: Config
) -> None:
    run(
        pki_database,
        "DROP INDEX pki.domain_event_point_in_time",
        "CREATE INDEX ON pki.domain_event (tenant_id, aggregate_id, kind, event_at)",
    )
    assert check(pki_database, pki_config).status is Status.PASS


def test_a_missing_version_uniqueness_is_caught(pki_database: str, pki_config: Config) -> None:
    run(
        pki_database,
        "ALTER TABLE pki.domain_event DROP CONSTRAINT domain_event_kind_aggregate_id_version_key",
    )
    subject, message = only(check(pki_database, pki_config))
    assert subject == "pki.domain_event"
    assert message.startswith("nothing makes (kind, aggregate_id, version) unique")


def test_row_level_security_not_forced_on_events_is_caught(pki_database: str, pki_config: Config) -> None:
    run(pki_database, "ALTER TABLE pki.domain_event NO FORCE ROW LEVEL SECURITY")
    assert only(check(pki_database, pki_config)) == (
        "pki.domain_event",
        "row-level security is not forced: the table owner reads every tenant's events.",
    )


def test_a_mistyped_event_column_is_caught_and_stops_reconciliation(
    pki_database: str, pki_config: Config
) -> None:
    run(
        pki_database,
        "ALTER TABLE pki.domain_event ALTER COLUMN tx_id DROP DEFAULT",
        "ALTER TABLE pki.domain_event ALTER COLUMN tx_id TYPE bigint USING tx_id::text::bigint",
    )
    result = check(pki_database, pki_config)
    assert only(result) == ("pki.domain_event", "column tx_id is bigint, not xid8.")
    assert any(note.startswith("not reconciled until") for note in result.notes)


def test_a_missing_event_table_is_caught(pki_database: str, pki_config: Config) -> None:
    run(pki_database, "DROP TABLE pki.domain_event")
    result = check(pki_database, pki_config)
    subject, message = only(result)
    assert subject == "pki.domain_event"
    assert message == "the event table is missing: changes of Device, Certificate leave no events."
    hint = result.violations[0].hint or ""
    assert hint.startswith('CREATE TABLE "pki"."domain_event" (')
    assert "tx_id xid8 NOT NULL DEFAULT pg_current_xact_id()" in hint


def test_a_missing_event_type_catalogue_is_caught(pki_database: str, pki_config: Config) -> None:
    run(pki_database, "DROP TABLE pki.event_types")
    subject, message = only(check(pki_database, pki_config))
    assert subject == "pki.event_types"
    assert message.startswith("the event type catalogue is missing")


def test_a_missing_aggregate_table_is_named_with_its_config_line(
    pki_database: str, pki_config: Config
) -> None:
    run(pki_database, "DROP TABLE pki.certificates")
    violation = check(pki_database, pki_config).violations[0]
    assert violation.subject == "pki.certificates"
    assert violation.message == "it is declared as the aggregate table of Certificate but does not exist."
    assert violation.location == f"{pki_config.path}:10"


def test_a_mapping_naming_a_missing_column_is_caught(pki_database: str, tmp_path: Path) -> None:
    config = config_variant(
        tmp_path, pki.CONFIG.replace("exclude: [private_key_ref]", "exclude: [private_key_ref, pin]")
    )
    subject, message = only(check(pki_database, config))
    assert subject == "pki.certificates"
    assert message == "events.state names column pin, which the table does not have."


def test_a_declared_deletion_nobody_registers_is_caught(pki_database: str, tmp_path: Path) -> None:
    config = config_variant(
        tmp_path, pki.CONFIG.replace("[DeviceDecommissioned]", "[DeviceDecommissioned, DeviceScrapped]")
    )
    violation = check(pki_database, config).violations[0]
    assert (violation.subject, violation.location) == ("DeviceScrapped", f"{config.path}:15")


def test_a_role_subject_to_row_level_security_is_refused(pki_database: str, pki_config: Config) -> None:
    role = f"events_reader_{uuid.uuid4().hex[:8]}"
    run(pki_database, f"CREATE ROLE {role} LOGIN", f"GRANT USAGE ON SCHEMA pki TO {role}")
    try:
        url = pki_database.replace("postgres@", f"{role}@", 1)
        result = check(url, pki_config)
        assert result.status is Status.ERROR
        assert result.reason == (
            f"event-completeness reads every tenant's rows and events: connect as a superuser or a "
            f"role with BYPASSRLS ({role} has neither)"
        )
    finally:
        run(pki_database, f"DROP OWNED BY {role}", f"DROP ROLE {role}")


def test_nothing_declared_is_a_skip(pki_database: str, tmp_path: Path) -> None:
    text = pki.CONFIG[: pki.CONFIG.index("events:")]
    result = check(pki_database, config_variant(tmp_path, text))
    assert result.status is Status.SKIP
    assert result.reason == "no aggregates are declared in events.aggregates: nothing to reconcile"


def rename_device_4(
    writer: pki.EventWriter, *, row_version: int, event_version: int, tenant: uuid.UUID = pki.TENANT_A
) -> None:
    """Rename device 4 to 'k' at ``row_version``, with a DeviceRenamed event at ``event_version``
    for ``tenant`` carrying the renamed row's state, in one transaction."""
    with writer.conn.transaction():
        writer.conn.execute(
            "UPDATE pki.devices SET name = 'k', version = %s WHERE id = %s", (row_version, pki.DEVICE_4)
        )
        writer._event(
            "devices",
            tenant,
            pki.DEVICE_4,
            event_version,
            _row_state(writer, pki.DEVICE_4),
            "DeviceRenamed",
            {"performed_by": "alice", "name": "k"},
            pki.at("2026-06-01"),
        )


def _row_state(writer: pki.EventWriter, device: uuid.UUID) -> Any:
    row = writer.conn.execute(
        "SELECT to_jsonb(d) FROM pki.devices AS d WHERE d.id = %s", (device,)
    ).fetchone()
    assert row is not None
    return row[0]


def test_the_number_of_statements_does_not_grow_with_the_aggregates(
    pki_database: str, pki_config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(pki_database, *(f"CREATE TABLE pki.gadgets_{n} (LIKE pki.devices INCLUDING ALL)" for n in range(10)))
    many = config_variant(
        tmp_path,
        pki.CONFIG.replace(
            "    pki.certificates: Certificate\n",
            "    pki.certificates: Certificate\n"
            + "".join(f"    pki.gadgets_{n}: Gadget{n}\n" for n in range(10)),
        ),
    )
    statements: list[str] = []
    execute = psycopg.Cursor.execute

    def counting(self: psycopg.Cursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        statements.append(str(query)[:40])
        return execute(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", counting)
    assert check(pki_database, pki_config).status is Status.PASS
    for_two = len(statements)
    statements.clear()
    result = check(pki_database, many)
    assert result.status is Status.PASS, result.violations
    assert "12 aggregate table(s) reconciled in 1 schema(s) as of one snapshot" in result.notes
    assert len(statements) == for_two
