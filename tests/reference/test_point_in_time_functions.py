"""Each service's point-in-time SQL functions, on the installed reference platform.

``<schema>.aggregate_state_at`` and ``<schema>.aggregate_history`` come from fitgate's
template (``fitness/events/sql/point_in_time.sql``) through one migration per service.
They are what the kernel's ``EventStore.state_at``/``history`` call, what an auditor
calls from SQL, and they must agree with ``fitgate events``, which reads any system
without them.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import psycopg
import pytest

from fitness.cli import main
from fitness.config import Config
from fitness.database import with_user
from fitness.sql_files import sql_file
from reference.device.seed import seed_certificate_id, seed_device_id
from reference.installer import PLATFORM, ServicePackage
from reference.platform.migrations import discover_migrations
from reference.platform.seeding import TENANT_A

TEMPLATE_MARKER = "-- BEGIN fitness/events/sql/point_in_time.sql\n"
END_MARKER = "-- END fitness/events/sql/point_in_time.sql\n"
SIGNATURES = (  # as regprocedure spells them
    "aggregate_history(text,uuid)",
    "aggregate_state_at(text,uuid,timestamp with time zone)",
    "upcast_event(text,integer,jsonb,jsonb)",
)
# The three functions of one schema as the catalog knows them: owner, rights, settings, executors.
FUNCTION_FACTS = """
SELECT p.oid::regprocedure::text, pg_get_userbyid(p.proowner), p.prosecdef, p.proconfig,
       ARRAY(SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END
             FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) AS a
             WHERE a.privilege_type = 'EXECUTE' AND a.grantee <> p.proowner ORDER BY 1)
FROM pg_proc AS p
WHERE p.pronamespace = %s::regnamespace
  AND p.proname IN ('upcast_event', 'aggregate_history', 'aggregate_state_at')
ORDER BY 1
"""
PUMP = seed_certificate_id(TENANT_A, "pump-ward3")  # bound to IP-3000-0001, then rebound to -0002
BED_1 = seed_device_id(TENANT_A, "IP-3000-0001")
BED_2 = seed_device_id(TENANT_A, "IP-3000-0002")


def _point_in_time_migration(service: ServicePackage) -> str:
    """The text of the latest migration of ``service`` that includes the template."""
    including = [m for m in discover_migrations(service.package) if TEMPLATE_MARKER in m.text]
    assert including, f"{service.package} has no migration including point_in_time.sql"
    return including[-1].text


@pytest.mark.parametrize("service", PLATFORM, ids=lambda s: s.name)
def test_each_service_includes_the_template_verbatim(service: ServicePackage) -> None:
    text = _point_in_time_migration(service)
    included = text[text.index(TEMPLATE_MARKER) + len(TEMPLATE_MARKER) : text.index(END_MARKER)]
    assert included == sql_file("fitness.events.sql", "point_in_time.sql")
    # the template pins what the migration sets: the service schema, pg_temp last
    assert f"SET LOCAL search_path = {service.schema}, pg_temp;\n" in text[: text.index(TEMPLATE_MARKER)]


@pytest.fixture
def superuser(fitgate_installed_database: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(fitgate_installed_database, autocommit=True) as conn:
        yield conn


def test_the_functions_belong_to_the_owner_and_only_the_service_executes_them(
    superuser: psycopg.Connection[Any],
) -> None:
    for service in PLATFORM:
        facts = superuser.execute(FUNCTION_FACTS, (service.schema,)).fetchall()
        assert [row[0] for row in facts] == [f"{service.schema}.{s}" for s in SIGNATURES]
        for _signature, owner, definer, config, executors in facts:
            assert owner == service.owner
            assert definer is False  # the caller's rights: the tenant policies apply
            assert config == [f"search_path={service.schema}, pg_temp"]
            assert executors == [service.role]


def _device_service(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(with_user(url, "device_service"))


def _as_tenant(conn: psycopg.Connection[Any], tenant: UUID) -> None:
    conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant),))


def _bindings(url: str) -> list[tuple[int, str, str | None, datetime.datetime]]:
    """The pump certificate's history as device_service sees it through the SQL function."""
    with _device_service(url) as conn:
        _as_tenant(conn, TENANT_A.id)
        rows = conn.execute(
            "SELECT version, event_name, state ->> 'device_id', event_at"
            " FROM device.aggregate_history('Certificate', %s)",
            (PUMP,),
        ).fetchall()
    return [(int(v), str(n), d, at) for v, n, d, at in rows]


def test_the_history_function_tells_the_bindings_of_the_rebound_certificate(
    fitgate_installed_database: str,
) -> None:
    history = _bindings(fitgate_installed_database)
    assert [(v, n, d) for v, n, d, _ in history] == [
        (1, "CertificateIssued", None),
        (2, "CertificateBound", str(BED_1)),
        (3, "CertificateBound", str(BED_2)),
    ]
    times = [at for *_, at in history]
    assert times == sorted(times) and len(set(times)) == 3  # one transaction per step


