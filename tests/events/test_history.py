"""History and point-in-time state: the library, its index use, and the SQL template."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from fitness.config import Config
from fitness.events.history import EventHistory
from fitness.events.upcasting import UpcastError
from fitness.sql_files import sql_file
from tests.events import pki


@pytest.fixture
def reader(pki_database: str, pki_config: Config) -> Iterator[EventHistory]:
    with psycopg.connect(pki_database, autocommit=True) as conn:
        yield EventHistory(conn, pki_config)


def test_history_comes_back_in_version_order_in_the_current_shape(reader: EventHistory) -> None:
    events = reader.history("Certificate", pki.CERT_3)
    assert [(e.version, e.event_name, e.stored_event_version, e.event_version) for e in events] == [
        (1, "CertificateIssued", 1, 2),
        (2, "CertificateBound", 1, 2),
    ]
    issued, bound = events
    assert issued.payload == {"performed_by": "alice", "serial": "1003", "device_id": str(pki.DEVICE_1)}
    assert issued.state["status"] == "active"  # added by the v1 -> v2 upcaster
    assert bound.payload["reason"] == "unrecorded"
    assert bound.state["device_id"] == str(pki.DEVICE_4)
    assert [e.performed_by for e in events] == ["alice", "alice"]
    assert all(e.upcast for e in events)


def test_current_events_are_not_touched(reader: EventHistory) -> None:
    events = reader.history("Certificate", pki.CERT_2)
    assert [e.event_name for e in events] == ["CertificateIssued", "CertificateBound", "CertificateRevoked"]
    assert not any(e.upcast for e in events)


@pytest.mark.parametrize(
    ("day", "device", "status"),
    [
        ("2026-03-05", pki.DEVICE_1, "active"),  # the instant of issue counts
        ("2026-04-15", pki.DEVICE_1, "active"),
        ("2026-06-01", pki.DEVICE_4, "active"),
        ("2026-08-01", pki.DEVICE_4, "revoked"),
    ],
)
def test_which_device_a_certificate_was_bound_to_on_a_day(
    reader: EventHistory, day: str, device: Any, status: str
) -> None:
    found = reader.state_at("Certificate", pki.CERT_2, pki.at(day))
    assert found.existed
    assert found.event is not None
    assert (found.event.state["device_id"], found.event.state["status"]) == (str(device), status)


def test_before_its_first_event_an_aggregate_did_not_exist(reader: EventHistory) -> None:
    found = reader.state_at("Certificate", pki.CERT_2, pki.at("2026-03-04"))
    assert (found.event, found.existed, found.deleted) == (None, False, False)


def test_after_a_deletion_event_an_aggregate_has_ended(reader: EventHistory) -> None:
    found = reader.state_at("Device", pki.DEVICE_3, pki.at("2026-03-01"))
    assert found.deleted and not found.existed
    assert found.event is not None and found.event.event_name == "DeviceDecommissioned"


def test_an_old_event_is_upcast_when_read_at_a_point_in_time(reader: EventHistory) -> None:
    found = reader.state_at("Certificate", pki.CERT_1, pki.at("2026-12-31"))
    assert found.event is not None
    assert found.event.stored_event_version == 1 and found.event.event_version == 2
    assert found.event.state["status"] == "active"


def test_a_broken_upcast_chain_names_the_event_type(pki_database: str, pki_config: Config) -> None:
    with psycopg.connect(pki_database, autocommit=True) as conn:
        conn.execute(
            "UPDATE pki.event_types SET upcaster = NULL"
            " WHERE event_name = 'CertificateBound' AND event_version = 1"
        )
        with pytest.raises(UpcastError) as raised:
            EventHistory(conn, pki_config).history("Certificate", pki.CERT_3)
    assert raised.value.subject == "pki.event_types CertificateBound v1"


def _index_names(plan: Any) -> list[str]:
    found = [plan["Index Name"]] if "Index Name" in plan else []
    for child in plan.get("Plans", []):
        found.extend(_index_names(child))
    return found


def test_a_point_in_time_lookup_is_served_by_the_index(pki_filled_database: str, pki_config: Config) -> None:
    with psycopg.connect(pki_filled_database, autocommit=True) as conn:
        query = EventHistory(conn, pki_config).query("Certificate", "state_at.sql")
        params = {"kind": "Certificate", "aggregate_id": pki.CERT_2, "at": pki.at("2026-06-01")}
        row = conn.execute(psycopg.sql.SQL("EXPLAIN (FORMAT JSON) {}").format(query), params).fetchone()
    assert row is not None
    plan = row[0][0]["Plan"]
    assert _index_names(plan) == ["domain_event_point_in_time"], json.dumps(plan, indent=1)


def test_the_history_is_served_by_an_index(pki_filled_database: str, pki_config: Config) -> None:
    with psycopg.connect(pki_filled_database, autocommit=True) as conn:
        query = EventHistory(conn, pki_config).query("Certificate", "history.sql")
        params = {"kind": "Certificate", "aggregate_id": pki.CERT_2}
        row = conn.execute(psycopg.sql.SQL("EXPLAIN (FORMAT JSON) {}").format(query), params).fetchone()
    assert row is not None
    assert _index_names(row[0][0]["Plan"]) != [], row


# The SQL template a service migration includes verbatim.


def _install_sql_functions(url: str) -> str:
    with psycopg.connect(url) as conn:
        conn.execute("SET LOCAL search_path = pki, pg_temp")
        conn.execute(sql_file("fitness.events.sql", "point_in_time.sql"))
        conn.commit()
    return url


@pytest.fixture
def with_sql_functions(pki_database: str) -> str:
    return _install_sql_functions(pki_database)


def _sql_history(conn: psycopg.Connection[Any], kind: str, aggregate: Any) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT version, event_name, event_version, stored_event_version, payload, state, event_at"
        " FROM pki.aggregate_history(%s, %s)",
        (kind, aggregate),
    ).fetchall()


@pytest.mark.parametrize(
    ("kind", "aggregate"),
    [
        ("Certificate", pki.CERT_1),
        ("Certificate", pki.CERT_2),
        ("Certificate", pki.CERT_3),
        ("Device", pki.DEVICE_1),
        ("Device", pki.DEVICE_3),
    ],
)
def test_the_sql_history_function_agrees_with_the_library(
    with_sql_functions: str, pki_config: Config, kind: str, aggregate: Any
) -> None:
    with psycopg.connect(with_sql_functions, autocommit=True) as conn:
        conn.execute("SET search_path = public")  # the functions pin their own
        from_sql = _sql_history(conn, kind, aggregate)
        from_library = [
            (e.version, e.event_name, e.event_version, e.stored_event_version, e.payload, e.state, e.event_at)
            for e in EventHistory(conn, pki_config).history(kind, aggregate)
        ]
    assert from_sql == from_library
    assert from_sql


@pytest.mark.parametrize("day", ["2026-01-01", "2026-03-05", "2026-04-15", "2026-06-01", "2026-12-31"])
def test_the_sql_state_at_function_agrees_with_the_library(
    with_sql_functions: str, pki_config: Config, day: str
) -> None:
    with psycopg.connect(with_sql_functions, autocommit=True) as conn:
        for aggregate in (pki.CERT_1, pki.CERT_2, pki.CERT_3):
            row = conn.execute(
                "SELECT version, event_version, state FROM pki.aggregate_state_at('Certificate', %s, %s)",
                (aggregate, pki.at(day)),
            ).fetchone()
            found = EventHistory(conn, pki_config).state_at("Certificate", aggregate, pki.at(day))
            expected = (
                None
                if found.event is None
                else (found.event.version, found.event.event_version, found.event.state)
            )
            assert row == expected


def test_the_sql_state_at_function_is_served_by_the_index(pki_filled_database: str) -> None:
    plans: list[str] = []
    with psycopg.connect(_install_sql_functions(pki_filled_database), autocommit=True) as conn:
        try:
            conn.execute("LOAD 'auto_explain'")
        except psycopg.errors.UndefinedFile:
            pytest.skip("auto_explain is not installed on this server")
        conn.add_notice_handler(lambda notice: plans.append(notice.message_primary or ""))
        for setting in (
            "auto_explain.log_min_duration = 0",
            "auto_explain.log_nested_statements = on",
            "auto_explain.log_level = notice",
            "client_min_messages = notice",
        ):
            conn.execute(f"SET {setting}")
        conn.execute(
            "SELECT * FROM pki.aggregate_state_at('Certificate', %s, %s)", (pki.CERT_2, pki.at("2026-06-01"))
        )
    nested = [p for p in plans if "d.event_at <= aggregate_state_at.at" in p]
    assert nested, plans
    assert "using domain_event_point_in_time on domain_event d" in nested[0], nested[0]


def test_the_sql_template_refuses_to_run_without_the_service_schema(pki_database: str) -> None:
    with psycopg.connect(pki_database) as conn:
        conn.execute("SET LOCAL search_path = pg_catalog")
        with pytest.raises(psycopg.errors.RaiseException, match="SET LOCAL search_path"):
            conn.execute(sql_file("fitness.events.sql", "point_in_time.sql"))