def test_the_state_at_function_answers_which_device_the_certificate_was_bound_to(
    fitgate_installed_database: str,
) -> None:
    (_, _, _, issued), (_, _, _, first), (_, _, _, second) = _bindings(fitgate_installed_database)
    tick = datetime.timedelta(microseconds=1)
    expected = {
        issued - tick: None,  # before it existed: no row
        issued: (1, None),
        first - tick: (1, None),
        first: (2, str(BED_1)),
        second - tick: (2, str(BED_1)),
        second: (3, str(BED_2)),
        second + datetime.timedelta(days=30): (3, str(BED_2)),
    }
    with _device_service(fitgate_installed_database) as conn:
        _as_tenant(conn, TENANT_A.id)
        for at, answer in expected.items():
            row = conn.execute(
                "SELECT version, state ->> 'device_id' FROM device.aggregate_state_at('Certificate', %s, %s)",
                (PUMP, at),
            ).fetchone()
            assert row == answer, at


def test_another_tenant_sees_nothing_through_the_functions(fitgate_installed_database: str) -> None:
    with _device_service(fitgate_installed_database) as conn:
        _as_tenant(conn, UUID("00000000-0000-4000-8000-0000000000ff"))
        assert conn.execute(
            "SELECT count(*) FROM device.aggregate_history('Certificate', %s)", (PUMP,)
        ).fetchone() == (0,)
        assert (
            conn.execute(
                "SELECT * FROM device.aggregate_state_at('Certificate', %s, now())", (PUMP,)
            ).fetchone()
            is None
        )


def test_the_state_at_function_is_served_by_the_point_in_time_index(
    superuser: psycopg.Connection[Any],
) -> None:
    # 50,000 events of 500 other certificates, so that the planner has a real choice to make.
    superuser.execute(
        "INSERT INTO device.domain_event (tenant_id, kind, aggregate_id, version, event_name,"
        " event_version, state, payload, event_at)"
        " SELECT %s, 'Certificate', ('00000000-0000-4000-8000-' || lpad((g / 100)::text, 12, '0'))::uuid,"
        " g %% 100 + 1, 'CertificateBound', 1, '{}', '{\"performed_by\": \"filler\"}',"
        " timestamptz '2026-01-01' + g * interval '1 minute'"
        " FROM generate_series(0, 49999) AS g",
        (TENANT_A.id,),
    )
    superuser.execute("ANALYZE device.domain_event")
    plans: list[str] = []
    try:
        superuser.execute("LOAD 'auto_explain'")
    except psycopg.errors.UndefinedFile:
        pytest.skip("auto_explain is not installed on this server")
    superuser.add_notice_handler(lambda notice: plans.append(notice.message_primary or ""))
    for setting in (
        "auto_explain.log_min_duration = 0",
        "auto_explain.log_nested_statements = on",
        "auto_explain.log_level = notice",
        "client_min_messages = notice",
    ):
        superuser.execute(f"SET {setting}")
    with superuser.transaction():
        superuser.execute("SET LOCAL ROLE device_service")  # row-level security applies, as in the service
        _as_tenant(superuser, TENANT_A.id)
        row = superuser.execute(
            "SELECT state ->> 'device_id' FROM device.aggregate_state_at('Certificate', %s, now())",
            (PUMP,),
        ).fetchone()
    assert row == (str(BED_2),)
    nested = [p for p in plans if "d.event_at <= aggregate_state_at.at" in p]
    assert nested, plans
    assert "domain_event_point_in_time" in nested[0], nested[0]


def _fitgate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    code = main(list(args))
    return code, json.loads(capsys.readouterr().out)


def test_fitgate_events_answers_which_device_the_certificate_was_bound_to(
    capsys: pytest.CaptureFixture[str], fitgate_config: Config, fitgate_installed_database: str
) -> None:
    common = ["--config", str(fitgate_config.path), "--database-url", fitgate_installed_database]
    target = ["--kind", "Certificate", "--id", str(PUMP), "--format", "json"]
    code, history = _fitgate(capsys, "events", "history", *common, *target)
    assert code == 0
    from_cli = [(e["version"], e["event_name"], e["state"]["device_id"]) for e in history["events"]]
    from_sql = _bindings(fitgate_installed_database)
    assert from_cli == [(v, n, d) for v, n, d, _ in from_sql]
    for (version, _, device, at), event in zip(from_sql, history["events"], strict=True):
        assert datetime.datetime.fromisoformat(event["event_at"]) == at
        code, found = _fitgate(capsys, "events", "state-at", *common, *target, "--at", at.isoformat())
        assert code == 0
        assert (found["existed"], found["event"]["version"], found["state"]["device_id"]) == (
            True,
            version,
            device,
        )
    before = (from_sql[0][3] - datetime.timedelta(days=1)).isoformat()
    code, found = _fitgate(capsys, "events", "state-at", *common, *target, "--at", before)
    assert (code, found["existed"], found["state"]) == (1, False, None)
